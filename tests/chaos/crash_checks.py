"""What the server crash test watches besides payments: which worker leads (runs the log's
sequencer and the webhook sender), how far the log is sequenced, and a partner's webhook
receiver on loopback that counts each event's deliveries by its id."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Engine, text

from dongne.bootstrap import bootstrap
from dongne.config import Settings
from dongne.domain.access import PartnerScope
from dongne.services import accounts, payment_intent_approval
from dongne.services.webhooks import LEASE_SECONDS
from tests.factories import World
from tests.loopback import loopback_endpoint

T = TypeVar("T")
WAIT_S = 60.0
"""How long a recovery may take before the test gives up: only reached when it never comes."""


def eventually(what: str, probe: Callable[[], T | None], seconds: float = WAIT_S) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (found := probe()) is not None:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {seconds} s")


def tree_size(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT tree_size FROM log_state")).scalar_one())


@dataclass
class Receiver:
    """A partner's webhook endpoint: 503 until ``accepting``, then 200; every call counted."""

    url: str = ""
    accepting: bool = False
    calls: Counter[str] = field(default_factory=Counter)
    accepted: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        event_id = str(json.loads(body)["id"])
        with self.lock:
            self.calls[event_id] += 1
            if not self.accepting:
                return 503
            self.accepted[event_id] += 1
            return 200


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    state = Receiver()
    with loopback_endpoint(state.answer, "/webhooks") as state.url:
        yield state


def queue_webhook(url: str, receiver_url: str) -> str:
    """A partner app whose payment intent was created: its event waits in the outbox."""
    application = bootstrap(Settings(database_url=url, log_witnesses=[]))
    try:
        now = datetime.now(UTC)
        world = World(application.uow, now)
        world.fund(1_000_000)
        partner = accounts.create_partner(
            application.uow,
            region_id=world.region_id,
            name="chaos shop app",
            scopes=[PartnerScope.PAYMENT_INTENTS.value],
            webhook_url=receiver_url,
            allow_private_webhook_addresses=True,  # the receiver is on loopback
            now=now,
        )
        payment_intent_approval.create_payment_intent(
            application.uow,
            partner_id=partner.id,
            merchant_id=world.merchant(),
            amount_won=1_000,
            order_reference="chaos-order",
            return_url="https://shop.example/done",
            idempotency_key=f"chaos-{uuid.uuid4().hex}",
            now=now,
        )
        with application.engine.connect() as connection:
            return str(
                connection.execute(
                    text("SELECT event_id FROM webhook_events WHERE partner_id = :partner"),
                    {"partner": partner.id},
                ).scalar_one()
            )
    finally:
        application.engine.dispose()


def refused_and_waiting(engine: Engine, event_id: str) -> bool | None:
    """True once the sender tried the event, was refused and recorded it: it waits for its
    backoff, not under a claim's lease (a kill now leaves it due again within seconds)."""
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT attempts, delivered_at, next_attempt_at FROM webhook_events"
                " WHERE event_id = :event_id"
            ),
            {"event_id": event_id},
        ).one()
    leased = (row.next_attempt_at - datetime.now(UTC)).total_seconds() > LEASE_SECONDS / 2
    return True if row.attempts >= 1 and row.delivered_at is None and not leased else None


def delivered(engine: Engine, event_id: str) -> bool | None:
    with engine.connect() as connection:
        at = connection.execute(
            text("SELECT delivered_at FROM webhook_events WHERE event_id = :event_id"),
            {"event_id": event_id},
        ).scalar_one()
    return True if at is not None else None
