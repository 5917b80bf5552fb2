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
from sqlalchemy.exc import DBAPIError

from dongne.bootstrap import App
from dongne.entrypoints.api.abuse_limits import AbuseLimits
from dongne.entrypoints.api.docs_pages import install_docs_pages
from dongne.entrypoints.api.errors import install_error_handlers
from dongne.entrypoints.api.hot_routes import HOT_ROUTES
from dongne.entrypoints.api.leadership import Leadership
from dongne.entrypoints.api.limits import BodySizeLimit
from dongne.entrypoints.api.logging_setup import configure_logging
from dongne.entrypoints.api.metrics import instrument_pool, mark_process_dead
from dongne.entrypoints.api.observability import RequestContext
from dongne.entrypoints.api.routes import ServingOverrides, shared_routes
from dongne.entrypoints.api.webhook_delivery import WebhookDeliverer
from dongne.entrypoints.web.pages import install_static_files
from dongne.services import operations
from dongne.services.log_key_rotation import LogKeyRetired

logger = logging.getLogger("dongne.publisher")
advice_logger = logging.getLogger("dongne.database")
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


def _say_database_advice(application: App) -> None:
    """At start-up, what the database is not set to that ``docs/operations.md`` advises; a
    database not reachable yet is the readiness probe's to report, not a reason not to start."""
    try:
        advice = operations.database_advice(application.reader())
    except DBAPIError as error:
        advice_logger.warning(
            "the database's settings could not be read: %s", type(error.orig).__name__
        )
        return
    for sentence in advice:
        advice_logger.warning("the database is not set as advised: %s", sentence)


def create_app(application: App, *, publish: bool = True) -> FastAPI:
    """The app; ``publish=False`` runs no background job (no log publisher, no webhooks)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        configure_logging(application.settings.log_level)
        _say_database_advice(application)
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
    api.add_middleware(
        RequestContext,
        production=application.settings.environment == "production",
        access_log=application.settings.access_log,
    )
    api.add_middleware(ServingOverrides, overrides=api.dependency_overrides)
    instrument_pool(application.engine)
    api.router.routes.extend(HOT_ROUTES)  # before FastAPI's routes of the same paths
    api.router.routes.extend(shared_routes())
    install_static_files(api)
    return api
