"""``dongne webhooks …``: deliver the outbox by hand, and list what was given up on."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from dongne.adapters.webhook_sender import HttpWebhookSender
from dongne.entrypoints.cli.common import DatabaseUrl, now_utc, open_app, out, reports_errors
from dongne.services import webhooks

webhooks_app = typer.Typer(help="Webhooks to partner apps, from the outbox.", no_args_is_help=True)


@webhooks_app.command("deliver")
@reports_errors
def deliver(
    database_url: DatabaseUrl = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Events to send at most.")] = 100,
) -> None:
    """Send the events that are due, once each (one pass; the API server does this itself)."""
    application = open_app(database_url)
    sender = HttpWebhookSender(
        allow_private_addresses=application.settings.allow_private_webhook_addresses
    )
    try:
        report = webhooks.deliver_due(
            application.unit_of_work(),
            sender,
            now=now_utc(),
            limit=limit,
            attempts_max=application.settings.webhook_retry_max,
        )
    finally:
        sender.close()
    out.print(f"delivered {report.delivered}, failed {report.failed}")


@webhooks_app.command("dead")
@reports_errors
def dead(partner_id: int, database_url: DatabaseUrl = None) -> None:
    """A partner's events that are no longer retried after too many failed deliveries."""
    application = open_app(database_url)
    events = webhooks.dead_letters(
        application.reader(),
        partner_id=partner_id,
        attempts_max=application.settings.webhook_retry_max,
    )
    table = Table("event", "type", "attempts", "last error")
    for event in events:
        table.add_row(event.event_id, event.type, str(event.attempts), event.last_error or "")
    out.print(table)
