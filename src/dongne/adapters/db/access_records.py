"""Users, access tokens and partners: reading and writing the rows behind authentication."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update

from dongne.adapters.db.access_tables import access_tokens, partners, users


@dataclass(frozen=True)
class UserRow:
    id: int
    kind: str
    login: str
    password_hash: str
    region_id: int | None
    citizen_id: int | None
    merchant_id: int | None
    role: str | None
    totp_secret: str | None
    pin_hmac: str | None
    pin_failures: int
    cash_receipt_number: str | None


@dataclass(frozen=True)
class PartnerRow:
    id: int
    region_id: int
    name: str
    key_prefix: str
    scopes: tuple[str, ...]
    webhook_url: str | None
    webhook_secret: str
    revoked_at: datetime | None
    created_by_user_id: int | None
    """The official who registered the partner and granted its scopes (None: set up from the
    command line or before this was recorded)."""


_USER_COLUMNS = [users.c[name] for name in UserRow.__dataclass_fields__]
_PARTNER_COLUMNS = [partners.c[name] for name in PartnerRow.__dataclass_fields__]
# Every authenticated request runs this: built once (building costs more than sending).
USER_OF_TOKEN = (
    select(*_USER_COLUMNS)
    .join(access_tokens, access_tokens.c.user_id == users.c.id)
    .where(
        access_tokens.c.token_hash == bindparam("b_token_hash"),
        access_tokens.c.expires_at > bindparam("b_now"),
        access_tokens.c.revoked_at.is_(None),
    )
)
USER_OF_TOKEN_FOR_UPDATE = USER_OF_TOKEN.with_for_update(of=users)


def user_row(row: Row[Any]) -> UserRow:
    return UserRow(**row._mapping)


def _partner(row: Row[Any]) -> PartnerRow:
    values = dict(row._mapping)
    values["scopes"] = tuple(values["scopes"])
    return PartnerRow(**values)


class AccessRecords:
    def __init__(self, connection: Connection):
        self.connection = connection

    def add_user(
        self,
        *,
        kind: str,
        login: str,
        password_hash: str,
        created_at: datetime,
        region_id: int | None = None,
        citizen_id: int | None = None,
        merchant_id: int | None = None,
        role: str | None = None,
        totp_secret: str | None = None,
        identity_hmac: str | None = None,
        cash_receipt_number: str | None = None,
    ) -> int:
        """A user of ``kind``; the columns another kind does not use stay NULL."""
        inserting = insert(users).values(
            kind=kind,
            login=login,
            password_hash=password_hash,
            created_at=created_at,
            region_id=region_id,
            citizen_id=citizen_id,
            merchant_id=merchant_id,
            role=role,
            totp_secret=totp_secret,
            identity_hmac=identity_hmac,
            cash_receipt_number=cash_receipt_number,
        )
        return int(self.connection.execute(inserting.returning(users.c.id)).scalar_one())

    def user(self, user_id: int, *, for_update: bool = False) -> UserRow | None:
        query = select(*_USER_COLUMNS).where(users.c.id == user_id)
        row = self.connection.execute(query.with_for_update() if for_update else query).first()
        return user_row(row) if row else None

    def user_by_login(self, login: str) -> UserRow | None:
        row = self.connection.execute(select(*_USER_COLUMNS).where(users.c.login == login)).first()
        return user_row(row) if row else None

    def user_of_citizen(self, citizen_id: int, *, for_update: bool = False) -> UserRow | None:
        query = select(*_USER_COLUMNS).where(users.c.citizen_id == citizen_id)
        row = self.connection.execute(query.with_for_update() if for_update else query).first()
        return user_row(row) if row else None

    def identity_taken(self, identity_hmac: str) -> bool:
        found = self.connection.execute(
            select(users.c.id).where(users.c.identity_hmac == identity_hmac)
        ).first()
        return found is not None

    def update_user(self, user_id: int, **values: Any) -> None:
        self.connection.execute(update(users).where(users.c.id == user_id).values(**values))

    def add_token(self, token_hash: str, user_id: int, now: datetime, expires_at: datetime) -> None:
        self.connection.execute(
            insert(access_tokens).values(
                token_hash=token_hash, user_id=user_id, created_at=now, expires_at=expires_at
            )
        )

    def user_of_token(
        self, token_hash: str, now: datetime, *, for_update: bool = False
    ) -> UserRow | None:
        """The user of a live token; ``for_update`` locks the user's row (not the token's)."""
        query = USER_OF_TOKEN_FOR_UPDATE if for_update else USER_OF_TOKEN
        row = self.connection.execute(query, {"b_token_hash": token_hash, "b_now": now}).first()
        return user_row(row) if row else None

    def revoke_token(self, token_hash: str, now: datetime) -> None:
        self.connection.execute(
            update(access_tokens)
            .where(access_tokens.c.token_hash == token_hash, access_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    def add_partner(
        self,
        *,
        region_id: int,
        name: str,
        key_hash: str,
        key_prefix: str,
        scopes: list[str],
        webhook_url: str | None,
        webhook_secret: str,
        created_at: datetime,
        created_by_user_id: int | None = None,
    ) -> int:
        inserting = insert(partners).values(
            created_by_user_id=created_by_user_id,
            region_id=region_id,
            name=name,
            key_hash=key_hash,
            key_prefix=key_prefix,
            scopes=scopes,
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            created_at=created_at,
        )
        return int(self.connection.execute(inserting.returning(partners.c.id)).scalar_one())

    def partner(self, partner_id: int) -> PartnerRow | None:
        row = self.connection.execute(
            select(*_PARTNER_COLUMNS).where(partners.c.id == partner_id)
        ).first()
        return _partner(row) if row else None

    def partner_by_key(self, key_hash: str) -> PartnerRow | None:
        row = self.connection.execute(
            select(*_PARTNER_COLUMNS).where(
                partners.c.key_hash == key_hash, partners.c.revoked_at.is_(None)
            )
        ).first()
        return _partner(row) if row else None
