"""Random walks through every money-moving use case, on SQLite and PostgreSQL.

Each run opens its own region (a program drawn with either bonus mode, either budget policy and
a validity of 20-60 days) next to a second region, then funds budgets, registers citizens,
suspends and reinstates shops, buys, cancels purchases, pays (also at shops that must refuse),
pays by QR in batches of one to six as the server does (``PaymentBatcher``: one transaction,
a savepoint each, refusals among them), cancels payments in full, in part and beyond what is
left, gives gifts, refunds balances, runs the expiry job, lets hours to months pass or jumps to
the instants where rules switch, and replays idempotency keys.

After every step the ledger must be sound (``read_models.ledger_problems``) and agree, account by
account, lot by lot and payment by payment, with an independent model of the region
(``tests.helpers_state``). An operation the model expects to be refused must raise exactly that
``DongneError`` and leave every row of both regions as it was; anything else raised fails.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, insert, select, update

from dongne.adapters.db.access_tables import access_tokens, users
from dongne.adapters.db.allowance_tables import allowance_grants
from dongne.adapters.db.tables import cashback_offsets, lots, merchants, wallets
from dongne.adapters.secrets import Secrets, new_token
from dongne.domain import errors
from dongne.domain.access import Principal, UserKind
from dongne.domain.allowances import (
    AllowanceBudgetShort,
    AllowanceNotValidNow,
    AllowanceProgramStillValid,
    AllowanceTerms,
    RecipientRow,
)
from dongne.domain.emvco import build_payload
from dongne.domain.merchants import MerchantStatus
from dongne.domain.program import BonusMode, BudgetExhaustedPolicy, RateWindow, VoucherProgram
from dongne.domain.settlement import (
    SettlementAlreadyRun,
    SettlementDayNotOver,
    SettlementOutOfOrder,
)
from dongne.services import (
    accounts,
    allowance_uploads,
    counter_payments,
    gifts,
    read_models,
    refunds,
    registry,
    settlement,
    settlement_reports,
)
from dongne.services import allowances as allowance_service
from dongne.services import payments as payment_service
from dongne.services import purchases as purchase_service
from dongne.services.allowance_disbursement import disburse as disburse_allowance
from dongne.services.allowance_expiry import expire_program as expire_allowance_program
from dongne.services.counter_payments import QrPayment
from dongne.services.payment_batches import PaymentBatcher
from dongne.services.results import PaymentResult
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, business_number
from tests.helpers_state import (
    SEOUL,
    Expect,
    LotModel,
    MerchantModel,
    NewLot,
    OffsetModel,
    PaymentModel,
    PurchaseModel,
    RegionModel,
    WalletModel,
    region_snapshot,
    seoul_day_of,
    seoul_month_of,
    stored_rows,
)
from tests.helpers_state import Allocation as AllocationModel

MISSING_ID = 999_999_999
ALLOWANCE_CALLER = Principal(UserKind.OPERATOR, user_id=1)
PASSWORD = "correct horse battery"  # noqa: S105 - a test password
SECRETS = Secrets(pin_key=b"state-machine-pin", identity_key=b"state-machine-identity")
PIN = "482916"
_identities = itertools.count(1)
_phones = itertools.count(10_000_000)

programs = st.builds(
    VoucherProgram,
    brand_name=st.just("시루"),
    bonus_mode=st.sampled_from(BonusMode),
    budget_exhausted_policy=st.sampled_from(BudgetExhaustedPolicy),
    base_rate_bp=st.sampled_from([0, 700, 1_000, 1_500]),
    rate_windows=st.sampled_from([(), (RateWindow(date(2026, 12, 1), date(2026, 12, 3), 2_000),)]),
    validity_days=st.integers(20, 60),
    monthly_purchase_limit_won=st.sampled_from([200_000, 700_000]),
    holding_limit_won=st.sampled_from([300_000, 1_500_000]),
    annual_purchase_limit_won=st.sampled_from([None, 900_000]),
    residents_only=st.booleans(),
    max_single_payment_won=st.sampled_from([None, 100_000]),
    refund_threshold_bp=st.sampled_from([6_000, 8_000]),
    gift_monthly_send_limit_won=st.sampled_from([100_000, 700_000]),
    gift_monthly_receive_limit_won=st.sampled_from([150_000, 1_500_000]),
    cashback_monthly_cap_won=st.sampled_from([3_000, 100_000]),
)
wallet_picks = st.integers(0, 7)
"""An index into the region's wallets (taken modulo their number)."""
_units = st.integers(1, 30).map(lambda units: units * 10_000)
faces = st.one_of(_units, st.just("room"), _units)
"""Face values in whole units, or exactly what the limits still allow."""
wrong_faces = st.sampled_from(["over room", 0, -10_000, 5_000, 15_000, 10**13])
"""A unit more than the limits allow, or faces that are not a whole number of units."""
shares = st.integers(1, 100).map(lambda percent: f"{percent}%")
"""A share of what the wallet can use for a payment or a gift."""
payment_shares = st.one_of(shares, st.sampled_from(["to refund threshold", "short of it"]), shares)
"""A share, or what spends the oldest purchase exactly to the refund threshold (or a won less)."""
wrong_amounts = st.one_of(
    st.sampled_from(["over", 0, -500, 10**7]), st.integers(1, 200_000), shares
)
"""One won more than the wallet can use, invalid amounts, any amount, or a fair share."""
batch_merchants = st.sampled_from(["local", "at cap", "above cap", "excluded", "local"])
"""The region's own shops: a QR names its merchant, whose region picks the payer's wallet."""
batch_amounts = st.one_of(shares, st.just("over"), st.integers(1, 200_000), shares)
"""A fair share, one won more than the wallet can use, or any amount."""
merchant_names = st.sampled_from(
    ["local", "at cap", "above cap", "excluded", "foreign", "missing", "local"]
)
statuses = st.sampled_from([*MerchantStatus, MerchantStatus.ACTIVE])
BOUNDARIES = ["expiry", "month start", "month end", "window end", "window closed", "expiry eve"]
MISTAKES = [
    "fund nothing", "fund less than nothing", "fund month 13", "fund month 1",
    "known phone", "bad phone", "no such region", "no such home region", "empty key",
    "long key", "purchase from no wallet", "pay from no wallet", "refund no wallet",
    "gift to no wallet", "cancel no purchase", "cancel no payment", "suspend no merchant",
]  # fmt: skip


