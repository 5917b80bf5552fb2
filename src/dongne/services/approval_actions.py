"""What each kind of approval request does: its parameters checked when it is filed, and the
action run in the approval's own transaction, posting with the approval's ledger key.

- ``setting_change`` (settings, effective_at, ends_at; or withdraw):
  ``program_settings.apply_change_within``;
- ``budget_funding`` (budget: discount with month, rewards, or allowance_program with
  program_id; amount_won): ``registry.fund_discount_budget_within``,
  ``walking.fund_rewards_budget_within``, ``allowances.fund_program_within``;
- ``allowance_disbursement`` (upload_id): ``start_disbursement_within``; the chunks are paid
  after the approval commits, each of their transactions with the approval's key;
- ``merchant_suspension`` (merchant_id): ``suspend_merchant_within``;
- ``settlement_release`` (business_day, fee_tiers): ``settlement.settle_day_within``;
- ``paper_print_run`` (counts: denomination to count): ``paper_printing.order_print_within``,
  the initiator named as who ordered it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from dongne.domain.allowances import AllowanceProgramNotFound, RecipientUploadNotFound
from dongne.domain.approvals import ApprovalKind, ApprovalKindUnavailable, ApprovalRequest
from dongne.domain.calendar import seoul_month
from dongne.domain.errors import InvalidInput, MerchantNotFound
from dongne.domain.money import positive_won
from dongne.domain.paper import check_print_counts
from dongne.domain.program import check_budget_month
from dongne.services import program_settings
from dongne.services.allowance_chunks import upload_subject
from dongne.services.allowance_disbursement import start_disbursement_within
from dongne.services.allowances import fund_program_within
from dongne.services.merchant_applications import suspend_merchant_within
from dongne.services.paper_printing import order_print_within
from dongne.services.registry import fund_discount_budget_within
from dongne.services.settlement import fee_tiers_from, parse_business_day, settle_day_within
from dongne.services.unit_of_work import UnitOfWork
from dongne.services.walking import fund_rewards_budget_within

Checked = tuple[dict[str, Any], str | None]
"""The parameters as they will be run, and the subject the request is about (for look-ups)."""


def check_params(
    uow: UnitOfWork, kind: ApprovalKind, region_id: int, params: Mapping[str, Any], now: datetime
) -> Checked:
    """Refuse, at filing, a request that could not run; inside the caller's transaction."""
    if kind is ApprovalKind.SETTING_CHANGE:
        return program_settings.check_change_params(uow, region_id, params, now), None
    if kind is ApprovalKind.BUDGET_FUNDING:
        return _check_funding(uow, region_id, params, now), None
    if kind is ApprovalKind.ALLOWANCE_DISBURSEMENT:
        upload_id = _integer(params, "upload_id")
        upload = _upload_in(uow, region_id, upload_id)
        return {"upload_id": upload.id}, upload_subject(upload.id)
    if kind is ApprovalKind.MERCHANT_SUSPENSION:
        merchant_id = _integer(params, "merchant_id")
        if uow.records.merchant(merchant_id).merchant.region_id != region_id:
            raise MerchantNotFound(f"no merchant {merchant_id}", merchant_id=merchant_id)
        return {"merchant_id": merchant_id}, f"merchant-{merchant_id}"
    if kind is ApprovalKind.SETTLEMENT_RELEASE:
        day = parse_business_day(str(params.get("business_day", "")))
        tiers = params.get("fee_tiers") or []
        fee_tiers_from([tuple(pair) for pair in tiers])
        return {"business_day": day.isoformat(), "fee_tiers": tiers}, f"day-{day.isoformat()}"
    if kind is ApprovalKind.PAPER_PRINT_RUN:
        counts = params.get("counts")
        if not isinstance(counts, Mapping):
            raise InvalidInput("counts maps a denomination to how many to print", field="counts")
        wanted = check_print_counts(_denominations(counts))
        uow.records.program(region_id, at=now)
        return {"counts": {str(won): count for won, count in wanted.items()}}, None
    raise ApprovalKindUnavailable("dongne does not do this kind of action", kind=kind.value)


def _denominations(counts: Mapping[Any, Any]) -> dict[int, int]:
    try:
        wanted = {int(won): count for won, count in counts.items()}
    except (TypeError, ValueError):
        raise InvalidInput("a denomination is a whole number of won", field="counts") from None
    if any(not isinstance(n, int) or isinstance(n, bool) for n in wanted.values()):
        raise InvalidInput("a count is a whole number of vouchers", field="counts")
    return wanted


def _integer(params: Mapping[str, Any], name: str) -> int:
    value = params.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidInput(f"{name} is a positive whole number", field=name)
    return value


def _upload_in(uow: UnitOfWork, region_id: int, upload_id: int) -> Any:
    try:
        upload = uow.allowances.upload(upload_id)
    except RecipientUploadNotFound:
        upload = None
    if upload is None or upload.region_id != region_id:
        raise RecipientUploadNotFound(f"no upload {upload_id}", upload_id=upload_id)
    return upload


