"""Gifts (선물하기): purchased value sent to another citizen's wallet in the same region."""

from __future__ import annotations

from datetime import datetime

from dongne.domain.calendar import require_aware, seoul_month
from dongne.domain.ledger import Posting, TransactionKind
from dongne.domain.lots import LotKind, Take, check_gift_parties, holding_won, plan_gift
from dongne.services.idempotency import Once, run_in_transaction
from dongne.services.purchases import wallet_account
from dongne.services.results import GiftResult
from dongne.services.unit_of_work import UnitOfWork


def send_gift(
    uow: UnitOfWork,
    *,
    sender_wallet_id: int,
    receiver_wallet_id: int,
    amount_won: int,
    idempotency_key: str,
    now: datetime,
) -> GiftResult:
    """Move purchased value, oldest lots first. Each piece becomes a gifted lot that keeps its
    source's expiry and its share of what was paid, so a later refund stays proportional."""
    now = require_aware(now)

    def action() -> GiftResult:
        # Lock both wallets in id order so two opposite gifts cannot deadlock.
        first, second = sorted((sender_wallet_id, receiver_wallet_id))
        locked = {first: uow.records.wallet(first, lock=True)}
        locked[second] = uow.records.wallet(second, lock=True)
        sender, receiver = locked[sender_wallet_id], locked[receiver_wallet_id]
        check_gift_parties(sender.id, receiver.id, sender.region_id == receiver.region_id)
        program = uow.records.program(sender.region_id, at=now)
        month = seoul_month(now)
        program.check_gift(
            amount_won,
            sent_this_month_won=uow.records.gifted_won(sender.id, month, sent=True),
            received_this_month_won=uow.records.gifted_won(receiver.id, month, sent=False),
            receiver_holding_won=holding_won(uow.records.wallet_lots(receiver.id), now),
        )
        sender_lots = uow.records.wallet_lots(sender.id)
        takes = plan_gift(sender_lots, amount_won, now)
        sources = {lot.id: lot for lot in sender_lots}
        accounts = {
            a.id: a
            for a in (wallet_account(sender.account_id), wallet_account(receiver.account_id))
        }
        transaction_id = uow.ledger.post(
            region_id=sender.region_id,
            kind=TransactionKind.GIFT,
            postings=[
                Posting(sender.account_id, -amount_won),
                Posting(receiver.account_id, amount_won),
            ],
            at=now,
            idempotency_key=idempotency_key,
            accounts_by_id=accounts,
        )
        uow.records.move_lots(
            sender.region_id, transaction_id, [Take(t.lot_id, -t.amount_won) for t in takes]
        )
        for take in takes:
            source = sources[take.lot_id]
            uow.records.add_lot(
                region_id=receiver.region_id,
                wallet_id=receiver.id,
                kind=LotKind.GIFTED,
                face_won=take.amount_won,
                paid_won=source.paid_share_won(take.amount_won),
                acquired_at=now,
                expires_at=source.expires_at,
                transaction_id=transaction_id,
            )
        gift_id = uow.records.add_gift(
            region_id=sender.region_id,
            sender_wallet_id=sender.id,
            receiver_wallet_id=receiver.id,
            amount_won=amount_won,
            month=month,
            sent_at=now,
            transaction_id=transaction_id,
        )
        return GiftResult(gift_id, transaction_id, sender.id, receiver.id, amount_won)

    request = {
        "sender_wallet_id": sender_wallet_id,
        "receiver_wallet_id": receiver_wallet_id,
        "amount_won": amount_won,
    }
    return run_in_transaction(
        uow,
        action,
        once=Once(
            operation="send_gift",
            key=idempotency_key,
            request=request,
            now=now,
            result_type=GiftResult,
        ),
    )
