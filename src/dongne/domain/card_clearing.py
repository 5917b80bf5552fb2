"""Clearing card payments: the card partner's daily file, line by line, against the
authorizations dongne gave.

Each line names an authorization by its terminal, STAN and RRN (as the network's messages
do) and the amount the merchant captured. A line is

- ``matched``: an approval, not reversed, for at least the amount cleared. When it cleared
  less than was approved, the rest goes back to the wallet (``released_won``).
- ``over_authorized``: it clears more than was approved. Flagged; only what was approved was
  ever paid, and nothing more is.
- ``unauthorized``: no approval stands behind it (none, a decline, or a reversed one).
  Flagged, never paid.

An approval (0100) that no file clears within N days is released: its money goes back to the
wallet. A financial message (0200) clears itself and is never released.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dongne.domain.errors import InvalidInput


class ClearingOutcome(StrEnum):
    MATCHED = "matched"
    OVER_AUTHORIZED = "over_authorized"
    UNAUTHORIZED = "unauthorized"


class AuthorizationClearing(StrEnum):
    """Where an approval stands with clearing."""

    OPEN = "open"
    """Approved by an 0100; waits for a clearing line."""
    CLEARED = "cleared"
    RELEASED = "released"
    """Never cleared within N days: the money went back."""
    REVERSED = "reversed"


class ClearingFileInvalid(InvalidInput):
    """A clearing file line that does not follow the documented layout."""

    code = "CLEARING_FILE_INVALID"


@dataclass(frozen=True)
class ClearingLine:
    line_number: int
    terminal_id: str
    stan: str
    rrn: str
    acceptor_id: str
    last_four: str
    amount_won: int
    currency: str
    approval_code: str


@dataclass(frozen=True)
class ClearingDecision:
    outcome: ClearingOutcome
    cleared_won: int
    """What the line settles of the approval: never more than was approved."""
    released_won: int
    """What goes back to the wallet because the merchant captured less than was approved."""


def decide(line: ClearingLine, approved_won: int | None) -> ClearingDecision:
    """A line against the approved amount of its authorization (None: no standing approval)."""
    if approved_won is None:
        return ClearingDecision(ClearingOutcome.UNAUTHORIZED, 0, 0)
    if line.amount_won > approved_won:
        return ClearingDecision(ClearingOutcome.OVER_AUTHORIZED, approved_won, 0)
    released = approved_won - line.amount_won
    return ClearingDecision(ClearingOutcome.MATCHED, line.amount_won, released)
