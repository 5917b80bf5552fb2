"""Bench data, made through the services: regions, merchants and wallets ready to spend."""

from __future__ import annotations

import itertools
from datetime import datetime

from dongne.domain.program import VoucherProgram
from dongne.services import registry
from dongne.services.purchases import purchase_vouchers
from dongne.services.unit_of_work import UnitOfWork

PAYMENT_WON = 1_000
PURCHASE_WON = 10_000
PROGRAM = VoucherProgram(brand_name="벤치")
WALLET_FILL_WON = PROGRAM.monthly_purchase_limit_won
"""A payer's wallet buys a month's limit at once (700,000): 700 payments of 1,000."""
PAYMENTS_PER_WALLET = WALLET_FILL_WON // PAYMENT_WON
PURCHASES_PER_WALLET = PROGRAM.monthly_purchase_limit_won // PURCHASE_WON
"""A buyer's wallet makes 70 purchases of 10,000 before it reaches the monthly limit."""
BUDGET_WON = 10**12
"""Enough discount budget that no purchase in a run finds it exhausted."""

_CHECK_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)


def business_number(serial: int) -> str:
    head = [int(d) for d in f"{serial % 10**9:09d}"]
    total = sum(w * d for w, d in zip(_CHECK_WEIGHTS, head, strict=True)) + head[8] * 5 // 10
    return "".join(map(str, head)) + str((10 - total % 10) % 10)


class Provisioner:
    """Creates bench data; ``tag`` (0-9999) keeps phone numbers, codes and keys unique between
    the scenarios and clients of one run (the database is fresh for every run)."""

    def __init__(self, uow: UnitOfWork, now: datetime, tag: int):
        self.uow = uow
        self.now = now
        self.tag = tag
        self._serial = itertools.count(1)

    def key(self, prefix: str) -> str:
        return f"bench-{prefix}-{self.tag}-{next(self._serial)}"

    def region(self) -> int:
        code = f"bench-{self.tag}-{next(self._serial)}"
        region_id = registry.create_region(self.uow, code=code, name=code, now=self.now)
        registry.create_program(self.uow, region_id=region_id, program=PROGRAM, now=self.now)
        registry.fund_discount_budget(
            self.uow,
            region_id=region_id,
            amount_won=BUDGET_WON,
            idempotency_key=self.key("fund"),
            now=self.now,
        )
        return region_id

    def merchant(self, region_id: int) -> int:
        serial = self.tag * 1_000 + next(self._serial)
        return registry.register_merchant(
            self.uow,
            region_id=region_id,
            name=f"가게{serial}",
            business_number=business_number(serial),
            category="bakery",
            annual_revenue_won=100_000_000,
            now=self.now,
        )

    def wallet(self, region_id: int, *, fill: bool) -> int:
        serial = next(self._serial)
        assert serial < 100_000
        result = registry.register_citizen(
            self.uow,
            name=f"시민{serial}",
            phone=f"01{self.tag:04d}{serial:05d}",
            home_region_id=region_id,
            wallet_region_id=region_id,
            idempotency_key=self.key("citizen"),
            now=self.now,
        )
        if fill:
            purchase_vouchers(
                self.uow,
                wallet_id=result.wallet_id,
                face_won=WALLET_FILL_WON,
                idempotency_key=self.key("fill"),
                now=self.now,
            )
        return result.wallet_id


class WalletSupply:
    """Hands out wallets with room for one more operation each; makes more when it runs out
    (``provision`` makes them ahead of the timed run, so the run itself rarely has to)."""

    def __init__(self, provisioner: Provisioner, region_id: int, *, paying: bool):
        self.provisioner = provisioner
        self.region_id = region_id
        self.paying = paying
        self.uses_per_wallet = PAYMENTS_PER_WALLET if paying else PURCHASES_PER_WALLET
        self._ready: list[int] = []
        self._current = 0
        self._left = 0
        self.made_on_demand = 0

    def provision(self, operations: int) -> None:
        wanted = -(-max(0, operations - self._left) // self.uses_per_wallet)
        while len(self._ready) < wanted:
            self._ready.append(self.provisioner.wallet(self.region_id, fill=self.paying))

    def take(self) -> int:
        if self._left == 0:
            if self._ready:
                self._current = self._ready.pop()
            else:
                self._current = self.provisioner.wallet(self.region_id, fill=self.paying)
                self.made_on_demand += 1
            self._left = self.uses_per_wallet
        self._left -= 1
        return self._current
