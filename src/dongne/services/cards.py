"""Managing card-type vouchers: link a card to a wallet, block, unblock, report lost, replace,
and tell the card network's merchant ids (DE42) which dongne merchant they are.

Who may act: the citizen whose wallet the card pays from, and the officials of its region
(operator role to change a card, any role to read); ``caller=None`` is the command line,
which acts as the platform operator. Another's card reads as one that does not exist.
Every change runs once per idempotency key. A lost card is blocked in the same transaction
that records the report: there is no window in which it still pays.
"""

from __future__ import annotations

import re
import secrets as random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from dongne.adapters.db.card_records import CardRow
from dongne.adapters.secrets import Secrets
from dongne.domain.access import OfficialRole, Principal, UserKind
from dongne.domain.calendar import require_aware
from dongne.domain.cards import (
    CardForm,
    CardNotFound,
    CardState,
    CardStatus,
    InvalidCardNumber,
    normalize_pan,
    virtual_pan,
)
from dongne.domain.errors import InvalidInput, MerchantNotFound, WalletNotFound
from dongne.services.idempotency import Once, caller_scope, run_in_transaction, scoped_key
from dongne.services.unit_of_work import UnitOfWork

ACCEPTOR_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z -]{0,14}")
"""DE42 is 15 characters of letters, digits and spaces; stored without trailing spaces."""
CARDS_LISTED_MAX = 500


@dataclass(frozen=True)
class CardView:
    id: int
    wallet_id: int
    region_id: int
    form: str
    last_four: str
    status: str
    replaces_card_id: int | None
    created_at: datetime
    status_changed_at: datetime
    pan: str | None
    """A virtual card's number, for its holder (and the command line) only: derived, not kept."""


@dataclass(frozen=True)
class CardChanged:
    """What a change stores under its idempotency key: the card it left (or made)."""

    card_id: int


@dataclass(frozen=True)
class CardAcceptor:
    acceptor_id: str
    merchant_id: int
    region_id: int


def link_card(
    uow: UnitOfWork,
    secrets: Secrets,
    *,
    caller: Principal | None,
    wallet_id: int | None,
    pan: str | None,
    idempotency_key: str,
    now: datetime,
) -> CardView:
    """Link a card to a wallet: a physical card by its ``pan``, or (without one) a new
    virtual card. A citizen links to their own wallet (by default their only or home one)."""
    now = require_aware(now)
    pan = normalize_pan(pan) if pan is not None else None

    def action() -> CardChanged:
        wallet = _wallet_for(uow, caller, wallet_id)
        card_id = _add_card(
            uow,
            secrets,
            wallet_id=wallet.id,
            region_id=wallet.region_id,
            pan=pan,
            replaces_card_id=None,
            now=now,
        )
        return CardChanged(card_id)

    digest = secrets.pan_digest(pan) if pan else None
    changed = _once(
        uow,
        caller=caller,
        operation="link_card",
        idempotency_key=idempotency_key,
        now=now,
        action=action,
        subject_id=wallet_id,
        pan_digest=digest,
    )
    return card(uow, secrets, caller=caller, card_id=changed.card_id)


def block_card(
    uow: UnitOfWork,
    secrets: Secrets,
    *,
    caller: Principal | None,
    card_id: int,
    idempotency_key: str,
    now: datetime,
) -> CardView:
    return _change(
        uow,
        secrets,
        caller=caller,
        card_id=card_id,
        operation="block_card",
        idempotency_key=idempotency_key,
        now=now,
    )


def unblock_card(
    uow: UnitOfWork,
    secrets: Secrets,
    *,
    caller: Principal | None,
    card_id: int,
    idempotency_key: str,
    now: datetime,
) -> CardView:
    return _change(
        uow,
        secrets,
        caller=caller,
        card_id=card_id,
        operation="unblock_card",
        idempotency_key=idempotency_key,
        now=now,
    )


def report_card_lost(
    uow: UnitOfWork,
    secrets: Secrets,
    *,
    caller: Principal | None,
    card_id: int,
    idempotency_key: str,
    now: datetime,
) -> CardView:
    """Block a lost card at once and for good; it can only be replaced."""
    return _change(
        uow,
        secrets,
        caller=caller,
        card_id=card_id,
        operation="report_card_lost",
        idempotency_key=idempotency_key,
        now=now,
    )


