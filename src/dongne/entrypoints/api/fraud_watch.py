"""The online fraud check: each payment made over the API is checked against the fraud rules
right after its answer is sent, so the check adds nothing to the payment's latency and can never
undo it. A check that fails is logged; the batch scan (``dongne fraud scan``) still sees the
payment."""

from __future__ import annotations

import logging

from fastapi import BackgroundTasks

from dongne.bootstrap import App
from dongne.services import fraud

logger = logging.getLogger("dongne.fraud")


def watch_payment(app: App, background: BackgroundTasks, payment_id: int) -> None:
    if app.settings.fraud_check_online:
        background.add_task(_check, app, payment_id)


def _check(app: App, payment_id: int) -> None:
    try:
        fraud.check_payment(app.unit_of_work(), payment_id, fraud.fraud_settings_from(app.settings))
    except Exception:  # the payment stands whatever happens here; the batch scan retries
        logger.exception("the online fraud check of payment %s failed", payment_id)
