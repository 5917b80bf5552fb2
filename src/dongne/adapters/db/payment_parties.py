"""Who pays whom at a counter, read in one statement: the bearer token's user, the merchant
whose QR was scanned, and the user's wallet for it, the user's row and the wallet's locked.

A QR payment reads these three first, each its own statement before (the token's user with
its lock for the PIN, the merchant, the wallet with its lock). In a batch of payments a
statement costs a payment about as much CPU as anything else it does, so the three are one
join. It answers only when all three are there: anything missing (an unknown token, a user
who is no citizen, an unknown merchant, no such wallet) returns None, and the payment reads
them one by one, so that its refusal is the one it always was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, select

from dongne.adapters.db.access_records import UserRow
from dongne.adapters.db.access_tables import access_tokens, users
from dongne.adapters.db.driver_statements import DriverStatement
from dongne.adapters.db.registry_records import (
    MERCHANT_COLUMNS,
    MerchantWithPayable,
    Wallet,
    merchant_of,
)
from dongne.adapters.db.tables import citizens, merchants, wallets

_USER_FIELDS = tuple(UserRow.__dataclass_fields__)
_WALLET_FIELDS = ("id", "region_id", "citizen_id", "account_id")
_MERCHANT_FIELDS = (*MERCHANT_COLUMNS, "account_id")


@dataclass(frozen=True)
class QrParties:
    user: UserRow
    merchant: MerchantWithPayable
    wallet: Wallet


def _parties_query(*, by_wallet_id: bool) -> Select[Any]:
    query = (
        select(
            *(users.c[name].label(f"u_{name}") for name in _USER_FIELDS),
            *(wallets.c[name].label(f"w_{name}") for name in _WALLET_FIELDS),
            citizens.c.region_id.label("home_region_id"),
            *(merchants.c[name] for name in _MERCHANT_FIELDS),
        )
        .select_from(access_tokens)
        .join(users, users.c.id == access_tokens.c.user_id)
        .join(wallets, wallets.c.citizen_id == users.c.citizen_id)
        .join(citizens, citizens.c.id == wallets.c.citizen_id)
        .join(merchants, merchants.c.id == bindparam("b_merchant"))
        .where(
            access_tokens.c.token_hash == bindparam("b_token_hash"),
            access_tokens.c.expires_at > bindparam("b_now"),
            access_tokens.c.revoked_at.is_(None),
        )
    )
    if by_wallet_id:
        query = query.where(wallets.c.id == bindparam("b_wallet"))
    else:
        query = query.where(wallets.c.region_id == merchants.c.region_id)
    # The user's row for the PIN's count, the wallet for the payment: as the step-by-step
    # reads lock them, users first.
    return query.with_for_update(of=[users, wallets])


_BY_WALLET_ID = DriverStatement(_parties_query(by_wallet_id=True))
_IN_MERCHANTS_REGION = DriverStatement(_parties_query(by_wallet_id=False))


class PaymentParties:
    def __init__(self, connection: Connection):
        self.connection = connection

    def of_qr(
        self, *, token_hash: str, now: datetime, merchant_id: int, wallet_id: int | None
    ) -> QrParties | None:
        """The parties to a QR payment, the user and the wallet locked; None if any is
        missing. ``wallet_id`` names the wallet; without one, the user's wallet in the
        merchant's region."""
        query = _IN_MERCHANTS_REGION if wallet_id is None else _BY_WALLET_ID
        values = {
            "b_token_hash": token_hash,
            "b_now": now,
            "b_merchant": merchant_id,
            "b_wallet": wallet_id,
        }
        row = query.first(self.connection, values)
        if row is None:
            return None
        found = row._asdict()
        wallet = Wallet(
            found["w_id"],
            found["w_region_id"],
            found["w_citizen_id"],
            found["w_account_id"],
            found["home_region_id"],
        )
        return QrParties(
            user=UserRow(**{name: found[f"u_{name}"] for name in _USER_FIELDS}),
            merchant=MerchantWithPayable(merchant_of(found), found["account_id"]),
            wallet=wallet,
        )
