"""Policy allowance programs: creating and funding them, claiming pending grants at sign-up,
and the report per program.

A program's recipient list and its preview are in ``allowance_uploads``; disbursement and the
expiry job, which run in many transactions, are in ``allowance_disbursement`` and
``allowance_expiry``. Every use case takes the caller's
``Principal`` and asks ``domain.allowances.authorize`` once it knows the program's region, so
the API and the CLI apply the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dongne.adapters.db.ledger_store import AccountRef
from dongne.domain.access import Principal
from dongne.domain.allowances import (
    AllowanceAction,
    AllowanceProgram,
    AllowanceTerms,
    authorize,
    check_budget,
    check_terms,
    program_not_found,
)
from dongne.domain.approvals import ApprovalKind
from dongne.domain.calendar import require_aware
from dongne.domain.ledger import AccountType, Posting, TransactionKind
from dongne.domain.lots import LotKind
from dongne.services.approval_gate import direct_ledger_key
from dongne.services.idempotency import Once, run_in_transaction
from dongne.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ProgramFunded:
    program_id: int
    region_id: int
    transaction_id: int | None
    """None for a program created unfunded (``budget_won`` 0)."""
    amount_won: int
    budget_won: int


@dataclass(frozen=True)
class AllowanceReport:
    program_id: int
    name: str
    funded_won: int
    balance_won: int
    granted_count: int
    granted_won: int
    pending_count: int
    pending_won: int
    unclaimed_count: int
    unclaimed_won: int
    spent_won: int
    spent_by_category_won: dict[str, int]
    expired_won: int
    returned_won: int


def budget_accounts(uow: UnitOfWork, region_id: int, program_id: int) -> tuple[AccountRef, ...]:
    """The program's budget and the account that holds what people without a wallet are owed."""
    return (
        uow.ledger.account(region_id, AccountType.ALLOWANCE_BUDGET, program_id),
        uow.ledger.account(region_id, AccountType.ALLOWANCE_BUDGET, f"{program_id}-pending"),
    )


def create_program(
    uow: UnitOfWork,
    caller: Principal,
    *,
    region_id: int,
    terms: AllowanceTerms,
    budget_won: int,
    idempotency_key: str,
    now: datetime,
) -> ProgramFunded:
    """Create a program and fund its budget from the city, in one transaction (approvers).

    Funding is a ``budget_funding`` like any other: where the region needs a second approver
    for it, a program with a budget is refused (``APPROVAL_REQUIRED``) and is created unfunded
    (``budget_won`` 0), its budget then asked for as an approval request; where one approver
    suffices, the caller is recorded as the approver of the funding transaction."""
    authorize(caller, region_id, AllowanceAction.FUND)
    terms = check_terms(terms)
    if budget_won != 0:
        check_budget(budget_won)
    now = require_aware(now)

    def action() -> ProgramFunded:
        uow.records.region(region_id)
        records = uow.allowances
        program_id = records.add_program(region_id, terms, now)
        budget, pending = budget_accounts(uow, region_id, program_id)
        records.set_program_accounts(program_id, budget.id, pending.id)
        if not budget_won:
            return ProgramFunded(program_id, region_id, None, 0, 0)
        return _fund(
            uow,
            region_id=region_id,
            program_id=program_id,
            budget=budget,
            amount_won=budget_won,
            now=now,
            idempotency_key=_direct_key(
                uow,
                caller,
                region_id=region_id,
                program_id=program_id,
                amount_won=budget_won,
                now=now,
            ),
        )

    request = {"region_id": region_id, "terms": repr(terms), "budget_won": budget_won}
    return run_in_transaction(
        uow,
        action,
        once=Once(
            operation="create_allowance_program",
            key=idempotency_key,
            request=request,
            now=now,
            result_type=ProgramFunded,
        ),
    )


def fund_program(
    uow: UnitOfWork,
    caller: Principal,
    *,
    program_id: int,
    amount_won: int,
    idempotency_key: str,
    now: datetime,
) -> ProgramFunded:
    """Put more city money into a program's budget (approvers)."""
    check_budget(amount_won)
    now = require_aware(now)
    with uow:
        program = uow.allowances.program(program_id)
    authorize(
        caller, program.region_id, AllowanceAction.FUND, missing=program_not_found(program.id)
    )

    def action() -> ProgramFunded:
        key = _direct_key(
            uow,
            caller,
            region_id=program.region_id,
            program_id=program.id,
            amount_won=amount_won,
            now=now,
        )
        return fund_program_within(
            uow, program=program, amount_won=amount_won, idempotency_key=key, now=now
        )

    return run_in_transaction(
        uow,
        action,
        once=Once(
            operation="fund_allowance_program",
            key=idempotency_key,
            request={"program_id": program_id, "amount_won": amount_won},
            now=now,
            result_type=ProgramFunded,
        ),
    )


