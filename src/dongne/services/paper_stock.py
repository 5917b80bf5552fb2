"""Paper vouchers' stock: issues to sale agents (banks), sales and destruction of ranges
(print runs are ``paper_printing``'s).

Each step is one ledger transaction, so the log has a leaf for it and the audit replays it.
The stock moves on memo accounts at face value (``paper_printed`` is minus everything
printed; ``paper_unissued``, ``paper_with_agents``, ``paper_sold`` and ``paper_destroyed``
hold what is in each state), and a sale moves money as a purchase does: the buyer pays the
price from the outside (``citizen_bank``), the month's discount budget gives the discount, and
the face value becomes the float, ``paper_circulation``, which merchants' redemptions and
wallets' exchanges draw down. A range moves whole or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dongne.adapters.db.ledger_store import AccountRef
from dongne.adapters.secrets import Secrets
from dongne.domain.access import PartnerScope
from dongne.domain.calendar import require_aware, seoul_day, seoul_month
from dongne.domain.errors import InvalidInput
from dongne.domain.ledger import AccountType, Posting, TransactionKind
from dongne.domain.paper import (
    PaperAgentNotFound,
    PaperRangeUnavailable,
    PaperVouchersNotFound,
    PaperVoucherState,
    SerialRange,
    check_buyer_limit,
)
from dongne.domain.program import PurchaseTerms
from dongne.services.idempotency import Once, run_in_transaction
from dongne.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class RangeMoveResult:
    """What an issue, a sale or a destruction moved."""

    movement_id: int
    kind: str
    region_id: int
    first_serial: str
    last_serial: str
    voucher_count: int
    face_won: int
    paid_won: int
    bonus_won: int
    transaction_id: int


def _accounts(uow: UnitOfWork, region_id: int, *types: AccountType) -> list[AccountRef]:
    return [uow.ledger.account(region_id, account_type) for account_type in types]


def _agent_stock(uow: UnitOfWork, region_id: int, agent_id: int) -> AccountRef:
    return uow.ledger.account(region_id, AccountType.PAPER_WITH_AGENTS, agent_id)


def _check_agent(uow: UnitOfWork, region_id: int, agent_id: int) -> None:
    """A sale agent is a partner of the region whose key may sell paper vouchers."""
    partner = uow.access.partner(agent_id)
    if (
        partner is None
        or partner.region_id != region_id
        or PartnerScope.PAPER_SALES.value not in partner.scopes
    ):
        raise PaperAgentNotFound(f"no sale agent {agent_id} in this region", agent_id=agent_id)


def _range_in_region(serials: SerialRange, region_id: int) -> None:
    """A range of another region is refused as one that does not exist here."""
    if serials.first.region_id != region_id:
        raise PaperVouchersNotFound("no such vouchers in this region")


def _moved_all(moved: int, serials: SerialRange, wanted: str) -> None:
    if moved != serials.count:
        raise PaperRangeUnavailable(
            f"only {moved} of the {serials.count} vouchers in this range are {wanted}:"
            " nothing was moved",
            available=moved,
            count=serials.count,
        )


def _result(  # noqa: PLR0917 - one module's helper, in order
    movement_id: int,
    kind: str,
    serials: SerialRange,
    transaction_id: int,
    paid: int = 0,
    bonus: int = 0,
) -> RangeMoveResult:
    return RangeMoveResult(
        movement_id,
        kind,
        serials.first.region_id,
        serials.first.text,
        serials.last.text,
        serials.count,
        serials.face_won,
        paid,
        bonus,
        transaction_id,
    )


def issue_to_agent(
    uow: UnitOfWork,
    *,
    region_id: int,
    agent_id: int,
    serials: SerialRange,
    idempotency_key: str,
    now: datetime,
) -> RangeMoveResult:
    """Hand a range from the vault to a sale agent."""
    now = require_aware(now)
    _range_in_region(serials, region_id)

    def action() -> RangeMoveResult:
        _check_agent(uow, region_id, agent_id)
        moved = uow.paper.move_range(
            serials,
            leaving=[PaperVoucherState.UNISSUED],
            to=PaperVoucherState.WITH_AGENT,
            at=now,
            agent_id=agent_id,
        )
        _moved_all(moved, serials, "in the vault")
        unissued = uow.ledger.account(region_id, AccountType.PAPER_UNISSUED)
        agent = _agent_stock(uow, region_id, agent_id)
        face = serials.face_won
        transaction_id = uow.ledger.post(
            region_id=region_id,
            kind=TransactionKind.PAPER_ISSUE,
            postings=[Posting(agent.id, face), Posting(unissued.id, -face)],
            at=now,
            idempotency_key=idempotency_key,
            accounts_by_id={agent.id: agent, unissued.id: unissued},
        )
        movement_id = _add_movement(uow, "issue", serials, agent_id, transaction_id, now)
        return _result(movement_id, "issue", serials, transaction_id)

    return run_in_transaction(
        uow,
        action,
        once=_once("paper_issue", idempotency_key, region_id, serials, now, agent_id=agent_id),
    )


def _add_movement(  # noqa: PLR0917 - one module's helper, in order
    uow: UnitOfWork,
    kind: str,
    serials: SerialRange,
    agent_id: int | None,
    transaction_id: int,
    now: datetime,
    *,
    paid_won: int = 0,
    bonus_won: int = 0,
    buyer_hmac: str | None = None,
) -> int:
    return uow.paper.add_movement(
        region_id=serials.first.region_id,
        kind=kind,
        partner_id=agent_id,
        first_serial=serials.first.text,
        last_serial=serials.last.text,
        voucher_count=serials.count,
        face_won=serials.face_won,
        paid_won=paid_won,
        bonus_won=bonus_won,
        buyer_hmac=buyer_hmac,
        month=seoul_month(now),
        created_at=now,
        transaction_id=transaction_id,
    )


def _once(
    operation: str,
    key: str,
    region_id: int,
    serials: SerialRange,
    now: datetime,
    **more: object,
) -> Once[RangeMoveResult]:
    request = {
        "region_id": region_id,
        "first": serials.first.text,
        "last": serials.last.text,
        **more,
    }
    return Once(operation=operation, key=key, request=request, now=now, result_type=RangeMoveResult)


def sell(
    uow: UnitOfWork,
    secrets: Secrets,
    *,
    agent_id: int,
    region_id: int,
    serials: SerialRange,
    buyer_identity: str | None,
    idempotency_key: str,
    now: datetime,
) -> RangeMoveResult:
    """A sale agent sells a range (or one voucher) it holds, at the program's discount.

    An identified buyer (``buyer_identity``, a resident registration number, kept only as its
    HMAC) may buy up to the program's monthly purchase limit on paper."""
    now = require_aware(now)
    _range_in_region(serials, region_id)
    buyer_hmac = None
    if buyer_identity is not None:
        if not buyer_identity.strip():
            raise InvalidInput("a buyer's identity number is not empty", field="buyer_identity")
        buyer_hmac = secrets.identity_digest(buyer_identity)

    def action() -> RangeMoveResult:
        _check_agent(uow, region_id, agent_id)
        terms, budget = _sale_terms(uow, region_id, serials.face_won, buyer_hmac, now)
        moved = uow.paper.move_range(
            serials,
            leaving=[PaperVoucherState.WITH_AGENT],
            held_by=agent_id,
            to=PaperVoucherState.SOLD,
            at=now,
        )
        _moved_all(moved, serials, "with this agent, unsold")
        face = serials.face_won
        agent = _agent_stock(uow, region_id, agent_id)
        sold, float_, buyers = _accounts(
            uow,
            region_id,
            AccountType.PAPER_SOLD,
            AccountType.PAPER_CIRCULATION,
            AccountType.CITIZEN_BANK,
        )
        transaction_id = uow.ledger.post(
            region_id=region_id,
            kind=TransactionKind.PAPER_SALE,
            postings=[
                Posting(agent.id, -face),
                Posting(sold.id, face),
                Posting(float_.id, face),
                Posting(buyers.id, -terms.paid_won),
                Posting(budget.id, -terms.bonus_won),
            ],
            at=now,
            idempotency_key=idempotency_key,
            accounts_by_id={a.id: a for a in (agent, sold, float_, buyers, budget)},
            budget_draw=(budget, terms.bonus_won),
        )
        sale_id = _add_movement(
            uow,
            "sale",
            serials,
            agent_id,
            transaction_id,
            now,
            paid_won=terms.paid_won,
            bonus_won=terms.bonus_won,
            buyer_hmac=buyer_hmac,
        )
        uow.paper.mark_sold_by(serials, sale_id)
        return _result(sale_id, "sale", serials, transaction_id, terms.paid_won, terms.bonus_won)

    return run_in_transaction(
        uow,
        action,
        once=_once(
            "paper_sale",
            idempotency_key,
            region_id,
            serials,
            now,
            agent_id=agent_id,
            buyer=buyer_hmac,
        ),
    )


