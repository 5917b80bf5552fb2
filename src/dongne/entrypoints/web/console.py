"""The city console (desktop): what an official of a region sees and does. This module holds
what the console's pages share and its first two pages: the dashboard (``/console``) and
the voucher program's settings (``/console/program``).

Every page is for officials only (``pages.official_of``; anyone else is sent to log in) and
shows the official's own region. Reading takes any official role; acting takes the role the
API asks for (``Principal.official``), and too low a role is a 403 page. An id of another
region's application or alert is a 404 page, as one that does not exist.

Every table can be downloaded as CSV (``csv_download``): the dashboard's under
``/console/<table>.csv``, a page's one table by ``?format=csv``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dongne.domain.access import Forbidden, OfficialRole, Principal
from dongne.domain.approvals import ApprovalStatus
from dongne.domain.money import BASIS_POINTS
from dongne.domain.program import BonusMode, VoucherProgram
from dongne.domain.sale_queue import SaleQueuePolicy
from dongne.entrypoints.web import pages
from dongne.entrypoints.web.console_charts import bar_chart
from dongne.entrypoints.web.csv_download import csv_response
from dongne.entrypoints.web.i18n import Speaker
from dongne.entrypoints.web.pages import application, now, official_of, render, speaker_of
from dongne.services import approvals, console_reads, sale_queue
from dongne.services import program_settings as dated_settings
from dongne.services.console_reads import Dashboard

router = APIRouter(include_in_schema=False, route_class=pages.WebRoute)

DAY_LABEL_EVERY = 7
"""The daily chart labels today and every seventh day before it, so labels never overlap."""


def official_region(request: Request) -> tuple[Principal, int]:
    """The signed-in official and their region."""
    caller = official_of(request)
    if caller.region_id is None:  # an official always has a region; never trust a None
        raise pages.LoginRequired
    return caller, caller.region_id


def may(caller: Principal, region_id: int, role: OfficialRole) -> bool:
    """Whether the official's role allows ``role``'s actions, by the rule the actions check:
    a page offers only the buttons its reader may press (a pressed one is checked again)."""
    try:
        caller.official(region_id, at_least=role)
    except Forbidden:
        return False
    return True


def console_page(
    request: Request,
    template: str,
    section: str,
    caller: Principal,
    context: Mapping[str, Any],
    *,
    status: int = 200,
) -> Response:
    return render(
        request, template, {"section": section, **context}, status=status, principal=caller
    )


def percent(rate_bp: int) -> str:
    """Basis points as a percentage: 1,000 is 10%, 1,250 is 12.5%."""
    return f"{rate_bp / (BASIS_POINTS / 100):g}%"


# The dashboard ---------------------------------------------------------------------------


@router.get("/console")
def dashboard_page(request: Request) -> Response:
    caller, region_id = official_region(request)
    shown = console_reads.dashboard(application(request).reader(), region_id=region_id, now=now())
    speaker = speaker_of(request)
    categories = [(group.key, group.amount_won) for group in shown.by_category]
    days = [(day.day.strftime("%m-%d"), day.amount_won) for day in shown.by_day]
    context = {
        "dashboard": shown,
        "category_chart": bar_chart(categories),
        "day_chart": bar_chart(days, label_every=DAY_LABEL_EVERY),
        "budget_left_won": max(shown.budget.balance_won, 0),
        "speaker": speaker,
    }
    return console_page(request, "console_dashboard.html", "dashboard", caller, context)


@router.get("/console/figures.csv")
def figures_csv(request: Request) -> Response:
    _, shown, speaker = _dashboard_for_download(request)
    rows = [
        (speaker.gettext("Vouchers sold"), shown.totals.sold_won),
        (speaker.gettext("Vouchers spent"), shown.totals.spent_won),
        (speaker.gettext("Vouchers outstanding"), shown.totals.outstanding_won),
        (speaker.gettext("Discount budget funded this month"), shown.budget.funded_won),
        (speaker.gettext("Discount budget used this month"), shown.budget_used_won),
        (speaker.gettext("Active merchants"), shown.participation.active_merchants),
        (speaker.gettext("Citizens with a wallet here"), shown.participation.wallets),
        (
            speaker.gettext("Citizens who paid in the last 30 days"),
            shown.participation.paying_wallets,
        ),
    ]
    header = (speaker.gettext("Figure"), speaker.gettext("Value"))
    return csv_response(f"dongne-figures-{shown.last_day}.csv", header, rows)


@router.get("/console/payments-by-category.csv")
def categories_csv(request: Request) -> Response:
    _, shown, speaker = _dashboard_for_download(request)
    header = (
        speaker.gettext("Category"),
        speaker.gettext("Payments"),
        speaker.gettext("Amount (won)"),
    )
    rows = [(group.key, group.count, group.amount_won) for group in shown.by_category]
    return csv_response(f"dongne-payments-by-category-{shown.last_day}.csv", header, rows)


@router.get("/console/payments-by-day.csv")
def days_csv(request: Request) -> Response:
    _, shown, speaker = _dashboard_for_download(request)
    header = (speaker.gettext("Day"), speaker.gettext("Payments"), speaker.gettext("Amount (won)"))
    rows = [(day.day.isoformat(), day.count, day.amount_won) for day in shown.by_day]
    return csv_response(f"dongne-payments-by-day-{shown.last_day}.csv", header, rows)


def _dashboard_for_download(request: Request) -> tuple[Principal, Dashboard, Speaker]:
    caller, region_id = official_region(request)
    shown = console_reads.dashboard(application(request).reader(), region_id=region_id, now=now())
    return caller, shown, speaker_of(request)


# The voucher program ---------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One line of the program page: the setting's name (a message id) and its value shown."""

    label: str
    value: str


