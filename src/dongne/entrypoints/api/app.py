"""The FastAPI application and the publisher that runs beside it.

While the server runs, a background thread publishes the log: it sequences what is queued and
signs a checkpoint at most every ``log_checkpoint_interval_seconds`` while leaves wait, then
asks the witnesses to cosign. It and the webhook deliverer run in one process of all the
server's workers, the leader (``leadership``); the sequencer's own lock still lets only one
publisher work at a time, whoever runs it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI

from dongne.bootstrap import App
from dongne.entrypoints.api import log_routes, operations_routes
from dongne.entrypoints.api.abuse_limits import AbuseLimits
from dongne.entrypoints.api.docs_pages import install_docs_pages
from dongne.entrypoints.api.errors import install_error_handlers
from dongne.entrypoints.api.leadership import Leadership
from dongne.entrypoints.api.limits import BodySizeLimit
from dongne.entrypoints.api.logging_setup import configure_logging
from dongne.entrypoints.api.metrics import instrument_pool, mark_process_dead
from dongne.entrypoints.api.observability import RequestContext
from dongne.entrypoints.api.v1 import accounts as v1_accounts
from dongne.entrypoints.api.v1 import admin as v1_admin
from dongne.entrypoints.api.v1 import allowance_uploads as v1_allowance_uploads
from dongne.entrypoints.api.v1 import allowances as v1_allowances
from dongne.entrypoints.api.v1 import cards as v1_cards
from dongne.entrypoints.api.v1 import dynamic_qr as v1_dynamic_qr
from dongne.entrypoints.api.v1 import fraud as v1_fraud
from dongne.entrypoints.api.v1 import g2p as v1_g2p
from dongne.entrypoints.api.v1 import governance as v1_governance
from dongne.entrypoints.api.v1 import merchant_applications as v1_merchant_applications
from dongne.entrypoints.api.v1 import paper as v1_paper
from dongne.entrypoints.api.v1 import payment_intents as v1_payment_intents
from dongne.entrypoints.api.v1 import payments as v1_payments
from dongne.entrypoints.api.v1 import receipts as v1_receipts
from dongne.entrypoints.api.v1 import reports as v1_reports
from dongne.entrypoints.api.v1 import sale_queue as v1_sale_queue
from dongne.entrypoints.api.v1 import settlement as v1_settlement
from dongne.entrypoints.api.v1 import walking as v1_walking
from dongne.entrypoints.api.v1 import wallets as v1_wallets
from dongne.entrypoints.api.webhook_delivery import WebhookDeliverer
from dongne.entrypoints.web.routes import include_pages
from dongne.services.log_key_rotation import LogKeyRetired

logger = logging.getLogger("dongne.publisher")
IDLE_POLL_SECONDS = 0.2


class Publisher(threading.Thread):
    def __init__(self, application: App):
        super().__init__(name="dongne-log-publisher", daemon=True)
        self.application = application
        self.stopping = threading.Event()

    def run(self) -> None:
        interval = self.application.settings.log_checkpoint_interval_seconds
        retired_key_told = False
        while not self.stopping.is_set():
            try:
                self.application.publish_log(datetime.now(UTC))
            except LogKeyRetired as error:
                # Rotated while this process ran: it still sequences, and says once why it
                # signs no checkpoint until it is restarted with the new key.
                if not retired_key_told:
                    logger.warning("the log publishes no checkpoint: %s", error.message)
                    retired_key_told = True
            except Exception:  # the publisher must outlive a database outage; it retries
                logger.exception("publishing the log failed; retrying")
            self.stopping.wait(max(interval, IDLE_POLL_SECONDS))

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


def create_app(application: App, *, publish: bool = True) -> FastAPI:
    """The app; ``publish=False`` runs no background job (no log publisher, no webhooks)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        configure_logging(application.settings.log_level)
        leadership = None
        if publish:
            duties = (lambda: Publisher(application), lambda: WebhookDeliverer(application))
            leadership = Leadership(application.leader_lock(), duties)
            leadership.start()
        try:
            yield
        finally:
            application.stop_workers()
            if leadership:
                leadership.stop()
            mark_process_dead(application)

    api = FastAPI(
        title="dongne",
        summary="Local-currency vouchers on a verifiable double-entry ledger",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served offline by install_docs_pages
        redoc_url=None,
    )
    api.state.dongne = application
    install_error_handlers(api)
    install_docs_pages(api)
    if application.settings.rate_limits_on:
        api.add_middleware(AbuseLimits, application=application)
    api.add_middleware(BodySizeLimit)
    api.add_middleware(RequestContext, production=application.settings.environment == "production")
    instrument_pool(application.engine)
    api.include_router(operations_routes.router)
    api.include_router(log_routes.router)
    api.include_router(v1_accounts.router, prefix="/api/v1")
    api.include_router(v1_payment_intents.router, prefix="/api/v1")
    api.include_router(v1_admin.router, prefix="/api/v1")
    api.include_router(v1_wallets.router, prefix="/api/v1")
    api.include_router(v1_receipts.router, prefix="/api/v1")
    api.include_router(v1_payments.router, prefix="/api/v1")
    api.include_router(v1_dynamic_qr.router, prefix="/api/v1")
    api.include_router(v1_sale_queue.router, prefix="/api/v1")
    api.include_router(v1_merchant_applications.router, prefix="/api/v1")
    api.include_router(v1_allowances.router, prefix="/api/v1")
    api.include_router(v1_allowance_uploads.router, prefix="/api/v1")
    api.include_router(v1_walking.router, prefix="/api/v1")
    api.include_router(v1_paper.router, prefix="/api/v1")
    api.include_router(v1_settlement.router, prefix="/api/v1")
    api.include_router(v1_fraud.router, prefix="/api/v1")
    api.include_router(v1_cards.router, prefix="/api/v1")
    api.include_router(v1_governance.router, prefix="/api/v1")
    api.include_router(v1_g2p.router, prefix="/g2p")
    api.include_router(v1_reports.router, prefix="/api/v1")
    include_pages(api)
    return api
