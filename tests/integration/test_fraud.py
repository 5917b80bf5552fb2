"""Fraud detection on SQLite and PostgreSQL: rules over stored payments, one alert per rule,
subject and window, the batch scan, and what officials do with an alert."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, event, select, update

from dongne.adapters.db.tables import citizens, merchants, wallets
from dongne.domain.errors import PaymentNotFound
from dongne.domain.fraud import FraudAlertNotFound, FraudAlertResolved, FraudSettings
from dongne.services import fraud, settlement
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key
from tests.helpers import buy, days, pay, refused

RULES = FraudSettings()
MINUTE = timedelta(minutes=1)


@pytest.fixture
def shop(world: World) -> int:
    world.fund(1_000_000)
    return world.merchant()


@pytest.fixture
def wallet(world: World, uow: UnitOfWork) -> int:
    wallet_id = world.citizen()
    buy(uow, wallet_id, 500_000, now=NOW - timedelta(days=1))
    return wallet_id


def paid_and_checked(
    uow: UnitOfWork,
    wallet: int,
    shop: int,
    amount: int,
    *,
    minutes: float = 0,
    rules: FraudSettings = RULES,
) -> list[int]:
    payment = pay(uow, wallet, shop, amount, now=NOW + minutes * MINUTE)
    return fraud.check_payment(uow, payment.payment_id, rules)


def rules_of(uow: UnitOfWork, world: World) -> list[tuple[str, str]]:
    alerts = fraud.list_alerts(uow, region_id=world.region_id, status=None)
    return [(alert.rule, alert.period) for alert in alerts]


def merchant_row(engine: Engine, merchant_id: int) -> tuple[str, bool]:
    with engine.connect() as connection:
        row = connection.execute(
            select(merchants.c.status, merchants.c.settlement_held).where(
                merchants.c.id == merchant_id
            )
        ).one()
    return row.status, row.settlement_held


def test_repeated_payments_open_one_alert_per_pair_and_day(
    uow: UnitOfWork, world: World, shop: int, wallet: int
) -> None:
    assert paid_and_checked(uow, wallet, shop, 10_000) == []
    assert paid_and_checked(uow, wallet, shop, 10_000, minutes=30) == []
    opened = paid_and_checked(uow, wallet, shop, 10_000, minutes=60)
    assert len(opened) == 1
    assert paid_and_checked(uow, wallet, shop, 10_000, minutes=61) == [], "deduplicated"
    assert rules_of(uow, world) == [("repeated_payments", "2026-11-26")]
    alert = fraud.alert(uow, alert_id=opened[0])
    assert alert.details == {"payments": 3, "window_minutes": 60}
    assert alert.status == "open"
    other_shop = world.merchant()
    for minute in (0, 1):
        assert paid_and_checked(uow, wallet, other_shop, 10_000, minutes=minute) == []


def test_the_servers_check_asks_nothing_more_of_an_alert_it_knows_is_stored(
    uow: UnitOfWork, engine: Engine, shop: int, wallet: int
) -> None:
    """The server's check remembers the alerts it opened or found (``AlertsStored``): a later
    payment breaking the same rule in the same window sends no savepoint and no insert that
    would do nothing, and opens nothing, as the database would have said."""
    paid = [pay(uow, wallet, shop, 10_000, now=NOW + m * MINUTE).payment_id for m in range(6)]
    stored = fraud.AlertsStored()
    assert [len(opened) for opened in fraud.check_payments(uow, paid[:3], RULES, stored)] == [
        0,
        0,
        1,
    ]
    sent: list[str] = []

    def record(*args: object) -> None:
        sent.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert fraud.check_payments(uow, paid[3:], RULES, stored) == [[], [], []]
        remembered = list(sent)
        sent.clear()
        assert fraud.check_payments(uow, paid[3:], RULES) == [[], [], []]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert not [s for s in remembered if "fraud_alerts" in s or "SAVEPOINT" in s.upper()]
    assert any("INSERT INTO fraud_alerts" in statement for statement in sent), "asked again"


def test_the_servers_check_reads_no_evidence_for_an_alert_it_knows_is_stored(
    uow: UnitOfWork, engine: Engine, shop: int, wallet: int
) -> None:
    """A citizen paying one shop over and over (what the repeat rule flags) made each later
    check read every payment of the pair within the window: rows that grew with the rate.
    Once the pair's alert and the shop's takings alert are known stored, a check reads the
    payment it checks and nothing of the pair's or the shop's others."""
    rules = FraudSettings(spike_min_takings_won=0)  # the shop's first day: a spike at once
    paid = [pay(uow, wallet, shop, 1_000, now=NOW + m * MINUTE).payment_id for m in range(20)]
    stored = fraud.AlertsStored()
    opened = fraud.check_payments(uow, paid[:3], rules, stored)
    assert [len(alerts) for alerts in opened] == [1, 0, 1]  # the takings, then the repeat
    reads: list[str] = []

    def record(*args: object) -> None:
        if str(args[2]).lstrip().upper().startswith("SELECT"):
            reads.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert fraud.check_payments(uow, paid[19:], rules, stored) == [[]]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(reads) == 1, reads
    assert "merchant_phone" in reads[0], "the checked payment with the parties' phones"
    assert fraud.check_payments(uow, paid[19:], rules) == [[]], "the database agrees"


def test_the_checks_reads_go_by_the_driver_on_postgresql_in_one_text_whatever_the_batch(
    uow: UnitOfWork, engine: Engine, shop: int, wallet: int
) -> None:
    """The online check reads for every batch of payments; SQLAlchemy's execution around each
    read cost more than the read, so on PostgreSQL they go on psycopg's cursor, their id
    lists as one array (``member_of``), so a read's text is the same for any batch size."""
    paid = [pay(uow, wallet, shop, 1_000, now=NOW + m * MINUTE).payment_id for m in range(4)]
    reads: list[tuple[str, bool]] = []

    def record(*args: object) -> None:
        if str(args[2]).lstrip().upper().startswith("SELECT"):
            reads.append((str(args[2]), args[4] is not None))

    event.listen(engine, "before_cursor_execute", record)
    try:
        fraud.check_payments(uow, paid[:1], RULES)
        first = list(reads)
        reads.clear()
        fraud.check_payments(uow, paid[1:], RULES)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite reads through SQLAlchemy, its lists expanded")
    assert first
    assert all(not through_sqlalchemy for _, through_sqlalchemy in first + reads), reads
    assert {text for text, _ in first} >= {text for text, _ in reads}, "no new text for 3"


