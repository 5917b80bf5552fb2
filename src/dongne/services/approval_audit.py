"""The audit of four-eyes approvals: who allowed each movement of public money, and which
movements no approval names (``approvals`` files and decides the requests)."""

from __future__ import annotations

from dataclasses import dataclass

from dongne.domain.approvals import ApprovalRequest, approval_digest
from dongne.domain.ledger import TransactionKind
from dongne.services.unit_of_work import UnitOfWork


def people(uow: UnitOfWork, requests: list[ApprovalRequest]) -> dict[int, str]:
    """The logins of everyone the requests name, in one read."""
    ids = {r.requested_by_user_id for r in requests}
    ids |= {r.decided_by_user_id for r in requests if r.decided_by_user_id is not None}
    return uow.governance.user_logins(ids)


@dataclass(frozen=True)
class AllowedMovement:
    """A ledger transaction an approval allowed, and who asked and who approved."""

    transaction_id: int
    transaction_kind: str
    request_id: int
    approval_kind: str
    requested_by_user_id: int
    approved_by_user_id: int
    approved_at: str
    key_matches: bool
    """Whether the key the transaction (and its leaf) carries is the one the approval's
    stored record gives: false means the approval row was altered after the fact."""
    requested_by_login: str | None = None
    approved_by_login: str | None = None


def who_allowed(uow: UnitOfWork, *, region_id: int | None = None) -> list[AllowedMovement]:
    """Every ledger transaction posted under an approval, with its initiator and approver."""
    with uow:
        approved = uow.governance.approved_requests(region_id)
        transactions = uow.governance.transactions_with_keys(
            [a.ledger_key for a in approved if a.ledger_key]
        )
        logins = people(uow, approved)
    movements = []
    for request in approved:
        if request.ledger_key is None or request.decided_by_user_id is None:
            continue
        decided_at = request.decided_at or request.requested_at
        digest = approval_digest(request, request.decided_by_user_id, decided_at)
        matches = request.ledger_key == f"approval-{request.id}-{digest}"
        movements += [
            AllowedMovement(
                transaction_id=transaction_id,
                transaction_kind=kind,
                request_id=request.id,
                approval_kind=request.kind.value,
                requested_by_user_id=request.requested_by_user_id,
                approved_by_user_id=request.decided_by_user_id,
                approved_at=decided_at.isoformat(),
                key_matches=matches,
                requested_by_login=logins.get(request.requested_by_user_id),
                approved_by_login=logins.get(request.decided_by_user_id),
            )
            for transaction_id, kind in transactions.get(request.ledger_key, [])
        ]
    return sorted(movements, key=lambda m: m.transaction_id)


PUBLIC_MONEY_KINDS = frozenset(
    {
        TransactionKind.BUDGET_FUNDING,
        TransactionKind.ALLOWANCE_FUNDING,
        TransactionKind.REWARDS_FUNDING,
        TransactionKind.ALLOWANCE_GRANT,
        TransactionKind.SETTLEMENT,
        TransactionKind.PAPER_PRINTING,
    }
)
"""The ledger transactions a governed kind of action posts: each should name an approver."""


def nobody_named(uow: UnitOfWork, *, region_id: int | None = None) -> list[tuple[int, str]]:
    """The movements of public money posted under no approval (id, kind): made by a seed,
    a scheduled job or the operator's local command line, where no person acted; or before
    approvals were recorded."""
    with uow:
        return uow.governance.transactions_without_approval(
            [kind.value for kind in PUBLIC_MONEY_KINDS], region_id
        )