PROGRAM_LABELS = (
    "Brand name",
    "Bonus",
    "Discount rate",
    "Promotions",
    "Purchase unit",
    "Monthly purchase limit",
    "Annual purchase limit",
    "Holding limit",
    "Residents only",
    "Largest single payment",
    "Validity",
    "Balance refund from",
    "Purchase cancellation window",
    "Gifts sent per month",
    "Gifts received per month",
    "When the discount budget runs out",
    "Cashback cap per month",
    "Merchant revenue cap",
    "Categories excluded",
    "Sale queue",
)


def program_settings(
    program: VoucherProgram, queue: SaleQueuePolicy, speaker: Speaker
) -> list[Setting]:
    """The program's settings as the page and its CSV show them."""
    _, won = speaker.gettext, speaker.won

    def optional_won(amount: int | None) -> str:
        return _("No limit") if amount is None else won(amount)

    promotions = ", ".join(
        f"{window.starts_on}–{window.ends_on} {percent(window.rate_bp)}"
        for window in program.rate_windows
    )
    queue_shown = (
        _(
            "%(rate)s buyers a second in the first %(days)s days of a month",
            rate=f"{queue.admissions_per_second:g}",
            days=queue.month_start_days,
        )
        if queue.is_on
        else _("Off")
    )
    values = (
        program.brand_name,
        _("bonus:" + program.bonus_mode.value),
        percent(program.base_rate_bp) if program.bonus_mode is BonusMode.DISCOUNT else _("None"),
        promotions or _("None"),
        won(program.purchase_unit_won),
        won(program.monthly_purchase_limit_won),
        optional_won(program.annual_purchase_limit_won),
        won(program.holding_limit_won),
        _("Yes") if program.residents_only else _("No"),
        optional_won(program.max_single_payment_won),
        _("%(days)s days", days=program.validity_days),
        _("%(percent)s spent", percent=percent(program.refund_threshold_bp)),
        _("%(days)s days", days=program.cancellation_window_days),
        won(program.gift_monthly_send_limit_won),
        won(program.gift_monthly_receive_limit_won),
        _("budget:" + program.budget_exhausted_policy.value),
        won(program.cashback_monthly_cap_won),
        won(program.revenue_cap_won),
        ", ".join(sorted(program.excluded_categories)) or _("None"),
        queue_shown,
    )
    return [Setting(label, value) for label, value in zip(PROGRAM_LABELS, values, strict=True)]


@router.get("/console/program")
def program_page(request: Request, format: str = "") -> Response:
    caller, region_id = official_region(request)
    app = application(request)
    speaker = speaker_of(request)
    program = console_reads.voucher_program(app.reader(), region_id=region_id, at=now())
    settings = program_settings(program, sale_queue.sale_queue_policy(app.settings), speaker)
    if format == "csv":
        header = (speaker.gettext("Setting"), speaker.gettext("Value"))
        rows: Sequence[tuple[str, str]] = [
            (speaker.gettext(setting.label), setting.value) for setting in settings
        ]
        return csv_response("dongne-voucher-program.csv", header, rows)
    at = now()
    timeline = dated_settings.program_timeline(app.reader(), region_id=region_id, now=at)
    pending = approvals.list_requests(
        app.reader(), caller, region_id=region_id, status=ApprovalStatus.PENDING, now=at
    )
    context = {
        "program": program,
        "settings": settings,
        "changes": [shown_change(entry, speaker) for entry in timeline.entries],
        "pending": [shown_request(request, speaker) for request in pending],
    }
    return console_page(request, "console_program.html", "program", caller, context)


@dataclass(frozen=True)
class ShownChange:
    """One dated change of the program as its timeline table shows it."""

    change_id: int
    effective_at: str
    ends_at: str
    state: str
    settings: str
    reason: str


def shown_settings(settings: Mapping[str, Any]) -> str:
    return ", ".join(f"{name} = {value}" for name, value in sorted(settings.items()))


def shown_change(entry: dated_settings.TimelineEntry, speaker: Speaker) -> ShownChange:
    return ShownChange(
        change_id=entry.change_id,
        effective_at=speaker.when(entry.effective_at),
        ends_at=speaker.when(entry.ends_at) if entry.ends_at else "",
        state="change:" + entry.state,
        settings=shown_settings(entry.settings),
        reason=entry.reason,
    )


@dataclass(frozen=True)
class ShownRequest:
    """One approval request waiting for an approver, as the program page lists it."""

    request_id: int
    kind: str
    requested_by_user_id: int
    requested_by: str
    """The person, by login, with their user id: ``gp-kim (#12)``."""
    requested_at: str
    expires_at: str
    reason: str


def person(login: str | None, user_id: int) -> str:
    return f"{login} (#{user_id})" if login else f"#{user_id}"


def shown_request(request: approvals.ApprovalView, speaker: Speaker) -> ShownRequest:
    return ShownRequest(
        request_id=request.id,
        kind="approval:" + request.kind,
        requested_by_user_id=request.requested_by_user_id,
        requested_by=person(request.requested_by_login, request.requested_by_user_id),
        requested_at=speaker.when(datetime.fromisoformat(request.requested_at)),
        expires_at=speaker.when(datetime.fromisoformat(request.expires_at)),
        reason=request.reason,
    )
