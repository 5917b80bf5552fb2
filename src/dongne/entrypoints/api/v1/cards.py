"""Card-type vouchers: a citizen's cards (link, block, unblock, report lost, replace), the
region's view for officials, and the card network's merchant ids (DE42) of merchants.

Paying with a card is not here: the card network speaks ISO 8583 to ``dongne card-host``."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from dongne.entrypoints.api.deps import AppDep, CallerDep, KeyDep
from dongne.entrypoints.api.fields import MAX_ID, Id, RequestModel
from dongne.entrypoints.api.v1.payments import NowDep
from dongne.entrypoints.api.v1.problems import PROBLEMS
from dongne.services import cards

router = APIRouter(tags=["cards"])

CardId = Path(description="The card's id", ge=1, le=MAX_ID)
MerchantId = Path(description="The merchant's id", ge=1, le=MAX_ID)
PanField = Field(
    default=None,
    min_length=12,
    max_length=23,
    pattern=r"^[0-9 -]+$",
    description="A physical card's number (Luhn-checked; kept only as a keyed hash and its"
    " last four digits). Without it, a virtual card is made.",
    examples=["4111 1111 1111 1111"],
)


class NewCard(RequestModel):
    wallet_id: Id | None = Field(
        default=None, description="Default: your wallet in your home region, or your only one"
    )
    pan: str | None = PanField


class Replacement(RequestModel):
    pan: str | None = PanField


class NewCardAcceptor(RequestModel):
    acceptor_id: str = Field(
        min_length=1,
        max_length=15,
        pattern=r"^[0-9A-Za-z][0-9A-Za-z -]*$",
        description="The card network's merchant id (ISO 8583 DE42)",
        examples=["DONGNE000000001"],
    )


class CardOut(BaseModel):
    id: int
    wallet_id: int
    region_id: int
    form: str = Field(description="physical or virtual")
    last_four: str
    status: str = Field(description="active, blocked, lost or replaced")
    replaces_card_id: int | None
    created_at: datetime
    status_changed_at: datetime
    pan: str | None = Field(
        description="A virtual card's number, shown to its holder only (derived, never stored)"
    )


class CardAcceptorOut(BaseModel):
    acceptor_id: str
    merchant_id: int
    region_id: int


@router.post("/cards", status_code=201, response_model=CardOut, responses=PROBLEMS)
def link_card(body: NewCard, app: AppDep, caller: CallerDep, key: KeyDep, now: NowDep) -> CardOut:
    """Link a card to your wallet (카드 등록): a physical card by its number, or a new
    virtual card."""
    view = cards.link_card(
        app.unit_of_work(),
        app.secrets,
        caller=caller,
        wallet_id=body.wallet_id,
        pan=body.pan,
        idempotency_key=key,
        now=now,
    )
    return CardOut(**vars(view))


@router.get("/cards", response_model=list[CardOut], responses=PROBLEMS)
def list_cards(
    app: AppDep,
    caller: CallerDep,
    region_id: int | None = Query(default=None, ge=1, le=MAX_ID, description="Officials: whose"),
) -> list[CardOut]:
    """Your cards (a citizen), or a region's cards (its officials)."""
    views = cards.cards(app.reader(), app.secrets, caller=caller, region_id=region_id)
    return [CardOut(**vars(view)) for view in views]


@router.get("/cards/{card_id}", response_model=CardOut, responses=PROBLEMS)
def get_card(app: AppDep, caller: CallerDep, card_id: int = CardId) -> CardOut:
    """One card: yours, or one of your region's."""
    return CardOut(**vars(cards.card(app.reader(), app.secrets, caller=caller, card_id=card_id)))


def _changed(
    change: str, *, app: AppDep, caller: CallerDep, key: str, now: datetime, card_id: int
) -> CardOut:
    view = getattr(cards, change)(
        app.unit_of_work(),
        app.secrets,
        caller=caller,
        card_id=card_id,
        idempotency_key=key,
        now=now,
    )
    return CardOut(**vars(view))


@router.post("/cards/{card_id}/block", response_model=CardOut, responses=PROBLEMS)
def block_card(
    app: AppDep, caller: CallerDep, key: KeyDep, now: NowDep, card_id: int = CardId
) -> CardOut:
    """Block a card (정지): it pays nothing until unblocked."""
    return _changed("block_card", app=app, caller=caller, key=key, now=now, card_id=card_id)


@router.post("/cards/{card_id}/unblock", response_model=CardOut, responses=PROBLEMS)
def unblock_card(
    app: AppDep, caller: CallerDep, key: KeyDep, now: NowDep, card_id: int = CardId
) -> CardOut:
    """Unblock a blocked card; a lost or replaced card stays blocked."""
    return _changed("unblock_card", app=app, caller=caller, key=key, now=now, card_id=card_id)


@router.post("/cards/{card_id}/lost", response_model=CardOut, responses=PROBLEMS)
def report_card_lost(
    app: AppDep, caller: CallerDep, key: KeyDep, now: NowDep, card_id: int = CardId
) -> CardOut:
    """Report a card lost (분실 신고): blocked at once and for good; replace it."""
    return _changed("report_card_lost", app=app, caller=caller, key=key, now=now, card_id=card_id)


@router.post(
    "/cards/{card_id}/replacement", status_code=201, response_model=CardOut, responses=PROBLEMS
)
def replace_card(
    body: Replacement,
    *,
    app: AppDep,
    caller: CallerDep,
    key: KeyDep,
    now: NowDep,
    card_id: int = CardId,
) -> CardOut:
    """Replace a card (재발급): the old one is blocked for good and a new one (a physical
    card's new number, or a new virtual card) takes over its wallet."""
    view = cards.replace_card(
        app.unit_of_work(),
        app.secrets,
        caller=caller,
        card_id=card_id,
        pan=body.pan,
        idempotency_key=key,
        now=now,
    )
    return CardOut(**vars(view))


@router.post(
    "/merchants/{merchant_id}/card_acceptors",
    status_code=201,
    response_model=CardAcceptorOut,
    responses=PROBLEMS,
)
def add_card_acceptor(
    body: NewCardAcceptor,
    *,
    app: AppDep,
    caller: CallerDep,
    key: KeyDep,
    now: NowDep,
    merchant_id: int = MerchantId,
) -> CardAcceptorOut:
    """Name a member merchant's card network id (DE42; officials, operator role): card
    payments carrying it are paid to this merchant."""
    acceptor = cards.set_card_acceptor(
        app.unit_of_work(),
        caller=caller,
        merchant_id=merchant_id,
        acceptor_id=body.acceptor_id,
        idempotency_key=key,
        now=now,
    )
    return CardAcceptorOut(**vars(acceptor))