def replace_card(
    uow: UnitOfWork,
    secrets: Secrets,
    *,
    caller: Principal | None,
    card_id: int,
    pan: str | None,
    idempotency_key: str,
    now: datetime,
) -> CardView:
    """Retire a card and link a new one to its wallet: a physical card needs the new card's
    ``pan``; a virtual card gets a new number."""
    now = require_aware(now)
    pan = normalize_pan(pan) if pan is not None else None

    def action() -> CardChanged:
        old = _visible_card(uow, caller, card_id, change=True, lock=True)
        status = CardState(old.status).replaced()
        if old.form is CardForm.PHYSICAL and pan is None:
            raise InvalidCardNumber(
                "a physical card is replaced by the new card's number", field="pan"
            )
        uow.cards.set_card_status(old.id, status, at=now)
        new_id = _add_card(
            uow,
            secrets,
            wallet_id=old.wallet_id,
            region_id=old.region_id,
            pan=pan,
            replaces_card_id=old.id,
            now=now,
        )
        return CardChanged(new_id)

    digest = secrets.pan_digest(pan) if pan else None
    changed = _once(
        uow,
        caller=caller,
        operation="replace_card",
        idempotency_key=idempotency_key,
        now=now,
        action=action,
        subject_id=card_id,
        pan_digest=digest,
    )
    return card(uow, secrets, caller=caller, card_id=changed.card_id)


def card(uow: UnitOfWork, secrets: Secrets, *, caller: Principal | None, card_id: int) -> CardView:
    with uow:
        row = _visible_card(uow, caller, card_id, change=False)
    return _view(row, secrets, caller)


def cards(
    uow: UnitOfWork,
    secrets: Secrets,
    *,
    caller: Principal | None,
    region_id: int | None,
    status: CardStatus | None = None,
) -> list[CardView]:
    """A citizen's own cards; an official's (or the command line's) region's cards (those in
    ``status`` only, if given)."""
    with uow:
        if caller is not None and caller.kind is UserKind.CITIZEN:
            rows = uow.cards.cards_of_citizen(caller.citizen())
        else:
            if region_id is None:
                raise InvalidInput("name the region whose cards to list", field="region_id")
            if caller is not None:
                caller.official(region_id)
            rows = uow.cards.cards_of_region(region_id, limit=CARDS_LISTED_MAX, status=status)
    return [_view(row, secrets, caller) for row in rows]


def set_card_acceptor(
    uow: UnitOfWork,
    *,
    caller: Principal | None,
    merchant_id: int,
    acceptor_id: str,
    idempotency_key: str,
    now: datetime,
) -> CardAcceptor:
    """Name the card network's merchant id (DE42) of a member merchant: its card payments are
    then paid to it. An id is given to one merchant only."""
    now = require_aware(now)
    acceptor_id = acceptor_id.rstrip()
    if not ACCEPTOR_ID.fullmatch(acceptor_id):
        raise InvalidInput(
            "a card merchant id (DE42) is 1 to 15 letters, digits or spaces", field="acceptor_id"
        )

    def action() -> CardAcceptor:
        merchant = uow.records.merchant(merchant_id).merchant
        if caller is not None:
            missing = MerchantNotFound(f"no merchant {merchant_id}", merchant_id=merchant_id)
            caller.official(merchant.region_id, at_least=OfficialRole.OPERATOR, missing=missing)
        uow.cards.add_acceptor(
            region_id=merchant.region_id, acceptor_id=acceptor_id, merchant_id=merchant_id, at=now
        )
        return CardAcceptor(acceptor_id, merchant_id, merchant.region_id)

    return run_in_transaction(
        uow,
        action,
        once=Once(
            operation="set_card_acceptor",
            key=scoped_key("card-acceptor", _owner(caller), idempotency_key),
            request={"merchant_id": merchant_id, "acceptor_id": acceptor_id},
            now=now,
            result_type=CardAcceptor,
        ),
    )


# -- what the changes share ---------------------------------------------------------------


_TRANSITIONS = {
    "block_card": CardState.blocked,
    "unblock_card": CardState.unblocked,
    "report_card_lost": CardState.lost,
}