def resolve(portion: int | str, available: int) -> int:
    if isinstance(portion, int):
        return portion
    if portion == "over":
        return available + 1
    if not portion.endswith("%"):
        return 1
    return max(1, available * int(portion.removesuffix("%")) // 100)


@dataclass(frozen=True)
class Done:
    """A call that succeeded, kept to be replayed with its idempotency key."""

    operation: str
    call: Callable[..., Any]
    kwargs: dict[str, Any]
    result: Any
    pinned_now: bool
    """Its request includes the instant it ran at (the expiry job's does, by design): a replay
    at another time is another request."""


@dataclass
class SettlementModel:
    """Daily settlement from DESIGN.md: per merchant, what the day (and any unsettled day
    before it) took net of cancellations plus what was carried, paid out up to what the
    payable holds unless the merchant is held or has no bank account."""

    settled: set[date] = dataclass_field(default_factory=set)
    settled_until: datetime | None = None
    carried: dict[int, int] = dataclass_field(default_factory=dict)

    def predict(
        self,
        day: date,
        now: datetime,
        flows: list[tuple[datetime, int, int]],
        balances: Any,
        *,
        banked: set[int],
    ) -> dict[int, int]:
        if day in self.settled:
            raise Expect(SettlementAlreadyRun)
        if self.settled and day < max(self.settled):
            raise Expect(SettlementOutOfOrder)
        if day >= seoul_day_of(now):
            raise Expect(SettlementDayNotOver)
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=SEOUL)
        start = self.settled_until
        net: dict[int, int] = {}
        for at, merchant_id, amount in flows:
            if at < end and (start is None or at >= start):
                net[merchant_id] = net.get(merchant_id, 0) + amount
        paid_out = {}
        carried = {}
        for merchant_id in set(net) | set(self.carried):
            due = self.carried.get(merchant_id, 0) + net.get(merchant_id, 0)
            payable = balances[f"payable:{merchant_id}"]
            base = max(0, min(due, payable)) if merchant_id in banked else 0
            if base:
                paid_out[merchant_id] = base
            if due - base:
                carried[merchant_id] = due - base
        self.settled.add(day)
        self.settled_until, self.carried = end, carried
        return paid_out


@dataclass
class AllowanceState:
    """The machine's policy allowance program: who has an identity on record, who was
    granted, and the grants still waiting for a wallet."""

    program_id: int
    until: datetime
    denied: frozenset[str]
    above_cap: bool
    label: str
    identity_of_wallet: dict[int, str] = dataclass_field(default_factory=dict)
    granted: set[str] = dataclass_field(default_factory=set)
    pending: dict[str, int] = dataclass_field(default_factory=dict)
    signed_up: set[str] = dataclass_field(default_factory=set)


