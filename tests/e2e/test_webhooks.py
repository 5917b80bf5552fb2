"""Webhooks to a real HTTP receiver on loopback: signed, retried with backoff, never lost."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from dongne.adapters.webhook_sender import HttpWebhookSender
from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.domain.webhook_signature import SIGNATURE_HEADER, verify_signature
from dongne.services import payment_intent_approval, payment_intents, webhooks
from tests.e2e.test_api_payment_intents import PRICE_WON, Shop, set_up_shop
from tests.factories import unique_key
from tests.loopback import loopback_endpoint

T0 = datetime.now(UTC).replace(microsecond=0)


@dataclass
class Receiver:
    """A partner's webhook endpoint that answers 500 to its first ``failures_left`` calls."""

    url: str = ""
    failures_left: int = 0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self.received.append((headers, body))
            if self.failures_left > 0:
                self.failures_left -= 1
                return 500
            return 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    with loopback_endpoint(state.answer, "/dongne/webhooks") as state.url:
        yield state


@pytest.fixture
def application(database_url: str) -> Iterator[App]:
    app = bootstrap(Settings(database_url=database_url, log_witnesses=[]))
    yield app
    app.engine.dispose()


@pytest.fixture
def sender() -> Iterator[HttpWebhookSender]:
    # The receiver listens on loopback: a development setting (production refuses it).
    sender = HttpWebhookSender(timeout_seconds=5, allow_private_addresses=True)
    yield sender
    sender.close()


def _create_intent(app: App, shop: Shop) -> payment_intents.PaymentIntent:
    return payment_intent_approval.create_payment_intent(
        app.uow,
        partner_id=shop.partner_id,
        merchant_id=shop.merchant_id,
        amount_won=PRICE_WON,
        order_reference=unique_key("order"),
        return_url="https://shop.example/done",
        idempotency_key=unique_key("create"),
        now=T0,
    )


def _webhook_secret(app: App, partner_id: int) -> str:
    with app.reader() as reader:
        partner = reader.access.partner(partner_id)
    assert partner is not None
    return partner.webhook_secret


def _deliver(app: App, sender: HttpWebhookSender, at: datetime) -> webhooks.DeliveryReport:
    return webhooks.deliver_due(app.unit_of_work(), sender, now=at, attempts_max=3)


def test_a_delivered_event_carries_a_signature_the_receiver_verifies(
    application: App, receiver: Receiver, sender: HttpWebhookSender
) -> None:
    shop = set_up_shop(application, webhook_url=receiver.url)
    intent = _create_intent(application, shop)
    assert _deliver(application, sender, T0) == webhooks.DeliveryReport(delivered=1, failed=0)
    [(headers, body)] = receiver.received
    secret = _webhook_secret(application, shop.partner_id)
    assert verify_signature(secret, headers[SIGNATURE_HEADER], body, now=T0) == int(T0.timestamp())
    event = webhooks.events_of_partner(application.reader(), partner_id=shop.partner_id)[0]
    assert event.payload["type"] == "payment_intent.created"
    assert event.payload["data"]["object"]["id"] == intent.id
    assert event.delivered_at is not None
    assert _deliver(application, sender, T0 + timedelta(hours=1)).delivered == 0


def test_a_receiver_that_fails_three_times_gets_the_event_after_backing_off(
    application: App, receiver: Receiver, sender: HttpWebhookSender
) -> None:
    shop = set_up_shop(application, webhook_url=receiver.url)
    _create_intent(application, shop)
    receiver.failures_left = 3
    attempts = [T0, T0 + timedelta(seconds=2), T0 + timedelta(seconds=6)]
    for attempt, at in enumerate(attempts, start=1):
        assert _deliver(application, sender, at).failed == 1
        # Not due again until 2^attempt seconds later.
        early = at + timedelta(seconds=2**attempt - 1)
        assert _deliver(application, sender, early) == webhooks.DeliveryReport(0, 0)
    retried = webhooks.deliver_due(
        application.unit_of_work(), sender, now=T0 + timedelta(seconds=14), attempts_max=8
    )
    assert retried.delivered == 1
    assert len(receiver.received) == 4
    assert len({json.loads(body)["id"] for _, body in receiver.received}) == 1


