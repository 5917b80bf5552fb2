"""``dongne application ...``: Merchant onboarding: list applications, approve, reject, suspend,
reinstate.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from dongne.bootstrap import App
from dongne.domain.merchant_applications import ApplicationStatus
from dongne.domain.merchants import CATEGORIES, format_business_number
from dongne.entrypoints.cli.common import DatabaseUrl, now_utc, open_app, out, reports_errors
from dongne.services import merchant_applications

application_app = typer.Typer(
    help="Merchant onboarding: list applications, approve, reject, suspend, reinstate.",
    no_args_is_help=True,
)


def _region_id(application: App, code: str) -> int:
    with application.reader() as uow:
        return uow.records.region_by_code(code).id


@application_app.command("submit")
@reports_errors
def submit(
    region: str,
    name: str,
    business_number: str,
    category: Annotated[str, typer.Argument(help=f"One of: {', '.join(CATEGORIES)}")],
    address: Annotated[str, typer.Option(help="The place of business.")],
    bank_code: Annotated[str, typer.Option(help="The bank's 3 digits (e.g. 004).")],
    bank_account: Annotated[str, typer.Option(help="The settlement account number.")],
    account_holder: Annotated[str, typer.Option(help="The account holder's name.")],
    revenue: Annotated[int, typer.Option(help="Annual revenue in won.")] = 0,
    phone: str | None = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Apply to REGION as a merchant (an owner login is asked for over the API only)."""
    application = open_app(database_url)
    application_id = merchant_applications.apply_for_merchant(
        application.uow,
        application.secrets,
        region_id=_region_id(application, region),
        name=name,
        business_number=business_number,
        category=category,
        annual_revenue_won=revenue,
        address=address,
        phone=phone,
        bank_code=bank_code,
        bank_account_number=bank_account,
        bank_account_holder=account_holder,
        now=now_utc(),
    )
    out.print(f"application {application_id} received; it waits for an official")


@application_app.command("list")
@reports_errors
def list_applications(
    region: str,
    status: Annotated[ApplicationStatus | None, typer.Option(help="Only these.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """List REGION's merchant applications, oldest first."""
    application = open_app(database_url)
    rows = merchant_applications.applications(
        application.reader(), region_id=_region_id(application, region), status=status
    )
    table = Table("id", "name", "business number", "category", "revenue", "status", "merchant")
    for row in rows:
        table.add_row(
            str(row.id),
            row.name,
            format_business_number(row.business_number),
            row.category,
            f"{row.annual_revenue_won:,}",
            row.status.value + (f": {row.rejection_reason}" if row.rejection_reason else ""),
            str(row.merchant_id or ""),
        )
    out.print(table)


@application_app.command("approve")
@reports_errors
def approve(application_id: int, database_url: DatabaseUrl = None) -> None:
    """Approve an application: its merchant is registered, active, with its bank account."""
    approval = merchant_applications.approve_application(
        open_app(database_url).uow,
        application_id=application_id,
        decided_by_user_id=None,
        now=now_utc(),
    )
    owner = f", owner login user {approval.owner_user_id}" if approval.owner_user_id else ""
    out.print(f"application {application_id} approved: merchant {approval.merchant_id}{owner}")


@application_app.command("reject")
@reports_errors
def reject(
    application_id: int,
    reason: Annotated[str, typer.Option(help="Why; the applicant is told.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Reject an application, saying why."""
    merchant_applications.reject_application(
        open_app(database_url).uow,
        application_id=application_id,
        reason=reason,
        decided_by_user_id=None,
        now=now_utc(),
    )
    out.print(f"application {application_id} rejected")


@application_app.command("suspend")
@reports_errors
def suspend(merchant_id: int, database_url: DatabaseUrl = None) -> None:
    """Suspend an active merchant: it takes no payments until reinstated."""
    merchant_applications.suspend_merchant(
        open_app(database_url).uow, merchant_id=merchant_id, now=now_utc()
    )
    out.print(f"merchant {merchant_id} suspended")


@application_app.command("reinstate")
@reports_errors
def reinstate(merchant_id: int, database_url: DatabaseUrl = None) -> None:
    """Reinstate a suspended merchant."""
    merchant_applications.reinstate_merchant(
        open_app(database_url).uow, merchant_id=merchant_id, now=now_utc()
    )
    out.print(f"merchant {merchant_id} reinstated")