def pay_by_qr(uow: UnitOfWork, **request: Any) -> PaymentResult:
    """A batched payment sent again alone, as a till's retry is (for ``reuse_a_key``)."""
    return counter_payments.pay_by_qr(uow, SECRETS, QrPayment(**request), attempts_max=5)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self, engine: Engine):
        super().__init__()
        self.engine = engine
        self.uow = UnitOfWork(engine)
        self.now = NOW
        self.prefix = f"sm-{uuid.uuid4().hex[:12]}"
        self.keys = itertools.count()
        self.done: list[Done] = []
        self.phones: list[str] = []
        self.model = RegionModel(0, VoucherProgram(brand_name="unset"))
        self.merchant_ids = {"missing": MISSING_ID}
        self.other_region = 0
        self.foreign_wallet = WalletModel(0, 0, resident=False)
        self.unchanged_since: dict[str, list[tuple[Any, ...]]] | None = None
        """The snapshot taken after the last refusal, while nothing has changed since."""
        self.flows: list[tuple[datetime, int, int]] = []
        """(instant, merchant id, +payment or -cancellation) for the settlement model."""
        self.settlement = SettlementModel()
        self.tokens: dict[int, str] = {}
        """Each paying wallet's citizen's bearer token, for the batched QR payments."""
        self.payloads: dict[int, str] = {}

    # -- set up -----------------------------------------------------------------------------

    @initialize(
        program=programs,
        budget=st.sampled_from([0, 30_000, 1_000_000, 1_000_000]),
        second_resident=st.booleans(),
        first_faces=st.tuples(st.sampled_from([0, 50_000, 150_000]), st.sampled_from([0, 100_000])),
    )
    def open_a_region(
        self,
        program: VoucherProgram,
        budget: int,
        second_resident: bool,
        first_faces: tuple[int, int],
    ) -> None:
        """A region with two citizens who may have bought vouchers and four merchants (a local
        shop, one exactly at the revenue cap, one above it, one in an excluded category), and a
        second region with a wallet and a shop that the first region's vouchers must not reach.
        """
        self.model = RegionModel(World(self.uow, self.now, program=program).region_id, program)
        other = World(self.uow, self.now)
        self.other_region = other.region_id
        foreign = self.citizen_request(home=None, region=other.region_id)
        wallet_id = registry.register_citizen(self.uow, **foreign).wallet_id
        self.foreign_wallet = WalletModel(wallet_id, other.region_id, resident=False)
        shops = {
            "local": ("bakery", 100_000_000, self.model.region_id),
            "at cap": ("cafe", 3_000_000_000, self.model.region_id),
            "above cap": ("restaurant", 3_000_000_001, self.model.region_id),
            "excluded": ("large_mart", 50_000_000, self.model.region_id),
            "foreign": ("bakery", 100_000_000, other.region_id),
        }
        for serial, (name, (category, revenue, region)) in enumerate(shops.items(), start=1):
            merchant_id = registry.register_merchant(
                self.uow,
                region_id=region,
                name=name,
                business_number=business_number(serial),
                category=category,
                annual_revenue_won=revenue,
                now=self.now,
            )
            self.merchant_ids[name] = merchant_id
            self.model.merchants[merchant_id] = MerchantModel(
                merchant_id, region, category, revenue
            )
        self.register_citizen(resident=True)
        self.register_citizen(resident=second_resident)
        if budget:
            self.fund_budget(amount=budget, month="default")
        for wallet, face in enumerate(first_faces):
            if face:
                self.purchase(wallet=wallet, face=face)

    # -- helpers ----------------------------------------------------------------------------

    def key(self) -> str:
        return f"{self.prefix}-{next(self.keys)}"

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of both regions, and every table's row count."""
        with self.engine.connect() as connection:
            regions = [self.model.region_id, self.other_region]
            return region_snapshot(connection, regions, self.prefix)

    def fails(
        self, error: type[errors.DongneError], call: Callable[..., Any], **kwargs: Any
    ) -> None:
        """``call`` must raise exactly ``error`` and leave every row as it was."""
        before = self.unchanged_since or self.snapshot()
        self.unchanged_since = None
        with pytest.raises(errors.DongneError) as raised:
            call(self.uow, **kwargs)
        assert type(raised.value) is error, f"expected {error.__name__}, got {raised.value!r}"
        after = self.snapshot()
        changed = [table for table in before if before[table] != after[table]]
        assert not changed, f"{call.__name__} was refused but changed {changed}"
        self.unchanged_since = after

    def succeeds(
        self, operation: str, call: Callable[..., Any], *, pinned_now: bool = False, **kwargs: Any
    ) -> Any:
        self.unchanged_since = None
        try:
            result = call(self.uow, **kwargs)
        except errors.DongneError as raised:
            raise AssertionError(
                f"the model expected {call.__name__} to succeed: {raised!r} {raised.details}"
            ) from raised
        self.done.append(Done(operation, call, kwargs, result, pinned_now))
        return result

    def bind_lots(
        self, transaction_id: int, expected: list[NewLot], *, untouched: bool = True
    ) -> list[int]:
        """Check the lots a transaction created and add them to the model. ``untouched``: they
        still hold their face value (not so for a batched payment's cashback, which a later
        payment of the same batch may already have spent; the invariant checks it then)."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(lots)
                .where(lots.c.source_transaction_id == transaction_id)
                .order_by(lots.c.id)
            ).all()
        created = [NewLot(r.wallet_id, r.kind, r.face_won, r.paid_won, r.expires_at) for r in rows]
        assert created == expected
        for row in rows:
            assert row.acquired_at == self.now
            assert row.remaining_won == row.face_won or not untouched
            self.model.lots[row.id] = LotModel(
                row.id, row.wallet_id, row.kind, row.face_won, row.paid_won, row.face_won,
                row.acquired_at, row.expires_at,
            )  # fmt: skip
        return [row.id for row in rows]

    def bind_offsets(
        self, transaction_id: int, cashback_lot_id: int | None, cuts: list[tuple[int, int]]
    ) -> None:
        """Check the cashback offsets a cancellation recorded and add them to the model."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(cashback_offsets)
                .where(cashback_offsets.c.transaction_id == transaction_id)
                .order_by(cashback_offsets.c.id)
            ).all()
        recorded = [(row.cashback_lot_id, row.lot_id, row.amount_won) for row in rows]
        assert recorded == [(cashback_lot_id, lot_id, cut) for lot_id, cut in cuts]
        self.model.offsets += [
            OffsetModel(row.id, row.cashback_lot_id, row.lot_id, row.amount_won) for row in rows
        ]

    def wallet_at(self, index: int) -> int:
        return sorted(self.model.wallets)[index % len(self.model.wallets)]

    def expires(self) -> datetime:
        return self.now + timedelta(days=self.model.program.validity_days)

    def citizen_request(self, *, home: int | None, region: int) -> dict[str, Any]:
        phone = f"01{next(_phones):09d}"
        return {
            "name": f"시민{phone[-4:]}",
            "phone": phone,
            "home_region_id": home,
            "wallet_region_id": region,
            "idempotency_key": self.key(),
            "now": self.now,
        }

    def next_month_start(self) -> datetime:
        local = self.now.astimezone(SEOUL)
        year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        return datetime(year, month, 1, tzinfo=SEOUL).astimezone(UTC)

    # -- people, shops and budgets ----------------------------------------------------------

    @precondition(lambda self: len(self.model.wallets) < 4)
    @rule(resident=st.booleans())
    def register_citizen(self, resident: bool) -> None:
        region = self.model.region_id
        request = self.citizen_request(home=region if resident else None, region=region)
        result = self.succeeds("register_citizen", registry.register_citizen, **request)
        assert result.region_id == region
        self.phones.append(request["phone"])
        self.model.wallets[result.wallet_id] = WalletModel(result.wallet_id, region, resident)

    @rule(
        merchant=st.sampled_from(["local", "at cap", "above cap", "excluded", "foreign"]),
        status=statuses,
    )
    def set_merchant_status(self, merchant: str, status: MerchantStatus) -> None:
        merchant_id = self.merchant_ids[merchant]
        self.unchanged_since = None
        registry.set_merchant_status(self.uow, merchant_id=merchant_id, status=status, now=self.now)
        self.model.merchants[merchant_id].status = status

    @rule(
        amount=st.sampled_from([10_000, 50_000, 500_000]),
        month=st.sampled_from(["default", "current", "next"]),
    )
    def fund_budget(self, amount: int, month: str) -> None:
        current = seoul_month_of(self.now)
        given = {
            "default": None,
            "current": current,
            "next": seoul_month_of(self.next_month_start()),
        }[month]
        target = given or current
        request = {
            "region_id": self.model.region_id,
            "amount_won": amount,
            "month": given,
            "idempotency_key": self.key(),
            "now": self.now,
        }
        result = self.succeeds("fund", registry.fund_discount_budget, **request)
        self.model.move({f"budget:{target}": amount, "city": -amount})
        assert result.month == target
        assert result.budget_balance_won == self.model.balances[f"budget:{target}"]

    # -- purchases --------------------------------------------------------------------------

    def purchase_room(self, wallet_id: int) -> int:
        """The largest face value no limit refuses (at least one unit)."""
        program, month = self.model.program, seoul_month_of(self.now)
        kept = [
            p for p in self.model.purchases.values() if p.wallet_id == wallet_id and not p.cancelled
        ]
        rooms = [
            program.monthly_purchase_limit_won - sum(p.face for p in kept if p.month == month),
            program.holding_limit_won - self.model.holding(wallet_id, self.now),
        ]
        if program.annual_purchase_limit_won is not None:
            this_year = sum(p.face for p in kept if p.month[:4] == month[:4])
            rooms.append(program.annual_purchase_limit_won - this_year)
        unit = program.purchase_unit_won
        return max(unit, min(rooms) // unit * unit)

    @rule(wallet=wallet_picks, face=faces)
    def purchase(self, wallet: int, face: int | str) -> None:
        self.buy(wallet, face)

    @rule(wallet=wallet_picks, face=wrong_faces)
    def purchase_wrongly(self, wallet: int, face: int | str) -> None:
        self.buy(wallet, face)

    def buy(self, wallet: int, face: int | str) -> None:
        wallet_id = self.wallet_at(wallet)
        if isinstance(face, str):
            room = self.purchase_room(wallet_id)
            face = room if face == "room" else room + self.model.program.purchase_unit_won
        request = {
            "wallet_id": wallet_id,
            "face_won": face,
            "idempotency_key": self.key(),
            "now": self.now,
        }
        try:
            plan = self.model.predict_purchase(wallet_id, face, self.now)
        except Expect as expected:
            self.fails(expected.error, purchase_service.purchase_vouchers, **request)
            return
        result = self.succeeds("purchase", purchase_service.purchase_vouchers, **request)
        assert (result.face_won, result.paid_won, result.bonus_won) == (
            plan.face,
            plan.paid,
            plan.bonus,
        )
        new_lot = NewLot(wallet_id, "purchased", face, plan.paid, self.expires())
        assert self.bind_lots(result.transaction_id, [new_lot]) == [result.lot_id]
        self.model.purchases[result.purchase_id] = PurchaseModel(
            result.purchase_id, wallet_id, result.lot_id, face, plan.paid, plan.bonus,
            plan.month, self.now,
        )  # fmt: skip
        self.model.move(
            {f"wallet:{wallet_id}": face, "bank": -plan.paid, f"budget:{plan.month}": -plan.bonus}
        )

    @precondition(lambda self: self.model.purchases)
    @rule(purchase=st.integers(0, 12))
    def cancel_purchase(self, purchase: int) -> None:
        purchase_id = sorted(self.model.purchases)[purchase % len(self.model.purchases)]
        request = {"purchase_id": purchase_id, "idempotency_key": self.key(), "now": self.now}
        try:
            bought = self.model.predict_cancel_purchase(purchase_id, self.now)
        except Expect as expected:
            self.fails(expected.error, purchase_service.cancel_purchase, **request)
            return
        result = self.succeeds("cancel_purchase", purchase_service.cancel_purchase, **request)
        assert (result.refunded_won, result.returned_to_budget_won) == (bought.paid, bought.bonus)
        bought.cancelled = True
        self.model.lots[bought.lot_id].remaining = 0
        self.model.move(
            {
                f"wallet:{bought.wallet_id}": -bought.face,
                "bank": bought.paid,
                f"budget:{seoul_month_of(self.now)}": bought.bonus,
            }
        )

    # -- payments ---------------------------------------------------------------------------

    @rule(wallet=wallet_picks, merchant=st.sampled_from(["local", "at cap"]), share=payment_shares)
    def pay(self, wallet: int, merchant: str, share: str) -> None:
        self.spend(wallet, merchant, share)

    @rule(wallet=wallet_picks, merchant=merchant_names, amount=wrong_amounts)
    def pay_wrongly(self, wallet: int, merchant: str, amount: int | str) -> None:
        self.spend(wallet, merchant, amount)

    def spend(self, wallet: int, merchant: str, portion: int | str) -> None:
        wallet_id, merchant_id = self.wallet_at(wallet), self.merchant_ids[merchant]
        live = self.model.live_lots(wallet_id, self.now)
        amount = resolve(portion, sum(lot.remaining for lot in live))
        bought = sorted((lot for lot in live if lot.purchased_value), key=lambda lot: lot.id)
        if portion in {"to refund threshold", "short of it"} and bought:
            # Points go first, then the oldest purchase up to the threshold's won, rounded up.
            oldest = bought[0]
            threshold = -(-self.model.program.refund_threshold_bp * oldest.face // 10_000)
            points = sum(lot.remaining for lot in live if lot.kind == "cashback")
            amount = points + threshold - (oldest.face - oldest.remaining)
            amount = max(1, amount - (portion == "short of it"))
        request = {
            "wallet_id": wallet_id,
            "merchant_id": merchant_id,
            "amount_won": amount,
            "idempotency_key": self.key(),
            "now": self.now,
        }
        try:
            plan = self.model.predict_payment(wallet_id, merchant_id, amount, self.now)
        except Expect as expected:
            self.fails(expected.error, payment_service.pay_merchant, **request)
            return
        result = self.succeeds("pay", payment_service.pay_merchant, **request)
        self.record_payment(wallet_id, merchant_id, amount, plan, result)

    def record_payment(
        self,
        wallet_id: int,
        merchant_id: int,
        amount: int,
        plan: Any,
        result: PaymentResult,
        *,
        batched: bool = False,
    ) -> None:
        """Check a payment the model expected against its plan, and add it to the model."""
        assert (result.amount_won, result.purchased_value_won, result.cashback_won) == (
            amount,
            plan.purchased_part,
            plan.cashback,
        )
        for lot_id, taken in plan.takes:
            self.model.lots[lot_id].remaining -= taken
        cashback_lots = [NewLot(wallet_id, "cashback", plan.cashback, 0, self.expires())]
        created = self.bind_lots(
            result.transaction_id, cashback_lots if plan.cashback else [], untouched=not batched
        )
        self.model.payments[result.payment_id] = PaymentModel(
            result.payment_id, wallet_id, merchant_id, amount, plan.cashback,
            created[0] if created else None, plan.month,
            [AllocationModel(lot_id, taken) for lot_id, taken in plan.takes],
        )  # fmt: skip
        self.flows.append((self.now, merchant_id, amount))
        self.model.move(
            {
                f"wallet:{wallet_id}": plan.cashback - amount,
                f"payable:{merchant_id}": amount,
                f"budget:{plan.month}": -plan.cashback,
            }
        )

    @rule(
        picks=st.lists(
            st.tuples(wallet_picks, batch_merchants, batch_amounts), min_size=1, max_size=6
        )
    )
    def pay_in_a_batch(self, picks: list[tuple[int, str, int | str]]) -> None:
        """Counter payments by QR, paid together as the server pays them (``PaymentBatcher``:
        one transaction, a savepoint each, in the order of the payers' tokens): each refusal the
        model predicts is refused alone, and its batchmates are paid as if each were alone."""
        sent = []
        for wallet, merchant, portion in picks:
            wallet_id, merchant_id = self.wallet_at(wallet), self.merchant_ids[merchant]
            usable = sum(lot.remaining for lot in self.model.live_lots(wallet_id, self.now))
            request = {
                "token": self.payer_token(wallet_id),
                "payload": self.qr_payload(merchant_id),
                "amount_won": resolve(portion, usable),
                "pin": PIN,
                "wallet_id": None,
                "idempotency_key": self.key(),
                "now": self.now,
            }
            sent.append((wallet_id, merchant_id, request))
        batcher = PaymentBatcher(lambda: UnitOfWork(self.engine), SECRETS, attempts_max=5)
        outcomes = batcher.pay_batch([QrPayment(**request) for _, _, request in sent])
        self.unchanged_since = None
        for index in sorted(range(len(sent)), key=lambda i: sent[i][2]["token"]):
            wallet_id, merchant_id, request = sent[index]
            outcome, amount = outcomes[index], request["amount_won"]
            refusal, plan = self.predicted_payment(wallet_id, merchant_id, amount)
            if refusal is not None:
                assert type(outcome) is refusal, f"expected {refusal.__name__}: {outcome!r}"
                continue
            assert isinstance(outcome, PaymentResult), f"the model expected a payment: {outcome!r}"
            self.done.append(Done("pay", pay_by_qr, request, outcome, pinned_now=False))
            self.record_payment(wallet_id, merchant_id, amount, plan, outcome, batched=True)

    def predicted_payment(
        self, wallet_id: int, merchant_id: int, amount: int
    ) -> tuple[type[errors.DongneError] | None, Any]:
        """(the refusal the model expects, None) or (None, the model's plan of the payment)."""
        try:
            return None, self.model.predict_payment(wallet_id, merchant_id, amount, self.now)
        except Expect as expected:
            return expected.error, None

    def payer_token(self, wallet_id: int) -> str:
        """A bearer token of the wallet's citizen, whose payment PIN is ``PIN``; made on first
        use (with the citizen's user, unless an allowance claim made it already)."""
        if wallet_id not in self.tokens:
            with self.engine.begin() as connection:
                user_id = self.user_of_wallet(connection, wallet_id)
                connection.execute(
                    update(users)
                    .where(users.c.id == user_id)
                    .values(pin_hmac=SECRETS.pin_digest(user_id, PIN))
                )
                token, digest = new_token("dgt")
                connection.execute(
                    insert(access_tokens).values(
                        token_hash=digest,
                        user_id=user_id,
                        created_at=self.now,
                        expires_at=self.now + timedelta(days=3650),
                    )
                )
            self.unchanged_since = None
            self.tokens[wallet_id] = token
        return self.tokens[wallet_id]

    def user_of_wallet(self, connection: Any, wallet_id: int) -> int:
        """The user of the wallet's citizen, inserted when there is none yet."""
        citizen_id = connection.execute(
            select(wallets.c.citizen_id).where(wallets.c.id == wallet_id)
        ).scalar_one()
        found = connection.execute(
            select(users.c.id).where(users.c.citizen_id == citizen_id)
        ).scalar_one_or_none()
        if found is not None:
            return int(found)
        user = {
            "kind": "citizen",
            "login": f"{self.prefix}-citizen-{citizen_id}",
            "password_hash": "never logs in",
            "citizen_id": citizen_id,
            "created_at": self.now,
        }
        return int(
            connection.execute(insert(users).values(**user).returning(users.c.id)).scalar_one()
        )

    def qr_payload(self, merchant_id: int) -> str:
        if merchant_id not in self.payloads:
            with self.uow:
                self.payloads[merchant_id] = build_payload(
                    counter_payments.merchant_qr_within(self.uow, merchant_id)
                )
        return self.payloads[merchant_id]

    @precondition(lambda self: self.model.payments)
    @rule(
        payment=st.integers(0, 12),
        how=st.sampled_from(["rest", "part", "one", "over", "zero", "part", "rest"]),
        percent=st.integers(1, 99),
    )
    def cancel_payment(self, payment: int, how: str, percent: int) -> None:
        payment_id = sorted(self.model.payments)[payment % len(self.model.payments)]
        paid = self.model.payments[payment_id]
        left = paid.amount - paid.cancelled
        amount = {
            "rest": None,
            "part": max(1, left * percent // 100),
            "one": 1,
            "over": left + 1,
            "zero": 0,
        }[how]
        request = {
            "payment_id": payment_id,
            "amount_won": amount,
            "idempotency_key": self.key(),
            "now": self.now,
        }
        try:
            plan = self.model.predict_cancel_payment(payment_id, amount, self.now)
        except Expect as expected:
            self.fails(expected.error, payment_service.cancel_payment, **request)
            return
        result = self.succeeds("cancel_payment", payment_service.cancel_payment, **request)
        restored = sum(piece for _, piece in plan.restores)
        assert (result.amount_won, result.restored_won, result.returned_to_funders_won) == (
            plan.amount,
            restored - plan.from_cashback_lot,
            plan.to_breakage + plan.to_budget + sum(plan.to_others.values()),
        )
        for index, piece in plan.pieces:
            paid.allocations[index].returned += piece
        for lot_id, piece in plan.restores:
            self.model.lots[lot_id].remaining += piece
        if plan.from_cashback_lot:
            assert paid.cashback_lot_id is not None
            self.model.lots[paid.cashback_lot_id].remaining -= plan.from_cashback_lot
        paid.cancelled += plan.amount
        paid.clawed += plan.clawed
        offsets = {offset.id: offset for offset in self.model.offsets}
        for offset_id, moved in plan.settled:
            offsets[offset_id].settled += moved
        self.bind_offsets(result.transaction_id, paid.cashback_lot_id, plan.cuts)
        self.flows.append((self.now, paid.merchant_id, -plan.amount))
        self.model.move(
            {
                f"payable:{paid.merchant_id}": -plan.amount,
                f"wallet:{paid.wallet_id}": restored - plan.from_cashback_lot,
                "breakage": plan.to_breakage,
                f"budget:{seoul_month_of(self.now)}": plan.to_budget,
                **plan.to_others,
            }
        )

    # -- gifts, refunds and expiry ----------------------------------------------------------

    @rule(sender=wallet_picks, receiver=wallet_picks, share=shares)
    def gift(self, sender: int, receiver: int, share: str) -> None:
        self.give(sender, receiver, "another", share)

    @rule(
        sender=wallet_picks,
        receiver=wallet_picks,
        to=st.sampled_from(["self", "foreign", "another"]),
        amount=wrong_amounts,
    )
    def gift_wrongly(self, sender: int, receiver: int, to: str, amount: int | str) -> None:
        self.give(sender, receiver, to, amount)

    def give(self, sender: int, receiver: int, to: str, portion: int | str) -> None:
        sender_id = self.wallet_at(sender)
        others = [wallet_id for wallet_id in sorted(self.model.wallets) if wallet_id != sender_id]
        target = {
            "another": self.model.wallets[others[receiver % len(others)]],
            "self": self.model.wallets[sender_id],
            "foreign": self.foreign_wallet,
        }[to]
        giftable = [
            lot for lot in self.model.live_lots(sender_id, self.now) if lot.kind == "purchased"
        ]
        amount = resolve(portion, sum(lot.remaining for lot in giftable))
        request = {
            "sender_wallet_id": sender_id,
            "receiver_wallet_id": target.id,
            "amount_won": amount,
            "idempotency_key": self.key(),
            "now": self.now,
        }
        try:
            takes = self.model.predict_gift(sender_id, target, amount, self.now)
        except Expect as expected:
            self.fails(expected.error, gifts.send_gift, **request)
            return
        result = self.succeeds("gift", gifts.send_gift, **request)
        assert result.amount_won == amount
        sources = [(self.model.lots[lot_id], taken) for lot_id, taken in takes]
        self.bind_lots(
            result.transaction_id,
            [
                NewLot(target.id, "gifted", taken, source.paid_share(taken), source.expires_at)
                for source, taken in sources
            ],
        )
        for source, taken in sources:
            source.remaining -= taken
        self.model.gifts.append((sender_id, target.id, amount, seoul_month_of(self.now)))
        self.model.move({f"wallet:{sender_id}": -amount, f"wallet:{target.id}": amount})

    @rule(wallet=st.one_of(wallet_picks, st.just("most spent")))
    def refund(self, wallet: int | str) -> None:
        """Refund a wallet, or the one holding the most spent live purchase."""
        if isinstance(wallet, str):
            live = [
                lot
                for lot in self.model.lots.values()
                if lot.purchased_value and lot.live(self.now)
            ]
            wallet = 0
            if live:
                most = max(live, key=lambda lot: Fraction(lot.face - lot.remaining, lot.face))
                wallet = sorted(self.model.wallets).index(most.wallet_id)
        wallet_id = self.wallet_at(wallet)
        request = {"wallet_id": wallet_id, "idempotency_key": self.key(), "now": self.now}
        try:
            returns = self.model.predict_refund(wallet_id, self.now)
        except Expect as expected:
            self.fails(expected.error, refunds.refund_balance, **request)
            return
        result = self.succeeds("refund", refunds.refund_balance, **request)
        value = sum(taken for _, taken, _ in returns)
        paid_back = sum(back for _, _, back in returns)
        assert (result.value_won, result.refund_won, result.returned_to_budget_won) == (
            value,
            paid_back,
            value - paid_back,
        )
        for lot_id, _, _ in returns:
            self.model.lots[lot_id].remaining = 0
        self.model.move(
            {
                f"wallet:{wallet_id}": -value,
                "bank": paid_back,
                f"budget:{seoul_month_of(self.now)}": value - paid_back,
            }
        )

    @rule(limit=st.sampled_from([1, 2, 10_000]))
    def run_the_expiry_job(self, limit: int) -> None:
        expiry = self.model.predict_expiry(self.now, limit)
        result = self.succeeds(
            "expire",
            refunds.expire_lots,
            pinned_now=True,
            region_id=self.model.region_id,
            idempotency_key=self.key(),
            now=self.now,
            limit=limit,
        )
        assert (result.transaction_id is None) == (not expiry.lot_ids)
        assert (result.lots_expired, result.to_breakage_won, result.to_budget_won) == (
            len(expiry.lot_ids),
            expiry.to_breakage,
            expiry.to_budget,
        )
        assert result.value_won == expiry.to_breakage + expiry.to_budget
        month = seoul_month_of(self.now)
        to_month = expiry.to_budget - sum(expiry.to_others.values())
        deltas = {"breakage": expiry.to_breakage, f"budget:{month}": to_month, **expiry.to_others}
        for lot_id in expiry.lot_ids:
            lot = self.model.lots[lot_id]
            label = f"wallet:{lot.wallet_id}"
            deltas[label] = deltas.get(label, 0) - lot.remaining
            lot.remaining = 0
        self.model.move(deltas)

    # -- settlement -------------------------------------------------------------------------

    @rule(
        days_back=st.sampled_from([0, 1, 1, 2, 3]),
        hold=st.sampled_from([False, False, True]),
        next_morning=st.booleans(),
    )
    def settle_a_day(self, days_back: int, hold: bool, next_morning: bool) -> None:
        """Settle a Seoul day (today's is refused, as are settled and earlier ones), now or at
        01:00 the next Seoul morning. Only the local shop has bank details, and its settlement
        may be held."""
        if next_morning:
            tomorrow = seoul_day_of(self.now) + timedelta(days=1)
            self.now = datetime.combine(tomorrow, datetime.min.time(), tzinfo=SEOUL).astimezone(
                UTC
            ) + timedelta(hours=1)
        local = self.merchant_ids["local"]
        with self.engine.begin() as connection:
            connection.execute(
                update(merchants)
                .where(merchants.c.id == local)
                .values(
                    bank_code="004",
                    bank_account_number="1002",
                    bank_account_holder="빵",
                    settlement_held=hold,
                )
            )
        self.unchanged_since = None
        day = seoul_day_of(self.now) - timedelta(days=days_back)
        request = {
            "region_id": self.model.region_id,
            "business_day": day,
            "idempotency_key": self.key(),
            "now": self.now,
        }
        try:
            paid_out = self.settlement.predict(
                day, self.now, self.flows, self.model.balances, banked=set() if hold else {local}
            )
        except Expect as expected:
            self.fails(expected.error, settlement.settle_day, **request)
            return
        result = self.succeeds("settle", settlement.settle_day, **request)
        assert result.transfer_won == sum(paid_out.values())
        self.model.move(
            {f"payable:{m}": -won for m, won in paid_out.items()}
            | {"merchant_bank": sum(paid_out.values())}
        )
        reconciled = settlement_reports.reconcile(
            self.uow, region_id=self.model.region_id, business_day=day
        )
        assert reconciled.problems == []

    # -- the clock --------------------------------------------------------------------------

    @rule(hours=st.one_of(st.integers(1, 48), st.sampled_from([24 * 7, 24 * 30, 24 * 7 + 1])))
    def let_time_pass(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @rule(boundary=st.sampled_from(BOUNDARIES))
    def jump_to_the_next(self, boundary: str) -> None:
        """Land on the next instant where a rule switches: a Seoul month's first or last second,
        the last second of a cancellation window or the one after it, a lot's expiry or the
        second before it."""
        window = timedelta(days=self.model.program.cancellation_window_days)
        ends = [p.at + window for p in self.model.purchases.values() if not p.cancelled]
        expiries = [lot.expires_at for lot in self.model.lots.values() if lot.remaining]
        second = timedelta(seconds=1)
        candidates = {
            "month start": [self.next_month_start()],
            "month end": [self.next_month_start() - second],
            "window end": ends,
            "window closed": [end + second for end in ends],
            "expiry": expiries,
            "expiry eve": [moment - second for moment in expiries],
        }[boundary]
        later = [moment for moment in candidates if moment > self.now]
        if later:
            self.now = min(later)

    # -- policy allowances ------------------------------------------------------------------

    allowance: AllowanceState | None = None

    def allowance_program(self, days: int, denied: bool, above_cap: bool) -> AllowanceState:
        """The region's allowance program (10,000 won a person, 60,000 won of budget), created
        on first use with a validity of ``days`` from now."""
        if self.allowance is None:
            until, refused = self.now + timedelta(days=days), frozenset({"cafe"} if denied else ())
            terms = AllowanceTerms("재난지원금", 10_000, self.now, until, None, refused, above_cap)
            created = allowance_service.create_program(
                self.uow, ALLOWANCE_CALLER, region_id=self.model.region_id, terms=terms,
                budget_won=60_000, idempotency_key=self.key(), now=self.now,
            )  # fmt: skip
            self.unchanged_since = None
            label = f"allowance:{created.program_id}"
            self.model.move({label: 60_000, "city": -60_000})
            self.allowance = AllowanceState(created.program_id, until, refused, above_cap, label)
        return self.allowance

    def identity_for(self, state: AllowanceState, wallet_id: int) -> str:
        """The wallet's citizen's identity number, put on record (as its HMAC) on first use."""
        if wallet_id not in state.identity_of_wallet:
            identity = f"7001011{next(_identities):06d}"
            with self.engine.begin() as connection:
                connection.execute(
                    update(users)
                    .where(users.c.id == self.user_of_wallet(connection, wallet_id))
                    .values(identity_hmac=SECRETS.identity_digest(identity))
                )
            self.unchanged_since = None
            state.identity_of_wallet[wallet_id] = identity
        return state.identity_of_wallet[wallet_id]

    @rule(
        days=st.sampled_from([3, 30]),
        denied=st.booleans(),
        above_cap=st.booleans(),
        picks=st.lists(wallet_picks, max_size=3),
        newcomers=st.integers(0, 2),
        amount=st.sampled_from([None, None, 5_000, 30_000]),
    )
    def grant_allowances(  # noqa: PLR0917 - hypothesis passes the rule's draws by keyword
        self,
        days: int,
        denied: bool,
        above_cap: bool,
        picks: list[int],
        newcomers: int,
        amount: int | None,
    ) -> None:
        """Upload a list (some wallets' citizens, maybe twice, and people without a wallet)
        and disburse it: refused when the budget is short or the validity has ended."""
        state = self.allowance_program(days, denied, above_cap)
        people = [self.identity_for(state, self.wallet_at(pick)) for pick in picks]
        people += [f"7101011{next(_identities):06d}" for _ in range(newcomers)]
        rows = [
            RecipientRow(number, SECRETS.identity_digest(identity), "수급자",
                         "01012345678", amount)
            for number, identity in enumerate(people, start=2)
        ]  # fmt: skip
        request = {"caller": ALLOWANCE_CALLER, "program_id": state.program_id}
        request |= {"filename": "list.csv", "rows": rows, "now": self.now}
        if self.now >= state.until:
            self.fails(AllowanceNotValidNow, allowance_uploads.upload_recipients, **request)
            return
        summary = allowance_uploads.upload_recipients(self.uow, **request)
        self.unchanged_since = None
        wallet_of = {identity: w for w, identity in state.identity_of_wallet.items()}
        payable = list(dict.fromkeys(p for p in people if p not in state.granted))
        matched = [p for p in payable if p in wallet_of]
        assert summary.counts == {
            "matched": len(matched),
            "unmatched": len(payable) - len(matched),
            "duplicate": len(people) - len(payable),
            "invalid": 0,
        }
        each = amount or 10_000
        disbursal = {"caller": ALLOWANCE_CALLER, "upload_id": summary.upload_id, "now": self.now}
        if each * len(payable) > self.model.balances[state.label]:
            self.fails(AllowanceBudgetShort, disburse_allowance, **disbursal)
            return
        result = disburse_allowance(self.uow, **disbursal)
        assert (result.paid_count, result.pending_count) == (
            len(matched),
            len(payable) - len(matched),
        )
        if not payable:
            return
        with self.engine.connect() as connection:
            (transaction_id,) = connection.execute(
                select(allowance_grants.c.transaction_id)
                .where(allowance_grants.c.upload_id == summary.upload_id)
                .distinct()
            ).scalars()
        expected = [NewLot(wallet_of[p], "allowance", each, 0, state.until) for p in matched]
        self.bind_allowance_lots(state, transaction_id, expected)
        deltas = {state.label: -each * len(payable)}
        deltas[f"{state.label}-pending"] = each * (len(payable) - len(matched))
        for person in matched:
            deltas[f"wallet:{wallet_of[person]}"] = (
                deltas.get(f"wallet:{wallet_of[person]}", 0) + each
            )
        self.model.move(deltas)
        state.granted |= set(payable)
        state.pending |= {p: each for p in payable if p not in wallet_of}

    def bind_allowance_lots(
        self, state: AllowanceState, transaction_id: int, expected: list[NewLot]
    ) -> None:
        for lot_id in self.bind_lots(transaction_id, expected):
            lot = self.model.lots[lot_id]
            lot.denied, lot.above_cap, lot.funder = state.denied, state.above_cap, state.label

    @precondition(
        lambda self: (
            self.allowance is not None
            and set(self.allowance.pending) - self.allowance.signed_up
            and len(self.model.wallets) < 6
        )
    )
    @rule()
    def sign_up_a_recipient(self) -> None:
        """Someone with a grant waiting signs up: it is paid into the new wallet while the
        program is valid; afterwards it waits for the expiry job."""
        state = self.allowance
        assert state is not None
        identity = min(set(state.pending) - state.signed_up)
        phone = f"01{next(_phones):09d}"
        result = self.succeeds(
            "sign_up",
            accounts.sign_up_citizen,
            secrets=SECRETS,
            phone=phone,
            password=PASSWORD,
            name="수급자",
            region_id=self.model.region_id,
            identity_number=identity,
            idempotency_key=self.key(),
            now=self.now,
        )
        state.signed_up.add(identity)
        self.model.wallets[result.wallet_id] = WalletModel(
            result.wallet_id, self.model.region_id, resident=True
        )
        state.identity_of_wallet[result.wallet_id] = identity
        if self.now >= state.until:
            return
        amount = state.pending.pop(identity)
        with self.engine.connect() as connection:
            transaction_id = connection.execute(
                select(allowance_grants.c.settled_transaction_id).where(
                    allowance_grants.c.program_id == state.program_id,
                    allowance_grants.c.identity_hmac == SECRETS.identity_digest(identity),
                )
            ).scalar_one()
        expected = [NewLot(result.wallet_id, "allowance", amount, 0, state.until)]
        self.bind_allowance_lots(state, transaction_id, expected)
        self.model.move({f"{state.label}-pending": -amount, f"wallet:{result.wallet_id}": amount})

    @precondition(lambda self: self.allowance is not None)
    @rule()
    def expire_the_allowance(self) -> None:
        """Before the end of validity the job is refused; from it, unspent lots and unclaimed
        grants go back to the program's budget (again: nothing more)."""
        state = self.allowance
        assert state is not None
        request = {"caller": ALLOWANCE_CALLER, "program_id": state.program_id, "now": self.now}
        if self.now < state.until:
            self.fails(AllowanceProgramStillValid, expire_allowance_program, **request)
            return
        report = expire_allowance_program(self.uow, **request)
        self.unchanged_since = None
        due = [
            lot for lot in self.model.lots.values() if lot.funder == state.label and lot.remaining
        ]
        unclaimed = sum(state.pending.values())
        assert (report.lots_expired, report.expired_won, report.unclaimed_won) == (
            len(due), sum(lot.remaining for lot in due), unclaimed,
        )  # fmt: skip
        deltas = {state.label: sum(lot.remaining for lot in due) + unclaimed}
        deltas[f"{state.label}-pending"] = -unclaimed
        for lot in due:
            label = f"wallet:{lot.wallet_id}"
            deltas[label] = deltas.get(label, 0) - lot.remaining
            lot.remaining = 0
        self.model.move(deltas)
        state.pending.clear()

    # -- idempotency and mistakes -----------------------------------------------------------

    @precondition(lambda self: self.done)
    @rule(which=st.integers(0, 50), same=st.booleans())
    def reuse_a_key(self, which: int, same: bool) -> None:
        """The same request with a used key returns the first response and changes nothing;
        another request with it is refused."""
        done = self.done[which % len(self.done)]
        key = done.kwargs["idempotency_key"]
        if same:
            request = dict(done.kwargs) if done.pinned_now else dict(done.kwargs, now=self.now)
            before = self.unchanged_since or self.snapshot()
            self.unchanged_since = None
            assert done.call(self.uow, **request) == done.result
            assert self.snapshot() == before, "a replay changed the database"
            self.unchanged_since = before
            return
        call, request = done.call, dict(done.kwargs, now=self.now)
        if done.operation in {"purchase", "pay", "gift", "fund"}:
            request["face_won" if done.operation == "purchase" else "amount_won"] += 10_000
        elif done.operation == "refund":
            call = registry.fund_discount_budget
            request = {"region_id": self.model.region_id, "amount_won": 10_000, "now": self.now}
        else:
            call, request = (
                refunds.refund_balance,
                {"wallet_id": self.wallet_at(0), "now": self.now},
            )
        self.fails(errors.IdempotencyKeyReused, call, **dict(request, idempotency_key=key))

    @rule(mistake=st.sampled_from(MISTAKES))
    def make_a_mistake(self, mistake: str) -> None:
        """Requests that name what does not exist, or are malformed."""
        region, key, now = self.model.region_id, self.key(), self.now
        citizen = self.citizen_request(home=region, region=region)
        wallet_id, local = self.wallet_at(0), self.merchant_ids["local"]
        error: type[errors.DongneError]
        call: Callable[..., Any]
        fund = registry.fund_discount_budget
        error, call, request = {
            "fund nothing": (errors.InvalidAmount, fund, {"region_id": region, "amount_won": 0}),
            "fund less than nothing": (
                errors.InvalidAmount,
                fund,
                {"region_id": region, "amount_won": -1},
            ),
            "fund month 13": (
                errors.InvalidInput,
                fund,
                {"region_id": region, "amount_won": 10_000, "month": "2026-13"},
            ),
            "fund month 1": (
                errors.InvalidInput,
                fund,
                {"region_id": region, "amount_won": 10_000, "month": "2026-1"},
            ),
            "known phone": (
                errors.AlreadyExists,
                registry.register_citizen,
                {**citizen, "phone": self.phones[0]},
            ),
            "bad phone": (
                errors.InvalidInput,
                registry.register_citizen,
                {**citizen, "phone": "02-123-4567"},
            ),
            "no such region": (
                errors.RegionNotFound,
                registry.register_citizen,
                {**citizen, "wallet_region_id": MISSING_ID},
            ),
            "no such home region": (
                errors.RegionNotFound,
                registry.register_citizen,
                {**citizen, "home_region_id": MISSING_ID},
            ),
            "empty key": (
                errors.InvalidInput,
                refunds.refund_balance,
                {"wallet_id": wallet_id, "idempotency_key": ""},
            ),
            "long key": (
                errors.InvalidInput,
                refunds.refund_balance,
                {"wallet_id": wallet_id, "idempotency_key": "k" * 201},
            ),
            "purchase from no wallet": (
                errors.WalletNotFound,
                purchase_service.purchase_vouchers,
                {"wallet_id": MISSING_ID, "face_won": 10_000},
            ),
            "pay from no wallet": (
                errors.WalletNotFound,
                payment_service.pay_merchant,
                {"wallet_id": MISSING_ID, "merchant_id": local, "amount_won": 1_000},
            ),
            "refund no wallet": (
                errors.WalletNotFound,
                refunds.refund_balance,
                {"wallet_id": MISSING_ID},
            ),
            "gift to no wallet": (
                errors.WalletNotFound,
                gifts.send_gift,
                {
                    "sender_wallet_id": wallet_id,
                    "receiver_wallet_id": MISSING_ID,
                    "amount_won": 1_000,
                },
            ),
            "cancel no purchase": (
                errors.PurchaseNotFound,
                purchase_service.cancel_purchase,
                {"purchase_id": MISSING_ID},
            ),
            "cancel no payment": (
                errors.PaymentNotFound,
                payment_service.cancel_payment,
                {"payment_id": MISSING_ID},
            ),
            "suspend no merchant": (
                errors.MerchantNotFound,
                registry.set_merchant_status,
                {"merchant_id": MISSING_ID, "status": MerchantStatus.SUSPENDED},
            ),
        }[mistake]
        request = {"idempotency_key": key, "now": now, **request}
        if call is registry.set_merchant_status:
            del request["idempotency_key"]
        self.fails(error, call, **request)

    # -- what must hold after every step ----------------------------------------------------

    @invariant()
    def the_ledger_is_sound_and_as_modelled(self) -> None:
        region = self.model.region_id
        if not region:
            return
        assert read_models.ledger_problems(self.uow, region_id=region) == []
        totals = read_models.account_totals(self.uow, region_id=region)
        assert {kind: total for kind, total in totals.items() if total} == (
            self.model.totals_by_type()
        )
        assert not any(read_models.account_totals(self.uow, region_id=self.other_region).values())
        with self.engine.connect() as connection:
            assert stored_rows(connection, region) == self.model.expected_rows()

    def teardown(self) -> None:
        """At the end of each run: the whole database's ledger, and each wallet as its page
        shows it (expired lots the job has not emptied yet are held but not usable)."""
        if not self.model.region_id:
            return
        assert read_models.ledger_problems(self.uow) == []
        for wallet_id in self.model.wallets:
            held = [lot for lot in self.model.lots.values() if lot.wallet_id == wallet_id]
            by_kind = dict.fromkeys(("purchased", "gifted", "cashback", "reward", "allowance"), 0)
            for lot in held:
                by_kind[lot.kind] += lot.remaining
            usable = sum(lot.remaining for lot in held if lot.live(self.now))
            shown = read_models.wallet_balance(self.uow, wallet_id=wallet_id, now=self.now)
            assert (shown.balance_won, shown.usable_won, shown.by_kind_won) == (
                sum(by_kind.values()),
                usable,
                by_kind,
            )


# About 15 s on SQLite and 35 s on PostgreSQL on two cores. Longer hunts (hundreds of runs of
# 60 steps) use the same machine with ``settings(SETTINGS, max_examples=..., ...)``.
SETTINGS = settings(
    max_examples=40,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_random_operations_keep_the_ledger_sound_and_as_modelled(engine: Engine) -> None:
    run_state_machine_as_test(lambda: LedgerMachine(engine), settings=SETTINGS)


# -- bugs the machine found -------------------------------------------------------------------


def test_a_default_month_funding_retried_after_the_month_turned_returns_its_first_response(
    uow: UnitOfWork,
) -> None:
    """The request of a funding is what the caller sent, not the month it resolved to: a
    retry that lands after midnight at the end of a month used to be refused as another
    request (IdempotencyKeyReused) although the caller sent the very same one."""
    world = World(uow, NOW)
    last_second = datetime(2026, 11, 30, 23, 59, 59, tzinfo=SEOUL)
    request = {"region_id": world.region_id, "amount_won": 100_000, "idempotency_key": "fund-1"}
    first = registry.fund_discount_budget(uow, **request, now=last_second)
    retried = registry.fund_discount_budget(uow, **request, now=last_second + timedelta(seconds=2))
    assert retried == first
    assert first.month == "2026-11"
    assert read_models.account_totals(uow, region_id=world.region_id) == {
        "city_funding": -100_000,
        "discount_budget": 100_000,
    }