def test_an_event_failing_every_attempt_becomes_a_dead_letter(
    application: App, receiver: Receiver, sender: HttpWebhookSender
) -> None:
    shop = set_up_shop(application, webhook_url=receiver.url)
    _create_intent(application, shop)
    receiver.failures_left = 1_000
    at = T0
    for _ in range(3):
        assert _deliver(application, sender, at).failed == 1
        at += timedelta(hours=2)
    assert _deliver(application, sender, at + timedelta(days=1)) == webhooks.DeliveryReport(0, 0)
    [dead] = webhooks.dead_letters(application.reader(), partner_id=shop.partner_id, attempts_max=3)
    assert (dead.attempts, dead.delivered_at, dead.last_error) == (3, None, "HTTP 500")


def test_in_production_an_event_for_a_loopback_receiver_is_refused_and_never_sent(
    application: App, receiver: Receiver
) -> None:
    shop = set_up_shop(application, webhook_url=receiver.url)  # registered in development
    _create_intent(application, shop)
    guarded = HttpWebhookSender(timeout_seconds=5, allow_private_addresses=False)
    try:
        assert _deliver(application, guarded, T0) == webhooks.DeliveryReport(0, 1)
    finally:
        guarded.close()
    assert receiver.received == []
    [event] = webhooks.events_of_partner(application.reader(), partner_id=shop.partner_id)
    assert event.last_error == "refused: 127.0.0.1 resolves to 127.0.0.1, a loopback address"


def test_events_of_a_partner_without_a_webhook_url_are_kept_but_not_sent(
    application: App, sender: HttpWebhookSender
) -> None:
    shop = set_up_shop(application)
    _create_intent(application, shop)
    assert _deliver(application, sender, T0) == webhooks.DeliveryReport(0, 0)
    [event] = webhooks.events_of_partner(application.reader(), partner_id=shop.partner_id)
    assert event.last_error == webhooks.NOT_DELIVERABLE


def test_an_event_survives_a_crash_before_its_delivery_and_is_sent_after_a_restart(
    application: App, receiver: Receiver, sender: HttpWebhookSender, database_url: str
) -> None:
    shop = set_up_shop(application, webhook_url=receiver.url)
    # The process commits an intent (and so its event), claims the event for delivery, and is
    # killed in the middle of sending it: nothing reached the receiver.
    script = "import os, signal, sys\nfrom datetime import UTC, datetime\n" + textwrap.dedent(
        f"""
        from dongne.bootstrap import bootstrap
        from dongne.services import payment_intent_approval, webhooks
        app = bootstrap(database_url=sys.argv[1])
        now = datetime.fromisoformat({T0.isoformat()!r})
        payment_intent_approval.create_payment_intent(
            app.uow, partner_id={shop.partner_id}, merchant_id={shop.merchant_id},
            amount_won=1_000, order_reference="killed-order", return_url="https://x.example/",
            idempotency_key="killed", now=now,
        )

        class DyingSender:
            def send(self, url, body, signature):
                os.kill(os.getpid(), signal.SIGKILL)

        webhooks.deliver_due(app.unit_of_work(), DyingSender(), now=now)
        """
    )
    finished = subprocess.run(  # noqa: S603 - our own interpreter running our own script
        [sys.executable, "-c", script, database_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == -signal.SIGKILL, finished.stderr
    assert receiver.received == []
    # The claim's lease keeps a second worker off it for a while, then it is due again.
    assert _deliver(application, sender, T0) == webhooks.DeliveryReport(0, 0)
    later = T0 + timedelta(seconds=webhooks.LEASE_SECONDS)
    assert _deliver(application, sender, later).delivered == 1
    [(_, body)] = receiver.received
    assert b"killed-order" in body