def test_the_alerts_a_process_remembers_are_bounded() -> None:
    stored = fraud.AlertsStored(limit=2)
    stored.remember({(1, "repeated_payments", "1:2", "2026-11-26")})
    assert (1, "repeated_payments", "1:2", "2026-11-26") in stored
    stored.remember({(1, "shared_phone", "1:2", "-"), (1, "shared_phone", "1:3", "-")})
    assert (1, "repeated_payments", "1:2", "2026-11-26") not in stored, "emptied when full"
    assert (1, "shared_phone", "1:3", "-") in stored


def test_a_round_payment_right_after_a_purchase_opens_an_alert(
    uow: UnitOfWork, world: World, shop: int
) -> None:
    wallet = world.citizen()
    buy(uow, wallet, 300_000)
    rules = FraudSettings(repeat_count=10)
    assert paid_and_checked(uow, wallet, shop, 100_000, minutes=31, rules=rules) == []
    assert paid_and_checked(uow, wallet, shop, 90_000, minutes=31, rules=rules) == []
    buy(uow, wallet, 100_000, now=NOW + 40 * MINUTE)
    assert len(paid_and_checked(uow, wallet, shop, 100_000, minutes=70, rules=rules)) == 1
    assert rules_of(uow, world) == [("round_after_purchase", "2026-11-26")]


def test_a_merchants_takings_far_above_its_usual_day_open_an_alert(
    uow: UnitOfWork, world: World, shop: int, wallet: int
) -> None:
    rules = FraudSettings(spike_ratio_percent=200, spike_baseline_days=7, spike_min_takings_won=0)
    pay(uow, wallet, shop, 70_000, now=NOW - timedelta(days=3))  # a usual day of 10,000
    pay(uow, wallet, shop, 5_000, now=NOW - timedelta(days=8))  # before the baseline
    assert paid_and_checked(uow, wallet, shop, 20_000, rules=rules) == []
    assert len(paid_and_checked(uow, wallet, shop, 1_000, minutes=1, rules=rules)) == 1
    assert rules_of(uow, world) == [("takings_spike", "2026-11-26")]
    alert = fraud.list_alerts(uow, region_id=world.region_id)[0]
    assert alert.details == {"day_takings_won": 21_000, "usual_day_won": 10_000, "baseline_days": 7}
    assert alert.citizen_id is None


