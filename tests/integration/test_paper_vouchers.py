"""Paper vouchers on SQLite and PostgreSQL: printing, issuing, selling at the discount,
redeeming in the counter's order of checks, exchange, destruction, settlement and the audit."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from dongne.adapters.db.ledger_tables import ledger_transactions
from dongne.adapters.db.paper_tables import paper_vouchers
from dongne.adapters.db.tables import merchants
from dongne.domain.calendar import SEOUL
from dongne.domain.errors import DongneError, MerchantNotEligible
from dongne.domain.paper import (
    PaperBuyerLimitExceeded,
    PaperCheckDigitWrong,
    PaperRangeUnavailable,
    PaperSecurityCodeWrong,
    PaperVoucherAlreadyExchanged,
    PaperVoucherAlreadyRedeemed,
    PaperVoucherDestroyed,
    PaperVoucherExpired,
    PaperVoucherNotSold,
    PaperVoucherOtherRegion,
    Serial,
    SerialRange,
    damm_check_digit,
)
from dongne.services import paper_reports, read_models, settlement, settlement_reports
from dongne.services.audit import audit
from dongne.services.log import sequence_pending, sign_checkpoint
from dongne.services.unit_of_work import UnitOfWork
from dongne.tlog.note import Signer, Verifier, generate_key
from tests.conftest import NOW
from tests.factories import World, unique_key
from tests.paper_factories import PaperWorld, one

DAY = date(2026, 11, 26)


@pytest.fixture
def paper(world: World) -> PaperWorld:
    world.fund(1_000_000)
    return PaperWorld(world)


def stock(paper: PaperWorld) -> dict[str, tuple[int, int]]:
    report = paper_reports.stock_report(paper.world.uow, region_id=paper.region_id)
    assert report.balances
    return {state: (t.count, t.face_won) for state, t in report.by_state.items()}


def sound(uow: UnitOfWork) -> None:
    assert read_models.ledger_problems(uow) == []


def refused(error: type[DongneError], action: Any, *args: Any) -> DongneError:
    with pytest.raises(error) as caught:
        action(*args)
    return caught.value


def test_a_print_run_numbers_each_denomination_on_and_puts_it_in_the_vault(
    paper: PaperWorld,
) -> None:
    first = paper.print({10_000: 3, 50_000: 2})
    second = paper.print({10_000: 2})
    assert (first.voucher_count, first.face_won) == (5, 130_000)
    assert [s.sequence for s in paper.printed[10_000]] == [1, 2, 3, 4, 5]
    assert second.ranges[0].first_serial == paper.printed[10_000][3].text
    assert stock(paper)["unissued"] == (7, 150_000)
    sound(paper.world.uow)


def test_a_sale_moves_the_float_at_the_programs_discount_from_the_months_budget(
    paper: PaperWorld,
) -> None:
    paper.print({10_000: 10})
    serials = SerialRange(paper.printed[10_000][0], paper.printed[10_000][9])
    paper.issue(serials)
    assert stock(paper)["with_agent"] == (10, 100_000)
    sold = paper.sell(SerialRange(paper.printed[10_000][0], paper.printed[10_000][3]))
    assert (sold.face_won, sold.paid_won, sold.bonus_won) == (40_000, 36_000, 4_000)
    totals = read_models.account_totals(paper.world.uow, region_id=paper.region_id)
    assert totals["paper_circulation"] == 40_000
    assert totals["discount_budget"] == 1_000_000 - 4_000
    assert stock(paper)["sold"] == (4, 40_000)
    sound(paper.world.uow)


def test_a_range_moves_whole_or_not_at_all(paper: PaperWorld) -> None:
    paper.print({5_000: 5})
    serials = paper.printed[5_000]
    paper.issue(SerialRange(serials[2], serials[2]))
    before = stock(paper)
    error = refused(PaperRangeUnavailable, paper.issue, SerialRange(serials[0], serials[4]))
    assert error.details == {"available": 4, "count": 5}
    other_agent = paper.new_agent("신한")
    refused(PaperRangeUnavailable, lambda: paper.sell(one(serials[2]), agent_id=other_agent))
    assert stock(paper) == before
    sound(paper.world.uow)


def test_an_identified_buyer_may_buy_up_to_the_monthly_limit(paper: PaperWorld) -> None:
    paper.print({50_000: 15})
    serials = paper.printed[50_000]
    paper.issue(SerialRange(serials[0], serials[14]))
    paper.sell(SerialRange(serials[0], serials[13]), buyer="900101-1234567")  # 700,000
    error = refused(
        PaperBuyerLimitExceeded, lambda: paper.sell(one(serials[14]), buyer="9001011234567")
    )
    assert error.details == {"limit_won": 700_000, "used_won": 700_000}
    paper.sell(one(serials[14]))  # an anonymous buyer has no limit to count
    sound(paper.world.uow)


def test_a_merchant_redeems_a_sold_voucher_once_into_its_payable(paper: PaperWorld) -> None:
    serial = paper.sold_voucher(50_000)
    shop = paper.world.merchant()
    redeemed = paper.redeem(shop, paper.code(serial), key="counter-1")
    assert (redeemed.amount_won, redeemed.serial) == (50_000, serial.text)
    assert paper.redeem(shop, paper.code(serial), key="counter-1") == redeemed  # a retry
    error = refused(PaperVoucherAlreadyRedeemed, paper.redeem, shop, paper.code(serial))
    assert error.details["step"] == 7
    assert stock(paper)["redeemed"] == (1, 50_000)
    totals = read_models.account_totals(paper.world.uow, region_id=paper.region_id)
    assert totals["paper_circulation"] == 0
    sound(paper.world.uow)


def _with_check_digit(body: str) -> str:
    return body + str(damm_check_digit(body))


def test_each_forgery_or_misuse_is_refused_with_its_reason_and_changes_nothing(
    paper: PaperWorld, uow: UnitOfWork, engine: Engine
) -> None:
    sold = paper.sold_voucher(10_000)
    shop = paper.world.merchant()
    paper.print({10_000: 2})
    unsold, destroyed = paper.printed[10_000][-2:]
    paper.destroy(one(destroyed))
    elsewhere = PaperWorld(World(uow, NOW))
    elsewhere.world.fund(100_000)
    foreign = elsewhere.sold_voucher(10_000)
    before = stock(paper)
    code = paper.code(sold)
    forged_serial = Serial(paper.region_id, 2026, 10_000, 4_321)
    altered = code[:6] + "3" + code[7:]  # 10,000 → 50,000, check digit left as it was
    re_checked = _with_check_digit(code[:6] + "3" + code[7:14]) + code[15:]
    cases: list[tuple[type[DongneError], str, int]] = [
        (PaperSecurityCodeWrong, forged_serial.text + "1234567890", 2),
        (PaperCheckDigitWrong, altered, 1),
        (PaperSecurityCodeWrong, re_checked, 2),
        (PaperSecurityCodeWrong, code[:15] + f"{(int(code[15:]) + 1) % 10**10:010d}", 2),
        (PaperVoucherNotSold, paper.code(unsold), 3),
        (PaperVoucherDestroyed, paper.code(destroyed), 3),
        (PaperVoucherOtherRegion, elsewhere.code(foreign), 4),
    ]
    for error_type, presented, step in cases:
        error = refused(error_type, paper.redeem, shop, presented)
        assert error.details["step"] == step, (error_type, error.details)
    assert stock(paper) == before
    sound(uow)


def test_an_expired_voucher_and_an_ineligible_merchant_are_refused_in_order(
    paper: PaperWorld, engine: Engine
) -> None:
    serial = paper.sold_voucher(5_000)
    mart = paper.world.merchant(category="large_mart")
    error = refused(MerchantNotEligible, paper.redeem, mart, paper.code(serial))
    assert error.details == {"reason": "excluded_category", "step": 6}
    big = paper.world.merchant(annual_revenue_won=3_000_000_001)
    assert refused(MerchantNotEligible, paper.redeem, big, paper.code(serial)).details == {
        "reason": "revenue_cap",
        "step": 6,
    }
    with engine.begin() as connection:
        connection.execute(
            update(paper_vouchers)
            .where(paper_vouchers.c.serial == serial.text)
            .values(valid_until=DAY - timedelta(days=1))
        )
    # Validity (5) comes before the merchant (6): the mart hears the voucher expired.
    refused(PaperVoucherExpired, paper.redeem, mart, paper.code(serial))


def test_an_exchange_turns_paper_into_a_purchased_lot_once_and_one_way(
    paper: PaperWorld,
) -> None:
    serial = paper.sold_voucher(10_000)
    wallet = paper.world.citizen()
    exchanged = paper.exchange(wallet, paper.code(serial))
    assert (exchanged.amount_won, exchanged.paid_won) == (10_000, 9_000)
    balance = read_models.wallet_balance(paper.world.uow, wallet_id=wallet, now=NOW)
    assert balance.by_kind_won["purchased"] == 10_000
    refused(PaperVoucherAlreadyExchanged, paper.exchange, wallet, paper.code(serial))
    refused(PaperVoucherAlreadyExchanged, paper.redeem, paper.world.merchant(), paper.code(serial))
    assert stock(paper)["exchanged"] == (1, 10_000)
    sound(paper.world.uow)


def test_destroyed_stock_from_the_vault_or_an_agent_is_refused_forever(
    paper: PaperWorld,
) -> None:
    paper.print({10_000: 4})
    serials = paper.printed[10_000]
    paper.issue(SerialRange(serials[2], serials[3]))
    paper.destroy(SerialRange(serials[0], serials[1]))
    paper.destroy(SerialRange(serials[2], serials[3]), agent_id=paper.agent_id)
    assert stock(paper)["destroyed"] == (4, 40_000)
    refused(PaperRangeUnavailable, paper.issue, one(serials[0]))
    refused(PaperRangeUnavailable, paper.sell, one(serials[3]))
    refused(PaperRangeUnavailable, paper.destroy, one(serials[0]))
    sound(paper.world.uow)


def test_redeemed_paper_joins_the_merchants_daily_settlement(
    paper: PaperWorld, engine: Engine
) -> None:
    shop = paper.world.merchant()
    with engine.begin() as connection:
        connection.execute(
            update(merchants)
            .where(merchants.c.id == shop)
            .values(bank_code="004", bank_account_number="100212345678", bank_account_holder="김")
        )
    paper.redeem(shop, paper.code(paper.sold_voucher(50_000)))
    paper.redeem(shop, paper.code(paper.sold_voucher(10_000)))
    run = settlement.settle_day(
        paper.world.uow,
        region_id=paper.region_id,
        business_day=DAY,
        idempotency_key=unique_key("settle"),
        now=datetime.combine(DAY + timedelta(days=1), time(12), tzinfo=SEOUL),
    )
    assert run.transfer_won == 60_000
    (line,) = settlement_reports.merchant_statements(paper.world.uow, merchant_id=shop)
    assert (line.payment_count, line.takings_won, line.transfer_won) == (2, 60_000, 60_000)
    reconciled = settlement_reports.reconcile(
        paper.world.uow, region_id=paper.region_id, business_day=DAY
    )
    assert reconciled.problems == []
    sound(paper.world.uow)


def test_dongne_check_finds_stock_that_does_not_add_up(paper: PaperWorld, engine: Engine) -> None:
    serial = paper.sold_voucher(10_000)
    with engine.begin() as connection:
        connection.execute(
            update(paper_vouchers)
            .where(paper_vouchers.c.serial == serial.text)
            .values(state="unissued")
        )
    problems = read_models.ledger_problems(paper.world.uow)
    assert any("paper_unissued" in p for p in problems), problems
    assert any("paper_circulation" in p for p in problems), problems


def test_every_paper_movement_is_a_leaf_of_the_log_and_the_audit_passes(
    paper: PaperWorld, uow: UnitOfWork, engine: Engine
) -> None:
    serials = [paper.sold_voucher(10_000) for _ in range(3)]
    paper.redeem(paper.world.merchant(), paper.code(serials[0]))
    paper.exchange(paper.world.citizen(), paper.code(serials[1]))
    paper.print({5_000: 2})
    paper.destroy(SerialRange(*paper.printed[5_000]))
    signer = Signer.from_key(generate_key("paper.dongne.localhost/log")[0])
    sequence_pending(uow, now=NOW)
    checkpoint = sign_checkpoint(uow, signer=signer, now=NOW)
    assert checkpoint is not None
    report = audit(uow, log_key=Verifier.from_key(signer.verifier_key))
    assert report.passed, report.findings
    with engine.connect() as connection:
        kinds = Counter(connection.execute(select(ledger_transactions.c.kind)).scalars())
    assert report.leaves_checked == sum(kinds.values())
    assert {kind: n for kind, n in kinds.items() if kind.startswith("paper_")} == {
        "paper_printing": 4,
        "paper_issue": 3,
        "paper_sale": 3,
        "paper_redemption": 1,
        "paper_exchange": 1,
        "paper_destruction": 1,
    }