def _sale_terms(
    uow: UnitOfWork, region_id: int, face_won: int, buyer_hmac: str | None, now: datetime
) -> tuple[PurchaseTerms, AccountRef]:
    """The price and discount, as for a mobile purchase that day, and the month's budget the
    discount comes from; an identified buyer's monthly limit is checked first."""
    program = uow.records.program(region_id, at=now)
    day, month = seoul_day(now), seoul_month(now)
    if buyer_hmac is not None:
        check_buyer_limit(
            face_won,
            bought_this_month_won=uow.paper.bought_won(buyer_hmac, month),
            monthly_limit_won=program.monthly_purchase_limit_won,
        )
    budget = uow.ledger.account(region_id, AccountType.DISCOUNT_BUDGET, month)
    wanted_bonus = program.discount_bonus_won(face_won, day)
    # Read without locking: the draw declared with the posting is made at commit.
    covered = wanted_bonus > 0 and uow.ledger.balance(budget.id) >= wanted_bonus
    return program.purchase_terms(face_won, day, budget_covers_bonus=covered), budget


def destroy(
    uow: UnitOfWork,
    *,
    region_id: int,
    serials: SerialRange,
    idempotency_key: str,
    now: datetime,
    agent_id: int | None = None,
) -> RangeMoveResult:
    """Destroy an unsold range: from the vault, or returned by ``agent_id``. A destroyed
    voucher is refused everywhere from now on."""
    now = require_aware(now)
    _range_in_region(serials, region_id)

    def action() -> RangeMoveResult:
        if agent_id is None:
            source = uow.ledger.account(region_id, AccountType.PAPER_UNISSUED)
            leaving = [PaperVoucherState.UNISSUED]
        else:
            _check_agent(uow, region_id, agent_id)
            source = _agent_stock(uow, region_id, agent_id)
            leaving = [PaperVoucherState.WITH_AGENT]
        moved = uow.paper.move_range(
            serials, leaving=leaving, held_by=agent_id, to=PaperVoucherState.DESTROYED, at=now
        )
        where = "in the vault" if agent_id is None else "with the agent"
        _moved_all(moved, serials, f"unsold {where}")
        destroyed = uow.ledger.account(region_id, AccountType.PAPER_DESTROYED)
        face = serials.face_won
        transaction_id = uow.ledger.post(
            region_id=region_id,
            kind=TransactionKind.PAPER_DESTRUCTION,
            postings=[Posting(destroyed.id, face), Posting(source.id, -face)],
            at=now,
            idempotency_key=idempotency_key,
            accounts_by_id={destroyed.id: destroyed, source.id: source},
        )
        movement_id = _add_movement(uow, "destruction", serials, agent_id, transaction_id, now)
        return _result(movement_id, "destruction", serials, transaction_id)

    return run_in_transaction(
        uow,
        action,
        once=_once(
            "paper_destruction", idempotency_key, region_id, serials, now, agent_id=agent_id
        ),
    )
