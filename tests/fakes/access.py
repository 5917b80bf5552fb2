"""An in-memory ``AccessRecords``, only as far as signing a citizen up goes: adding a user,
finding one by login, and whether an identity already has an account. A login, a citizen and
an identity HMAC each have one user at most, as the real table's UNIQUE indexes keep them."""

from __future__ import annotations

from datetime import datetime

from dongne.adapters.db.access_records import UserRow
from tests.fakes.state import FakeConstraintViolated, FakeState, UserRecord


class FakeAccess:
    def __init__(self, state: FakeState):
        self._state = state

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
        if self.user_by_login(login) is not None:
            raise FakeConstraintViolated(f"login {login!r} is taken")
        if identity_hmac is not None and self.identity_taken(identity_hmac):
            raise FakeConstraintViolated("this identity already has a user")
        if citizen_id is not None and any(
            record.user.citizen_id == citizen_id for record in self._state.users.values()
        ):
            raise FakeConstraintViolated(f"citizen {citizen_id} already has a user")
        user_id = self._state.next_id("users")
        user = UserRow(
            id=user_id,
            kind=kind,
            login=login,
            password_hash=password_hash,
            region_id=region_id,
            citizen_id=citizen_id,
            merchant_id=merchant_id,
            role=role,
            totp_secret=totp_secret,
            pin_hmac=None,
            pin_failures=0,
            cash_receipt_number=cash_receipt_number,
        )
        self._state.users[user_id] = UserRecord(user, identity_hmac)
        return user_id

    def user_by_login(self, login: str) -> UserRow | None:
        for record in self._state.users.values():
            if record.user.login == login:
                return record.user
        return None

    def identity_taken(self, identity_hmac: str) -> bool:
        return any(record.identity_hmac == identity_hmac for record in self._state.users.values())
