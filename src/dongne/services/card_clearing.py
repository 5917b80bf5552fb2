"""Clearing card payments: the card partner's daily file matched against the authorizations,
and approvals never cleared released after N days (the rules: ``domain.card_clearing``).

A file is cleared in chunks of ``CHUNK_LINES`` lines, each one transaction. A line is claimed
by its terminal, STAN and RRN before it moves anything, so a file run twice (or a line that
appears in two files) is cleared once; a crash loses at most the chunk in flight, and running
the file again finishes it. Money moves only back to wallets (what an approval held beyond
what was cleared, or all of it once released), through ``cancel_payment_within``: the
merchant keeps what was cleared, and the existing daily settlement pays it, because an
approval is already an ordinary payment on the ledger.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from dongne.adapters.db.card_records import AuthorizationRow
from dongne.domain.calendar import require_aware
from dongne.domain.card_clearing import (
    AuthorizationClearing,
    ClearingDecision,
    ClearingLine,
    ClearingOutcome,
    decide,
)
from dongne.domain.cards import ResponseCode
from dongne.domain.errors import InvalidInput
from dongne.services.idempotency import run_in_transaction
from dongne.services.payments import cancel_payment_within
from dongne.services.unit_of_work import UnitOfWork

CHUNK_LINES = 500
RELEASE_CHUNK = 500
RELEASE_AFTER_DAYS_DEFAULT = 7


@dataclass(frozen=True)
class ClearingReport:
    lines: int
    matched: int
    over_authorized: int
    unauthorized: int
    repeated: int
    """Lines cleared by an earlier run: nothing done again."""
    cleared_won: int
    released_won: int
    """Given back to wallets because less was cleared than approved."""
    flagged_won: int
    """Cleared without an approval behind it (or beyond it): never paid."""


@dataclass(frozen=True)
class ReleaseReport:
    released: int
    released_won: int


def clear_file(
    uow: UnitOfWork,
    *,
    file_name: str,
    lines: Sequence[ClearingLine],
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> ClearingReport:
    """Match each line of a clearing file against its authorization."""
    now = require_aware(now)
    outcomes: Counter[str] = Counter()
    sums: Counter[str] = Counter()
    for start in range(0, len(lines), CHUNK_LINES):
        chunk = lines[start : start + CHUNK_LINES]
        done = run_in_transaction(uow, partial(_clear_chunk, uow, file_name, chunk, now))
        for outcome, cleared, released, flagged in done:
            outcomes[outcome] += 1
            sums["cleared"] += cleared
            sums["released"] += released
            sums["flagged"] += flagged
        if progress is not None:
            progress(len(chunk))
    return ClearingReport(
        lines=len(lines),
        matched=outcomes[ClearingOutcome.MATCHED],
        over_authorized=outcomes[ClearingOutcome.OVER_AUTHORIZED],
        unauthorized=outcomes[ClearingOutcome.UNAUTHORIZED],
        repeated=outcomes["repeated"],
        cleared_won=sums["cleared"],
        released_won=sums["released"],
        flagged_won=sums["flagged"],
    )


def release_uncleared(
    uow: UnitOfWork, *, after_days: int = RELEASE_AFTER_DAYS_DEFAULT, now: datetime
) -> ReleaseReport:
    """Give back every approval (0100) that no clearing line has named for ``after_days``."""
    now = require_aware(now)
    if after_days < 1:
        raise InvalidInput("release after at least one day", field="after_days")
    cutoff = now - timedelta(days=after_days)
    released = released_won = 0
    while True:
        with uow:
            listed = uow.cards.open_authorizations(before=cutoff, limit=RELEASE_CHUNK)
        due = [row.id for row in listed]
        if not due:
            return ReleaseReport(released, released_won)
        for authorization_id in due:
            given_back = run_in_transaction(uow, partial(_release, uow, authorization_id, now))
            if given_back is not None:
                released += 1
                released_won += given_back


Done = tuple[str, int, int, int]
"""A line's outcome (or ``repeated``), and the won it cleared, released and flagged."""


def _clear_chunk(
    uow: UnitOfWork, file_name: str, chunk: Sequence[ClearingLine], now: datetime
) -> list[Done]:
    done: list[Done] = []
    for line in chunk:
        row = uow.cards.authorization(line.terminal_id, line.stan, line.rrn, lock=True)
        decision = decide(line, _standing_approval(row))
        line_id = uow.cards.claim_clearing_line(
            region_id=row.region_id if row else None,
            file_name=file_name[:200],
            line_number=line.line_number,
            terminal_id=line.terminal_id,
            stan=line.stan,
            rrn=line.rrn,
            acceptor_id=line.acceptor_id,
            amount_won=line.amount_won,
            authorization_id=row.id if row else None,
            outcome=decision.outcome.value,
            cleared_won=decision.cleared_won,
            released_won=decision.released_won,
            created_at=now,
        )
        if line_id is None:
            done.append(("repeated", 0, 0, 0))
            continue
        if row is not None and decision.outcome is not ClearingOutcome.UNAUTHORIZED:
            _settle_line(uow, row, decision, line_id, now)
        flagged = line.amount_won - decision.cleared_won
        done.append((decision.outcome.value, decision.cleared_won, decision.released_won, flagged))
    return done


def _standing_approval(row: AuthorizationRow | None) -> int | None:
    """The approved amount a line may clear: None without an approval still standing (none,
    a decline, one reversed or already released)."""
    if row is None or row.response_code != ResponseCode.APPROVED or row.reversed_at is not None:
        return None
    if row.clearing in {AuthorizationClearing.RELEASED, AuthorizationClearing.REVERSED}:
        return None
    return row.amount_won


def _settle_line(
    uow: UnitOfWork,
    row: AuthorizationRow,
    decision: ClearingDecision,
    line_id: int,
    now: datetime,
) -> None:
    assert row.payment_id is not None  # noqa: S101 - an approval always has its payment
    if decision.released_won:
        cancel_payment_within(
            uow,
            payment_id=row.payment_id,
            amount_won=decision.released_won,
            idempotency_key=f"card-clearing:{line_id}",
            now=now,
        )
    uow.cards.update_authorization(
        row.id, clearing=AuthorizationClearing.CLEARED.value, cleared_won=decision.cleared_won
    )


def _release(uow: UnitOfWork, authorization_id: int, now: datetime) -> int | None:
    found = uow.cards.authorization_by_id(authorization_id)
    row = found and uow.cards.authorization(found.terminal_id, found.stan, found.rrn, lock=True)
    if row is None or row.clearing is not AuthorizationClearing.OPEN or row.payment_id is None:
        return None  # cleared or reversed since it was listed
    payment = uow.records.payment(row.payment_id)
    left = payment.amount_won - payment.cancelled_won
    if left:
        cancel_payment_within(
            uow,
            payment_id=row.payment_id,
            amount_won=left,
            idempotency_key=f"card-release:{row.id}",
            now=now,
        )
    uow.cards.update_authorization(row.id, clearing=AuthorizationClearing.RELEASED.value)
    return left
