"""The online fraud check: each payment made over the API is checked against the fraud rules
right after its answer is sent, so the check adds nothing to the payment's latency and can never
undo it. A check that fails is logged; the batch scan (``dongne fraud scan``) still sees the
payment."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future

from fastapi import BackgroundTasks

from dongne.bootstrap import App

logger = logging.getLogger("dongne.fraud")


def watch_payment(app: App, background: BackgroundTasks, payment_id: int) -> None:
    if app.settings.fraud_check_online:
        background.add_task(_check, app.fraud_watch().submit(payment_id), payment_id)


async def _check(checked: Future[list[int]], payment_id: int) -> None:
    # Checked with the other payments waiting (``App.fraud_watch``): one transaction a batch.
    try:
        await asyncio.wrap_future(checked)
    except Exception:  # the payment stands whatever happens here; the batch scan retries
        logger.exception("the online fraud check of payment %s failed", payment_id)
