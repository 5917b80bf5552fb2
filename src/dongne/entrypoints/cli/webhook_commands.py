"""``dongne webhooks …``: deliver the outbox by hand, and list what was given up on."""

from __future__ import annotations

from typing import Annotated

import typer

from dongne.entrypoints.cli.common import (
    DatabaseUrl,
    Field,
    command_group,
    now_utc,
    open_app,
    reports_errors,
    say,
    show_rows,
)

webhooks_app = command_group("Webhooks to partner apps, from the outbox.")


@webhooks_app.command("deliver")
@reports_errors
def deliver(
    database_url: DatabaseUrl = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Events to send at most.")] = 100,
) -> None:
    """Send the events that are due, once each (one pass; the API server does this itself)."""
    from dongne.adapters.webhook_sender import HttpWebhookSender
    from dongne.services import webhooks

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
    say(
        f"delivered {report.delivered}, failed {report.failed}",
        delivered=report.delivered,
        failed=report.failed,
    )


@webhooks_app.command("dead")
@reports_errors
def dead(partner_id: int, database_url: DatabaseUrl = None) -> None:
    """A partner's events that are no longer retried after too many failed deliveries."""
    from dongne.services import webhooks

    application = open_app(database_url)
    events = webhooks.dead_letters(
        application.reader(),
        partner_id=partner_id,
        attempts_max=application.settings.webhook_retry_max,
    )
    rows = [
        {"event_id": e.event_id, "type": e.type, "attempts": e.attempts, "last_error": e.last_error}
        for e in events
    ]
    show_rows(DEAD_LETTERS, rows)


DEAD_LETTERS = (
    Field("event", "event_id"),
    Field("type", "type"),
    Field("attempts", "attempts"),
    Field("last error", "last_error", wraps=True),
)
