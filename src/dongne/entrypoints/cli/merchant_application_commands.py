"""``dongne application ...``: Merchant onboarding: list applications, approve, reject, suspend,
reinstate.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from dongne.domain.merchant_applications import ApplicationStatus
from dongne.domain.merchants import CATEGORIES, format_business_number
from dongne.entrypoints.cli.common import (
    DatabaseUrl,
    Field,
    command_group,
    now_utc,
    open_app,
    region_id_of,
    reports_errors,
    say,
    show_rows,
    status_filter,
)

application_app = command_group(
    "Merchant onboarding: list applications, approve, reject, suspend, reinstate."
)


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
    from dongne.services import merchant_applications

    application = open_app(database_url)
    application_id = merchant_applications.apply_for_merchant(
        application.uow,
        application.secrets,
        region_id=region_id_of(application, region),
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
    say(
        f"application {application_id} received; it waits for an official",
        application_id=application_id,
    )


APPLICATIONS = (
    Field("id", "id"),
    Field("name", "name"),
    Field("business number", "business_number_shown"),
    Field("category", "category"),
    Field("revenue", "annual_revenue_won", money=True),
    Field("status", "status_shown", wraps=True),
    Field("merchant", "merchant_id"),
)


@application_app.command("list")
@reports_errors
def list_applications(
    region: str,
    status: Annotated[str, typer.Option(help="pending, approved, rejected or all.")] = "all",
    database_url: DatabaseUrl = None,
) -> None:
    """List REGION's merchant applications, oldest first."""
    from dongne.services import merchant_applications

    wanted = status_filter(status, ApplicationStatus)
    application = open_app(database_url)
    rows = merchant_applications.applications(
        application.reader(), region_id=region_id_of(application, region), status=wanted
    )
    shown = []
    for row in rows:
        reason = f": {row.rejection_reason}" if row.rejection_reason else ""
        shown.append(
            asdict(row)
            | {
                "business_number_shown": format_business_number(row.business_number),
                "status_shown": row.status.value + reason,
            }
        )
    show_rows(APPLICATIONS, shown)


@application_app.command("approve")
@reports_errors
def approve(application_id: int, database_url: DatabaseUrl = None) -> None:
    """Approve an application: its merchant is registered, active, with its bank account."""
    from dongne.services import merchant_applications

    approval = merchant_applications.approve_application(
        open_app(database_url).uow,
        application_id=application_id,
        decided_by_user_id=None,
        now=now_utc(),
    )
    owner = f", owner login user {approval.owner_user_id}" if approval.owner_user_id else ""
    say(
        f"application {application_id} approved: merchant {approval.merchant_id}{owner}",
        **asdict(approval),
    )


@application_app.command("reject")
@reports_errors
def reject(
    application_id: int,
    reason: Annotated[str, typer.Option(help="Why; the applicant is told.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Reject an application, saying why."""
    from dongne.services import merchant_applications

    merchant_applications.reject_application(
        open_app(database_url).uow,
        application_id=application_id,
        reason=reason,
        decided_by_user_id=None,
        now=now_utc(),
    )
    say(f"application {application_id} rejected", application_id=application_id, status="rejected")


@application_app.command("suspend")
@reports_errors
def suspend(merchant_id: int, database_url: DatabaseUrl = None) -> None:
    """Suspend an active merchant: it takes no payments until reinstated."""
    from dongne.services import merchant_applications

    merchant_applications.suspend_merchant(
        open_app(database_url).uow, merchant_id=merchant_id, now=now_utc()
    )
    say(f"merchant {merchant_id} suspended", merchant_id=merchant_id, status="suspended")


@application_app.command("reinstate")
@reports_errors
def reinstate(merchant_id: int, database_url: DatabaseUrl = None) -> None:
    """Reinstate a suspended merchant."""
    from dongne.services import merchant_applications

    merchant_applications.reinstate_merchant(
        open_app(database_url).uow, merchant_id=merchant_id, now=now_utc()
    )
    say(f"merchant {merchant_id} reinstated", merchant_id=merchant_id, status="active")