def test_a_payer_who_shares_the_merchants_phone_opens_one_alert(
    uow: UnitOfWork, engine: Engine, world: World, shop: int, wallet: int
) -> None:
    with engine.begin() as connection:
        phone = connection.execute(
            select(citizens.c.phone)
            .join(wallets, wallets.c.citizen_id == citizens.c.id)
            .where(wallets.c.id == wallet)
        ).scalar_one()
        connection.execute(
            update(merchants)
            .where(merchants.c.id == shop)
            .values(phone=f"{phone[:3]}-{phone[3:7]}-{phone[7:]}")
        )
    assert len(paid_and_checked(uow, wallet, shop, 1_000)) == 1
    assert paid_and_checked(uow, wallet, shop, 1_000, minutes=60 * 24 * 2) == []
    assert rules_of(uow, world) == [("shared_phone", "-")]


def test_an_unknown_payment_cannot_be_checked(uow: UnitOfWork) -> None:
    with pytest.raises(PaymentNotFound):
        fraud.check_payment(uow, 999_999, RULES)


def test_the_batch_scan_checks_each_payment_once_and_leaves_the_youngest_for_later(
    uow: UnitOfWork, world: World, shop: int, wallet: int
) -> None:
    for minute in (0, 1, 2):
        pay(uow, wallet, shop, 10_000, now=NOW + minute * MINUTE)
    first = fraud.scan_payments(
        uow, region_id=world.region_id, settings=RULES, now=NOW + 2.5 * MINUTE
    )
    assert (first.payments_checked, len(first.alerts_opened)) == (2, 0)
    second = fraud.scan_payments(
        uow, region_id=world.region_id, settings=RULES, now=NOW + 10 * MINUTE
    )
    assert (second.payments_checked, len(second.alerts_opened)) == (1, 1)
    third = fraud.scan_payments(
        uow, region_id=world.region_id, settings=RULES, now=NOW + 20 * MINUTE
    )
    assert (third.payments_checked, third.alerts_opened) == (0, [])
    assert third.last_payment_id == second.last_payment_id


def test_holding_then_clearing_alerts_releases_the_settlement_only_when_none_is_open(
    uow: UnitOfWork, engine: Engine, world: World, shop: int, wallet: int
) -> None:
    for minute in (0, 1, 2):
        paid_and_checked(uow, wallet, shop, 10_000, minutes=minute)
    second_wallet = world.citizen()
    buy(uow, second_wallet, 200_000, now=NOW - timedelta(days=1))
    for minute in (0, 1, 2):
        paid_and_checked(uow, second_wallet, shop, 10_000, minutes=minute)
    first, second = fraud.list_alerts(uow, region_id=world.region_id)
    held = fraud.hold_settlement(uow, alert_id=first.id, now=NOW)
    assert held.status == "open"
    assert merchant_row(engine, shop) == ("active", True)
    result = settlement.settle_day(
        uow,
        region_id=world.region_id,
        business_day=date(2026, 11, 26),
        idempotency_key=unique_key(),
        now=days(1),
    )
    assert (result.held_count, result.held_won) == (1, 60_000)
    cleared = fraud.clear_alert(uow, alert_id=first.id, user_id=None, note="아는 사이", now=NOW)
    assert (cleared.status, cleared.note) == ("cleared", "아는 사이")
    assert merchant_row(engine, shop) == ("active", True), "another alert is still open"
    fraud.clear_alert(uow, alert_id=second.id, user_id=None, note=None, now=NOW)
    assert merchant_row(engine, shop) == ("active", False)
    with refused(engine, FraudAlertResolved.code):
        fraud.clear_alert(uow, alert_id=first.id, user_id=None, note=None, now=NOW)
    with refused(engine, FraudAlertResolved.code):
        fraud.hold_settlement(uow, alert_id=first.id, now=NOW)
    assert fraud.list_alerts(uow, region_id=world.region_id) == []


def test_suspending_the_merchant_closes_the_alert_and_keeps_the_hold(
    uow: UnitOfWork, engine: Engine, world: World, shop: int, wallet: int
) -> None:
    rules = FraudSettings(alert_holds_settlement=True)
    for minute in (0, 1, 2):
        paid_and_checked(uow, wallet, shop, 10_000, minutes=minute, rules=rules)
    assert merchant_row(engine, shop) == ("active", True), "the alert held the settlement"
    (alert,) = fraud.list_alerts(uow, region_id=world.region_id)
    suspended = fraud.suspend_merchant(uow, alert_id=alert.id, user_id=None, note="깡", now=NOW)
    assert suspended.status == "merchant_suspended"
    assert merchant_row(engine, shop) == ("suspended", True)
    with refused(engine, FraudAlertResolved.code):
        fraud.suspend_merchant(uow, alert_id=alert.id, user_id=None, note=None, now=NOW)
    with refused(engine, FraudAlertNotFound.code):
        fraud.clear_alert(uow, alert_id=999_999, user_id=None, note=None, now=NOW)
