"""Paper vouchers' print runs: an official orders so many of each denomination, numbered on
from the region's last serial of the year and denomination, into the vault.

The run is one ledger transaction, ``paper_unissued`` +face and ``paper_printed`` −face, and
one row per voucher. Print orders of a region are serialized (its row is locked on
PostgreSQL) because each numbers on from the last.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dongne.domain.approvals import ApprovalKind
from dongne.domain.calendar import require_aware, seoul_day
from dongne.domain.ledger import AccountType, Posting, TransactionKind
from dongne.domain.paper import (
    SEQUENCE_MAX,
    PaperRangeInvalid,
    PaperVoucherState,
    Serial,
    check_print_counts,
)
from dongne.services.approval_gate import direct_ledger_key
from dongne.services.idempotency import Once, run_in_transaction
from dongne.services.ports import PaperStore
from dongne.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class PrintRange:
    denomination_won: int
    count: int
    first_serial: str
    last_serial: str


@dataclass(frozen=True)
class PrintOrderResult:
    print_order_id: int
    region_id: int
    voucher_count: int
    face_won: int
    valid_until: str
    transaction_id: int
    ranges: list[PrintRange]

    def __post_init__(self) -> None:
        # A stored response (a retry's answer) comes back from JSON with its ranges as dicts.
        ranges = [r if isinstance(r, PrintRange) else PrintRange(**r) for r in self.ranges]
        object.__setattr__(self, "ranges", ranges)


def order_print(
    uow: UnitOfWork,
    *,
    region_id: int,
    counts: dict[int, int],
    idempotency_key: str,
    now: datetime,
    ordered_by: int | None = None,
) -> PrintOrderResult:
    """Order a print run: ``counts`` vouchers per denomination, valid for the program's
    validity from today (Seoul). A ``paper_print_run`` under four-eyes approval: refused where
    the region needs a second approver, and ``ordered_by`` recorded as its approver."""
    now = require_aware(now)
    wanted = check_print_counts(counts)
    as_json = {str(k): v for k, v in wanted.items()}

    def action() -> PrintOrderResult:
        uow.records.region(region_id)
        approval_key = direct_ledger_key(
            uow,
            region_id=region_id,
            kind=ApprovalKind.PAPER_PRINT_RUN,
            params={"counts": as_json},
            by_user_id=ordered_by,
            now=now,
        )
        return order_print_within(
            uow,
            region_id=region_id,
            wanted=wanted,
            idempotency_key=approval_key or idempotency_key,
            now=now,
            ordered_by=ordered_by,
        )

    return run_in_transaction(
        uow,
        action,
        once=Once(
            operation="paper_print_order",
            key=idempotency_key,
            request={"region_id": region_id, "counts": as_json},
            now=now,
            result_type=PrintOrderResult,
        ),
    )


def order_print_within(
    uow: UnitOfWork,
    *,
    region_id: int,
    wanted: dict[int, int],
    idempotency_key: str,
    now: datetime,
    ordered_by: int | None,
) -> PrintOrderResult:
    """``order_print`` inside the caller's open unit of work (an approved request's, whose
    ledger key the run's transaction carries)."""
    program = uow.records.program(region_id, at=now)
    uow.paper.lock_region(region_id)
    ranges = _next_ranges(uow.paper, region_id, seoul_day(now).year, wanted)
    valid_until = seoul_day(now) + timedelta(days=program.validity_days)
    face = sum(won * count for won, count in wanted.items())
    printed = uow.ledger.account(region_id, AccountType.PAPER_PRINTED)
    unissued = uow.ledger.account(region_id, AccountType.PAPER_UNISSUED)
    transaction_id = uow.ledger.post(
        region_id=region_id,
        kind=TransactionKind.PAPER_PRINTING,
        postings=[Posting(unissued.id, face), Posting(printed.id, -face)],
        at=now,
        idempotency_key=idempotency_key,
        accounts_by_id={printed.id: printed, unissued.id: unissued},
    )
    order_id = uow.paper.add_print_order(
        region_id=region_id,
        year=seoul_day(now).year,
        counts={str(won): count for won, count in wanted.items()},
        voucher_count=sum(wanted.values()),
        face_won=face,
        valid_until=valid_until,
        ordered_by=ordered_by,
        ordered_at=now,
        transaction_id=transaction_id,
    )
    uow.paper.add_vouchers(_voucher_rows(order_id, ranges, valid_until, now))
    return PrintOrderResult(
        order_id,
        region_id,
        sum(wanted.values()),
        face,
        valid_until.isoformat(),
        transaction_id,
        [_print_range(first, last) for first, last in ranges],
    )


def _print_range(first: Serial, last: Serial) -> PrintRange:
    count = last.sequence - first.sequence + 1
    return PrintRange(first.denomination_won, count, first.text, last.text)


def _next_ranges(
    paper: PaperStore, region_id: int, year: int, wanted: dict[int, int]
) -> list[tuple[Serial, Serial]]:
    """Each denomination's first and last serial, numbered on from the last one printed."""
    ranges = []
    for won, count in wanted.items():
        start = paper.last_sequence(region_id, year, won) + 1
        if start + count - 1 > SEQUENCE_MAX:
            raise PaperRangeInvalid("this year's serials of this denomination are used up")
        first = Serial(region_id, year, won, start)
        ranges.append((first, first.with_sequence(start + count - 1)))
    return ranges


def _voucher_rows(
    order_id: int, ranges: list[tuple[Serial, Serial]], valid_until: date, now: datetime
) -> list[dict[str, object]]:
    return [
        {
            "region_id": first.region_id,
            "print_order_id": order_id,
            "serial": first.with_sequence(sequence).text,
            "year": first.year,
            "denomination_won": first.denomination_won,
            "sequence": sequence,
            "state": PaperVoucherState.UNISSUED.value,
            "valid_until": valid_until,
            "updated_at": now,
        }
        for first, last in ranges
        for sequence in range(first.sequence, last.sequence + 1)
    ]
