"""Test data: a region with its program, citizens and merchants, in a few calls."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from dongne.domain.merchants import business_number_check_digit
from dongne.domain.program import VoucherProgram
from dongne.services import registry
from dongne.services.unit_of_work import UnitOfWork

_serial = itertools.count(1)


def business_number(serial: int) -> str:
    """A valid business registration number: nine digits from ``serial`` and their check digit."""
    head = f"{serial % 10**9:09d}"
    return head + str(business_number_check_digit(head))


def unique_key(prefix: str = "key") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


@dataclass
class World:
    """One region, its voucher program, and helpers to add people and shops to it."""

    uow: UnitOfWork
    now: datetime
    program: VoucherProgram = field(default_factory=lambda: VoucherProgram(brand_name="시루"))
    region_id: int = 0

    def __post_init__(self) -> None:
        code = f"r{next(_serial)}-{uuid.uuid4().hex[:8]}"
        self.region_id = registry.create_region(self.uow, code=code, name=f"{code}시", now=self.now)
        registry.create_program(
            self.uow, region_id=self.region_id, program=self.program, now=self.now
        )

    def citizen(self, *, resident: bool = True, region_id: int | None = None) -> int:
        """Register a citizen with a wallet here; returns the wallet id."""
        serial = next(_serial)
        home = self.region_id if resident else None
        result = registry.register_citizen(
            self.uow,
            name=f"시민{serial}",
            phone=f"010{uuid.uuid4().int % 10**8:08d}",
            home_region_id=home,
            wallet_region_id=region_id or self.region_id,
            idempotency_key=unique_key("citizen"),
            now=self.now,
        )
        return result.wallet_id

    def merchant(self, *, category: str = "bakery", annual_revenue_won: int = 100_000_000) -> int:
        # Distinct within the process (so within a region); the random part varies the digits.
        serial = next(_serial) * 10_000 + uuid.uuid4().int % 10_000
        return registry.register_merchant(
            self.uow,
            region_id=self.region_id,
            name=f"가게{serial}",
            business_number=business_number(serial),
            category=category,
            annual_revenue_won=annual_revenue_won,
            now=self.now,
        )

    def fund(self, amount_won: int, *, month: str | None = None) -> None:
        registry.fund_discount_budget(
            self.uow,
            region_id=self.region_id,
            amount_won=amount_won,
            month=month,
            idempotency_key=unique_key("fund"),
            now=self.now,
        )