def _check_funding(
    uow: UnitOfWork, region_id: int, params: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    amount_won = positive_won(_integer(params, "amount_won"), field="amount_won")
    budget = params.get("budget", "discount")
    if budget == "discount":
        month = params.get("month")
        if month is not None:
            check_budget_month(str(month), now)
        uow.records.program_timeline(region_id)
        return {"budget": "discount", "month": month, "amount_won": amount_won}
    if budget == "rewards":
        return {"budget": budget, "amount_won": amount_won}
    if budget == "allowance_program":
        program_id = _integer(params, "program_id")
        if uow.allowances.program(program_id).region_id != region_id:
            raise AllowanceProgramNotFound(f"no program {program_id}", program_id=program_id)
        return {"budget": budget, "program_id": program_id, "amount_won": amount_won}
    raise InvalidInput("budget is discount, rewards or allowance_program", field="budget")


Runner = Callable[[UnitOfWork, ApprovalRequest, str, int, datetime], dict[str, Any]]


def run_approved(
    uow: UnitOfWork,
    request: ApprovalRequest,
    *,
    ledger_key: str,
    approver_user_id: int,
    now: datetime,
) -> dict[str, Any]:
    """Run the approved action in the open transaction; what it did, as JSON."""
    done = _RUNNERS[request.kind](uow, request, ledger_key, approver_user_id, now)
    return {"kind": request.kind.value, **_jsonable(done)}


def _run_setting_change(
    uow: UnitOfWork, request: ApprovalRequest, key: str, approver: int, now: datetime
) -> dict[str, Any]:
    return program_settings.apply_change_within(uow, request, approver_user_id=approver, now=now)


def _run_funding(
    uow: UnitOfWork, request: ApprovalRequest, key: str, approver: int, now: datetime
) -> dict[str, Any]:
    params = request.params
    if params["budget"] == "discount":
        funded = fund_discount_budget_within(
            uow,
            region_id=request.region_id,
            amount_won=params["amount_won"],
            month=params.get("month") or seoul_month(now),
            idempotency_key=key,
            now=now,
        )
        return asdict(funded)
    if params["budget"] == "rewards":
        return asdict(
            fund_rewards_budget_within(
                uow,
                region_id=request.region_id,
                amount_won=params["amount_won"],
                idempotency_key=key,
                now=now,
            )
        )
    program = uow.allowances.program(params["program_id"])
    return asdict(
        fund_program_within(
            uow, program=program, amount_won=params["amount_won"], idempotency_key=key, now=now
        )
    )


def _run_disbursement(
    uow: UnitOfWork, request: ApprovalRequest, key: str, approver: int, now: datetime
) -> dict[str, Any]:
    upload_id = request.params["upload_id"]
    program = uow.allowances.program(uow.allowances.upload(upload_id).program_id, lock=True)
    return asdict(start_disbursement_within(uow, program, upload_id=upload_id, now=now))


def _run_suspension(
    uow: UnitOfWork, request: ApprovalRequest, key: str, approver: int, now: datetime
) -> dict[str, Any]:
    merchant_id = request.params["merchant_id"]
    status = suspend_merchant_within(uow, merchant_id=merchant_id, now=now)
    return {"merchant_id": merchant_id, "status": status.value}


def _run_print(
    uow: UnitOfWork, request: ApprovalRequest, key: str, approver: int, now: datetime
) -> dict[str, Any]:
    wanted = {int(won): count for won, count in request.params["counts"].items()}
    ordered = order_print_within(
        uow,
        region_id=request.region_id,
        wanted=wanted,
        idempotency_key=key,
        now=now,
        ordered_by=request.requested_by_user_id,
    )
    return asdict(ordered)


def _run_settlement(
    uow: UnitOfWork, request: ApprovalRequest, key: str, approver: int, now: datetime
) -> dict[str, Any]:
    params = request.params
    ran = settle_day_within(
        uow,
        region_id=request.region_id,
        business_day=parse_business_day(params["business_day"]),
        tiers=fee_tiers_from([tuple(pair) for pair in params["fee_tiers"]]),
        idempotency_key=key,
        now=now,
    )
    return asdict(ran)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


_RUNNERS: dict[ApprovalKind, Runner] = {
    ApprovalKind.SETTING_CHANGE: _run_setting_change,
    ApprovalKind.BUDGET_FUNDING: _run_funding,
    ApprovalKind.ALLOWANCE_DISBURSEMENT: _run_disbursement,
    ApprovalKind.MERCHANT_SUSPENSION: _run_suspension,
    ApprovalKind.SETTLEMENT_RELEASE: _run_settlement,
    ApprovalKind.PAPER_PRINT_RUN: _run_print,
}
