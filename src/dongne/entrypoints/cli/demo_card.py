"""The demo's card story: a citizen links a virtual card to their wallet, and a terminal pays
the bakery with it over a real TCP socket in ISO 8583. The wallet's balance moves by the
amount, the terminal's repeat of the same message gets the same approval and moves nothing,
and the payment is settled with the bakery's other takings at the month's end."""

from __future__ import annotations

from datetime import datetime

from dongne.bootstrap import App
from dongne.entrypoints.card_host.server import RunningHost
from dongne.entrypoints.card_host.simulator import Terminal
from dongne.entrypoints.cli.demo_programs import Tally, key
from dongne.services import cards, read_models

CARD_PAYMENT_WON = 8_000
ACCEPTOR_ID = "SIHEUNG00000001"


def pay_by_card(app: App, wallet_id: int, merchant_id: int, now: datetime, tally: Tally) -> None:
    card = cards.link_card(
        app.uow,
        app.secrets,
        caller=None,
        wallet_id=wallet_id,
        pan=None,
        idempotency_key=key(),
        now=now,
    )
    assert card.pan is not None  # noqa: S101 - a virtual card's number is shown to its holder
    cards.set_card_acceptor(
        app.uow,
        caller=None,
        merchant_id=merchant_id,
        acceptor_id=ACCEPTOR_ID,
        idempotency_key=key(),
        now=now,
    )
    before = _balance(app, wallet_id, now)
    with (
        RunningHost(app, clock=lambda: now) as host,
        Terminal(host.host, host.port, acceptor_id=ACCEPTOR_ID) as terminal,
    ):
        request, answer = terminal.purchase(card.pan, CARD_PAYMENT_WON)
        repeat = terminal.send(request)
    after = _balance(app, wallet_id, now)
    approved = answer["39"] == "00"
    if approved:
        tally.paid(CARD_PAYMENT_WON)
    tally.check(
        "card: the payment over ISO 8583 moved the wallet by its amount, once",
        approved and repeat.get("38") == answer.get("38") and before - after == CARD_PAYMENT_WON,
    )
    tally.story.append(
        (
            "card payment (카드형)",
            f"wallet {wallet_id}'s virtual card …{card.last_four} paid {CARD_PAYMENT_WON:,} at"
            f" the bakery over ISO 8583 (0200 → 0210, DE39 {answer['39']}, approval"
            f" {answer.get('38', '-')}); the repeated message got the same approval: balance"
            f" {before:,} → {after:,}",
        )
    )


def _balance(app: App, wallet_id: int, now: datetime) -> int:
    return read_models.wallet_balance(app.reader(), wallet_id=wallet_id, now=now).balance_won