def _direct_key(
    uow: UnitOfWork,
    caller: Principal,
    *,
    region_id: int,
    program_id: int,
    amount_won: int,
    now: datetime,
) -> str | None:
    """The ledger key of a direct funding's approval, the caller named as its approver."""
    return direct_ledger_key(
        uow,
        region_id=region_id,
        kind=ApprovalKind.BUDGET_FUNDING,
        params={"budget": "allowance_program", "program_id": program_id, "amount_won": amount_won},
        by_user_id=caller.user_id,
        now=now,
    )


def fund_program_within(
    uow: UnitOfWork,
    *,
    program: AllowanceProgram,
    amount_won: int,
    idempotency_key: str | None,
    now: datetime,
) -> ProgramFunded:
    """``fund_program`` inside the caller's open unit of work (an approved request's)."""
    check_budget(amount_won)
    budget = uow.ledger.account_by_id(program.budget_account_id)
    return _fund(
        uow,
        region_id=program.region_id,
        program_id=program.id,
        budget=budget,
        amount_won=amount_won,
        now=now,
        idempotency_key=idempotency_key,
    )


def _fund(
    uow: UnitOfWork,
    *,
    region_id: int,
    program_id: int,
    budget: AccountRef,
    amount_won: int,
    now: datetime,
    idempotency_key: str | None = None,
) -> ProgramFunded:
    city = uow.ledger.account(region_id, AccountType.CITY_FUNDING)
    transaction_id = uow.ledger.post(
        region_id=region_id,
        kind=TransactionKind.ALLOWANCE_FUNDING,
        postings=[Posting(budget.id, amount_won), Posting(city.id, -amount_won)],
        at=now,
        idempotency_key=idempotency_key,
        accounts_by_id={budget.id: budget, city.id: city},
    )
    balance = uow.ledger.balance(budget.id)
    return ProgramFunded(program_id, region_id, transaction_id, amount_won, balance)


def get_program(uow: UnitOfWork, caller: Principal, *, program_id: int) -> AllowanceProgram:
    with uow:
        program = uow.allowances.program(program_id)
    authorize(
        caller, program.region_id, AllowanceAction.READ, missing=program_not_found(program.id)
    )
    return program


def list_programs(uow: UnitOfWork, caller: Principal, *, region_id: int) -> list[AllowanceProgram]:
    authorize(caller, region_id, AllowanceAction.READ)
    with uow:
        return uow.allowances.programs(region_id)


# -- pending grants ----------------------------------------------------------------------------


def claim_pending_grants_within(
    uow: UnitOfWork, *, citizen_id: int, region_id: int, now: datetime
) -> int:
    """Pay a citizen the grants that waited for their wallet in ``region_id``; returns how
    many. Runs inside the caller's unit of work (sign-up, opening a wallet). A grant of a
    program whose validity has ended stays for the expiry job, which returns it."""
    records = uow.allowances
    identity = records.identity_of_citizen(citizen_id)
    if identity is None:
        return 0
    grants = records.pending_grants(region_id, identity)
    if not grants:
        return 0
    wallet = uow.records.citizen_wallet(citizen_id, wallet_id=None, region_id=region_id, lock=True)
    if wallet is None:
        return 0
    programs = {g.program_id: records.program(g.program_id) for g in grants}
    claimable = [g for g in grants if now < programs[g.program_id].terms.valid_until]
    if not claimable:
        return 0
    holder = AccountRef.of(wallet.account_id, AccountType.WALLET)
    pending = {
        p.pending_account_id: uow.ledger.account_by_id(p.pending_account_id)
        for p in programs.values()
    }
    postings = [Posting(holder.id, sum(g.amount_won for g in claimable))]
    postings += [
        Posting(programs[g.program_id].pending_account_id, -g.amount_won) for g in claimable
    ]
    transaction_id = uow.ledger.post(
        region_id=region_id,
        kind=TransactionKind.ALLOWANCE_GRANT,
        postings=postings,
        at=now,
        idempotency_key=None,
        accounts_by_id={holder.id: holder, **pending},
    )
    for grant in claimable:
        program = programs[grant.program_id]
        lot_id = uow.records.add_lot(
            region_id=region_id,
            wallet_id=wallet.id,
            kind=LotKind.ALLOWANCE,
            face_won=grant.amount_won,
            paid_won=0,
            acquired_at=now,
            expires_at=program.terms.valid_until,
            transaction_id=transaction_id,
            restriction=program.restriction(),
            funder_account_id=program.budget_account_id,
        )
        records.settle_grant(
            grant.grant_id,
            status="claimed",
            transaction_id=transaction_id,
            at=now,
            wallet_id=wallet.id,
            lot_id=lot_id,
        )
    return len(claimable)


