"""The webhook deliverer that runs beside the API server, like the log publisher.

The app's lifespan runs it in the leader of the server's worker processes (``leadership``).
Should two run at once (a leader that has not yet noticed it lost its lock), ``deliver_due``
still claims each event once, with ``SKIP LOCKED`` on PostgreSQL.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from dongne.adapters.webhook_sender import HttpWebhookSender
from dongne.bootstrap import App
from dongne.services.webhooks import deliver_due

logger = logging.getLogger("dongne.webhooks")
POLL_SECONDS = 1.0


class WebhookDeliverer(threading.Thread):
    def __init__(self, application: App):
        super().__init__(name="dongne-webhook-deliverer", daemon=True)
        self.application = application
        self.stopping = threading.Event()
        self.sender = HttpWebhookSender(
            allow_private_addresses=application.settings.allow_private_webhook_addresses
        )

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                try:
                    deliver_due(
                        self.application.unit_of_work(),
                        self.sender,
                        now=datetime.now(UTC),
                        attempts_max=self.application.settings.webhook_retry_max,
                    )
                except Exception:  # it must outlive a database outage; events wait in the outbox
                    logger.exception("delivering webhooks failed; retrying")
                self.stopping.wait(POLL_SECONDS)
        finally:
            self.sender.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)
