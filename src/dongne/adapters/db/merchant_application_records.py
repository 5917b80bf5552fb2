"""Records of merchant onboarding: applications, decisions, and the merchant details and
status changes that follow from them."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from dongne.adapters.db.merchant_application_tables import merchant_applications
from dongne.adapters.db.table_store import TableStore
from dongne.adapters.db.tables import merchants
from dongne.domain.merchant_applications import (
    ApplicationStatus,
    MerchantApplicationForm,
    MerchantApplicationNotFound,
)
from dongne.domain.merchants import MerchantStatus


@dataclass(frozen=True)
class Application:
    """A merchant application as the region's officials read it."""

    id: int
    region_id: int
    name: str
    business_number: str
    category: str
    annual_revenue_won: int
    address: str
    phone: str | None
    bank_code: str
    bank_account_number: str
    bank_account_holder: str
    owner_login: str | None
    status: ApplicationStatus
    submitted_at: datetime
    decided_at: datetime | None
    rejection_reason: str | None
    merchant_id: int | None


@dataclass(frozen=True)
class ApplicationRow(Application):
    """The stored application: also who decided it and, until then, the owner's password hash,
    which only the decision reads and no answer shows."""

    decided_by_user_id: int | None
    owner_password_hash: str | None

    def shown(self) -> Application:
        """The application without what only the decision reads."""
        return Application(
            **{field.name: getattr(self, field.name) for field in fields(Application)}
        )


def _row(row: Any) -> ApplicationRow:
    values = dict(row._mapping)
    values["status"] = ApplicationStatus(values["status"])
    return ApplicationRow(**values)


class MerchantApplicationRecords(TableStore):
    def add_application(
        self,
        region_id: int,
        form: MerchantApplicationForm,
        *,
        owner_login: str | None,
        owner_password_hash: str | None,
        at: datetime,
    ) -> int:
        return self._insert(
            merchant_applications,
            region_id=region_id,
            name=form.name,
            business_number=form.business_number,
            category=form.category,
            annual_revenue_won=form.annual_revenue_won,
            address=form.address,
            phone=form.phone,
            bank_code=form.bank_account.bank_code,
            bank_account_number=form.bank_account.account_number,
            bank_account_holder=form.bank_account.holder,
            owner_login=owner_login,
            owner_password_hash=owner_password_hash,
            status=ApplicationStatus.PENDING.value,
            submitted_at=at,
        )

    def application(self, application_id: int, *, lock: bool = False) -> ApplicationRow:
        """The application; ``lock`` holds its row until the transaction ends (PostgreSQL;
        SQLite writers hold the whole database), so two decisions on it run one at a time."""
        query = select(merchant_applications).where(merchant_applications.c.id == application_id)
        if lock and self._postgres:
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        if row is None:
            raise MerchantApplicationNotFound(
                f"no merchant application {application_id}", application_id=application_id
            )
        return _row(row)

    def has_pending(self, region_id: int, business_number: str) -> bool:
        found = self.connection.execute(
            select(merchant_applications.c.id).where(
                merchant_applications.c.region_id == region_id,
                merchant_applications.c.business_number == business_number,
                merchant_applications.c.status == ApplicationStatus.PENDING.value,
            )
        ).first()
        return found is not None

    def applications(
        self, region_id: int, *, status: ApplicationStatus | None, after_id: int | None, fetch: int
    ) -> list[ApplicationRow]:
        query = select(merchant_applications).where(merchant_applications.c.region_id == region_id)
        if status is not None:
            query = query.where(merchant_applications.c.status == status.value)
        if after_id is not None:
            query = query.where(merchant_applications.c.id > after_id)
        rows = self.connection.execute(query.order_by(merchant_applications.c.id).limit(fetch))
        return [_row(row) for row in rows]

    def decide(
        self,
        application_id: int,
        status: ApplicationStatus,
        *,
        user_id: int | None,
        at: datetime,
        merchant_id: int | None = None,
        rejection_reason: str | None = None,
    ) -> None:
        self.connection.execute(
            update(merchant_applications)
            .where(merchant_applications.c.id == application_id)
            .values(
                status=status.value,
                decided_at=at,
                decided_by_user_id=user_id,
                merchant_id=merchant_id,
                rejection_reason=rejection_reason,
                owner_password_hash=None,  # not needed once decided: keep no more than needed
            )
        )

    # -- merchants --------------------------------------------------------------------------

    def set_merchant_details(self, merchant_id: int, form: MerchantApplicationForm) -> None:
        """Give a newly registered merchant the contact and settlement details it applied with."""
        self.connection.execute(
            update(merchants)
            .where(merchants.c.id == merchant_id)
            .values(
                address=form.address,
                phone=form.phone,
                bank_code=form.bank_account.bank_code,
                bank_account_number=form.bank_account.account_number,
                bank_account_holder=form.bank_account.holder,
            )
        )

    def change_merchant_status(
        self, merchant_id: int, before: MerchantStatus, after: MerchantStatus, at: datetime
    ) -> bool:
        """Move the merchant from ``before`` to ``after`` if it is still in ``before``: one
        conditional UPDATE, so a concurrent change (a cancellation for fraud) is never undone."""
        result = self.connection.execute(
            update(merchants)
            .where(merchants.c.id == merchant_id, merchants.c.status == before.value)
            .values(status=after.value, status_changed_at=at)
        )
        return result.rowcount == 1