def claim_grants_left_pending(
    uow: UnitOfWork, *, citizen_id: int, region_id: int, now: datetime
) -> int:
    """After a wallet's opening committed, in a transaction of its own: claim the grants that
    allowance chunks running meanwhile left pending. Such a chunk looked for the person's
    wallet before the opening committed, and the opening's own claim
    (``claim_pending_grants_within``) looked for grants before the chunk committed, so neither
    saw the other. This first waits for every chunk granting in the region to end
    (``await_grants_written``); a chunk that starts later sees the wallet. Returns how many."""

    def attempt() -> int:
        if uow.allowances.identity_of_citizen(citizen_id) is None:
            return 0  # nobody on a list can be this person
        uow.allowances.await_grants_written(region_id)
        return claim_pending_grants_within(uow, citizen_id=citizen_id, region_id=region_id, now=now)

    return run_in_transaction(uow, attempt)


STRANDED_PER_RUN = 1_000


def claim_stranded_grants(uow: UnitOfWork, *, now: datetime) -> int:
    """Claim the grants left pending beside their person's wallet: a server that stopped
    between a wallet's opening and its second transaction (``claim_grants_left_pending``)
    leaves those a chunk running meanwhile granted. The hourly housekeeping job runs this; up
    to ``STRANDED_PER_RUN`` people a run. Returns how many grants were claimed."""
    holders = run_in_transaction(
        uow, lambda: uow.allowances.stranded_grant_holders(STRANDED_PER_RUN)
    )
    return sum(
        claim_grants_left_pending(uow, citizen_id=citizen_id, region_id=region_id, now=now)
        for citizen_id, region_id in holders
    )


# -- reports -----------------------------------------------------------------------------------


def program_report(uow: UnitOfWork, caller: Principal, *, program_id: int) -> AllowanceReport:
    """Granted, pending, spent (by merchant category), expired and returned, per program."""
    with uow:
        records = uow.allowances
        program = records.program(program_id)
        authorize(
            caller, program.region_id, AllowanceAction.READ, missing=program_not_found(program.id)
        )
        grants = records.grant_totals(program_id)
        flows = records.account_flows(program.budget_account_id)
        by_category = records.spent_by_category(program.budget_account_id)
        expired = records.expired_from_lots_won(program.budget_account_id)
        balance = uow.ledger.balance(program.budget_account_id)

    def totals(*statuses: str) -> tuple[int, int]:
        pairs = [grants.get(status, (0, 0)) for status in statuses]
        return sum(p[0] for p in pairs), sum(p[1] for p in pairs)

    granted, pending, unclaimed = (
        totals("granted", "claimed"),
        totals("pending"),
        totals("unclaimed"),
    )
    funded = flows.get(TransactionKind.ALLOWANCE_FUNDING.value, (0, 0))[0]
    returned = sum(
        credits
        for kind, (credits, _) in flows.items()
        if kind != TransactionKind.ALLOWANCE_FUNDING.value
    )
    return AllowanceReport(
        program_id=program_id,
        name=program.terms.name,
        funded_won=funded,
        balance_won=balance,
        granted_count=granted[0],
        granted_won=granted[1],
        pending_count=pending[0],
        pending_won=pending[1],
        unclaimed_count=unclaimed[0],
        unclaimed_won=unclaimed[1],
        spent_won=sum(by_category.values()),
        spent_by_category_won=by_category,
        expired_won=expired,
        returned_won=returned,
    )
