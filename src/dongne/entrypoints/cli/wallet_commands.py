"""Money moves on a wallet: buy, cancel, pay, gift, refund, expire; balances and history.

Each is registered on the root ``dongne`` command by ``app.py``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from dongne.entrypoints.cli.common import (
    DatabaseUrl,
    Field,
    Key,
    err,
    key_or_new,
    now_utc,
    open_app,
    region_id_of,
    reports_errors,
    show_record,
    show_rows,
)


@reports_errors
def purchase(
    wallet_id: int, face_won: int, key: Key = None, database_url: DatabaseUrl = None
) -> None:
    """Buy FACE_WON of vouchers into a wallet (at the discount while the budget lasts)."""
    from dongne.services import purchases

    result = purchases.purchase_vouchers(
        open_app(database_url).uow,
        wallet_id=wallet_id,
        face_won=face_won,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    show_record("purchase", result)


@reports_errors
def cancel_purchase(purchase_id: int, key: Key = None, database_url: DatabaseUrl = None) -> None:
    """Cancel an untouched purchase within the cancellation window (청약철회)."""
    from dongne.services import purchases

    result = purchases.cancel_purchase(
        open_app(database_url).uow,
        purchase_id=purchase_id,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    show_record("purchase cancelled", result)


@reports_errors
def pay(
    wallet_id: int,
    merchant_id: int,
    amount_won: int,
    key: Key = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Pay a merchant from a wallet; the payment is then checked against the fraud rules."""
    from dongne.services import fraud, payments

    application = open_app(database_url)
    result = payments.pay_merchant(
        application.uow,
        wallet_id=wallet_id,
        merchant_id=merchant_id,
        amount_won=amount_won,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    show_record("payment", result)
    # As the API does after answering: the payment stands, and the batch scan (which leaves
    # the last minute of payments for later) would not see it yet.
    if application.settings.fraud_check_online:
        settings = fraud.fraud_settings_from(application.settings)
        for alert_id in fraud.check_payment(application.uow, result.payment_id, settings):
            err.print(f"fraud alert {alert_id} opened (이상거래 알림): dongne fraud alerts")


@reports_errors
def cancel_payment(
    payment_id: int,
    amount_won: Annotated[
        int | None, typer.Option("--amount", help="Default: all that is left.")
    ] = None,
    key: Key = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Cancel a payment, fully or in part."""
    from dongne.services import payments

    result = payments.cancel_payment(
        open_app(database_url).uow,
        payment_id=payment_id,
        amount_won=amount_won,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    show_record("payment cancelled", result)


@reports_errors
def gift(
    sender_wallet_id: int,
    receiver_wallet_id: int,
    amount_won: int,
    key: Key = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Send purchased value to another wallet of the same region (선물하기)."""
    from dongne.services import gifts

    result = gifts.send_gift(
        open_app(database_url).uow,
        sender_wallet_id=sender_wallet_id,
        receiver_wallet_id=receiver_wallet_id,
        amount_won=amount_won,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    show_record("gift sent", result)


@reports_errors
def refund(wallet_id: int, key: Key = None, database_url: DatabaseUrl = None) -> None:
    """Refund the remaining balance of purchases spent past the threshold (잔액환불)."""
    from dongne.services import refunds

    result = refunds.refund_balance(
        open_app(database_url).uow,
        wallet_id=wallet_id,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    show_record("refund", result)


@reports_errors
def expire(region: str, key: Key = None, database_url: DatabaseUrl = None) -> None:
    """Empty the region's lots whose validity has ended."""
    from dongne.services import refunds

    application = open_app(database_url)
    result = refunds.expire_lots(
        application.uow,
        region_id=region_id_of(application, region),
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    show_record("expiry", result)


@reports_errors
def balance(wallet_id: int, database_url: DatabaseUrl = None) -> None:
    """A wallet's balance, by kind of value."""
    from dongne.services import read_models

    reader = open_app(database_url).reader()
    show_record(
        f"wallet {wallet_id}",
        read_models.wallet_balance(reader, wallet_id=wallet_id, now=now_utc()),
    )


HISTORY = (
    Field("transaction", "transaction_id"),
    Field("kind", "kind"),
    Field("at", "at"),
    Field("amount (won)", "amount_won", money=True, signed=True),
)


@reports_errors
def history(
    wallet_id: int,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    database_url: DatabaseUrl = None,
) -> None:
    """A wallet's ledger entries, newest first."""
    from dongne.services import read_models

    lines = read_models.wallet_history(
        open_app(database_url).reader(), wallet_id=wallet_id, limit=limit
    )
    show_rows(HISTORY, [asdict(line) for line in lines], title=f"wallet {wallet_id}")