def _change(
    uow: UnitOfWork,
    secrets: Secrets,
    *,
    caller: Principal | None,
    card_id: int,
    operation: str,
    idempotency_key: str,
    now: datetime,
) -> CardView:
    now = require_aware(now)

    def action() -> CardChanged:
        row = _visible_card(uow, caller, card_id, change=True, lock=True)
        uow.cards.set_card_status(row.id, _TRANSITIONS[operation](CardState(row.status)), at=now)
        return CardChanged(row.id)

    _once(
        uow,
        caller=caller,
        operation=operation,
        idempotency_key=idempotency_key,
        now=now,
        action=action,
        subject_id=card_id,
        pan_digest=None,
    )
    return card(uow, secrets, caller=caller, card_id=card_id)


def _once(
    uow: UnitOfWork,
    *,
    caller: Principal | None,
    operation: str,
    idempotency_key: str,
    now: datetime,
    action: Callable[[], CardChanged],
    subject_id: int | None,
    pan_digest: str | None,
) -> CardChanged:
    return run_in_transaction(
        uow,
        action,
        once=Once(
            operation=operation,
            key=scoped_key(operation, _owner(caller), idempotency_key),
            request={"subject_id": subject_id, "pan": pan_digest},
            now=now,
            result_type=CardChanged,
        ),
    )


def _owner(caller: Principal | None) -> str:
    return "cli" if caller is None else caller_scope(caller)


def _wallet_for(uow: UnitOfWork, caller: Principal | None, wallet_id: int | None) -> _Wallet:
    if caller is None:
        if wallet_id is None:
            raise InvalidInput("name the wallet the card pays from", field="wallet_id")
        wallet = uow.records.wallet(wallet_id, lock=True)
        return _Wallet(wallet.id, wallet.region_id)
    citizen_id = caller.citizen()
    owned = uow.channels.wallets_of_citizen(citizen_id)  # region id -> wallet id
    if wallet_id is None:
        home = uow.channels.home_region(citizen_id)
        if home in owned:
            return _Wallet(owned[home], home)
        if len(owned) != 1:
            raise InvalidInput("you have several wallets: name one", field="wallet_id")
        region_id, only = next(iter(owned.items()))
        return _Wallet(only, region_id)
    for region_id, owned_id in owned.items():
        if owned_id == wallet_id:
            return _Wallet(wallet_id, region_id)
    raise WalletNotFound(f"you have no wallet {wallet_id}", wallet_id=wallet_id)


@dataclass(frozen=True)
class _Wallet:
    id: int
    region_id: int


def _add_card(
    uow: UnitOfWork,
    secrets: Secrets,
    *,
    wallet_id: int,
    region_id: int,
    pan: str | None,
    replaces_card_id: int | None,
    now: datetime,
) -> int:
    serial = None if pan else random.token_hex(16)
    number = pan or virtual_pan(secrets.virtual_card_mac(serial or ""))
    return uow.cards.add_card(
        region_id=region_id,
        wallet_id=wallet_id,
        form=(CardForm.PHYSICAL if pan else CardForm.VIRTUAL).value,
        pan_hmac=secrets.pan_digest(number),
        last_four=number[-4:],
        virtual_serial=serial,
        status=CardStatus.ACTIVE.value,
        replaces_card_id=replaces_card_id,
        created_at=now,
        status_changed_at=now,
    )


def _visible_card(
    uow: UnitOfWork, caller: Principal | None, card_id: int, *, change: bool, lock: bool = False
) -> CardRow:
    row = uow.cards.card(card_id, lock=lock)
    missing = CardNotFound(f"no card {card_id}", card_id=card_id)
    if row is None:
        raise missing
    if caller is None:
        return row
    if caller.kind is UserKind.CITIZEN:
        if row.citizen_id != caller.citizen_id:
            raise missing
        return row
    role = OfficialRole.OPERATOR if change else OfficialRole.VIEWER
    caller.official(row.region_id, at_least=role, missing=missing)
    return row


def _view(row: CardRow, secrets: Secrets, caller: Principal | None) -> CardView:
    shows_number = caller is None or caller.kind is UserKind.CITIZEN
    pan = None
    if row.virtual_serial is not None and shows_number:
        pan = virtual_pan(secrets.virtual_card_mac(row.virtual_serial))
    return CardView(
        row.id,
        row.wallet_id,
        row.region_id,
        row.form.value,
        row.last_four,
        row.status.value,
        row.replaces_card_id,
        row.created_at,
        row.status_changed_at,
        pan,
    )
