"""The sale queue over HTTP: a citizen joins or polls their place in line during a sale.

Both POST and GET join or poll (a retry keeps the place), and answer 200 with a
``Retry-After`` header while the wallet waits. A purchase from a wallet that is not admitted is
answered 429 Too Many Requests with ``Retry-After`` and its place in line, not 202 Accepted:
nothing was accepted to be done later, the client simply asks again after the delay.

The purchase route (and the web page) buy through ``services.sale_queue.purchase_in_turn``:
admitted, then the purchase, which spends the admission in its own transaction; ``SaleQueueWaiting``
is the 429.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from dongne.bootstrap import App
from dongne.entrypoints.api.deps import AppDep, CallerDep, ClockDep
from dongne.entrypoints.api.v1.problems import PROBLEMS
from dongne.services import resources, sale_queue

router = APIRouter(tags=["sale queue"])
WalletId = Path(description="The wallet's id", ge=1)


class SaleQueueOut(BaseModel):
    position: int = Field(description="1 for the next buyer in; 0 once admitted or off-sale")
    admitted: bool = Field(description="True: buy now, before expires_at")
    estimated_wait_seconds: int
    poll_after_seconds: int = Field(description="Ask again after this; also in Retry-After")
    expires_at: datetime | None = Field(
        description="Admitted: the admission lapses then. Waiting: the place is lost then"
        " unless polled again. Null outside a sale."
    )


def _answer(
    app: App, caller_wallet: int, response: Response, clock: sale_queue.Clock
) -> SaleQueueOut:
    status = sale_queue.join_or_poll(
        app.unit_of_work(),
        wallet_id=caller_wallet,
        clock=clock,
        policy=sale_queue.sale_queue_policy(app.settings),
    )
    if not status.admitted:
        response.headers["Retry-After"] = str(status.poll_after_seconds)
    return SaleQueueOut(
        position=status.position,
        admitted=status.admitted,
        estimated_wait_seconds=status.estimated_wait_seconds,
        poll_after_seconds=status.poll_after_seconds,
        expires_at=status.expires_at,
    )


@router.post("/wallets/{wallet_id}/sale_queue", response_model=SaleQueueOut, responses=PROBLEMS)
def join_sale_queue(
    app: AppDep,
    caller: CallerDep,
    clock: ClockDep,
    response: Response,
    wallet_id: int = WalletId,
) -> SaleQueueOut:
    """Take (or keep) a place in the sale's line; poll again within poll_after_seconds."""
    resources.wallet_to_act_on(app.reader(), caller, wallet_id)
    return _answer(app, wallet_id, response, clock)


@router.get("/wallets/{wallet_id}/sale_queue", response_model=SaleQueueOut, responses=PROBLEMS)
def poll_sale_queue(
    app: AppDep,
    caller: CallerDep,
    clock: ClockDep,
    response: Response,
    wallet_id: int = WalletId,
) -> SaleQueueOut:
    """The same as POST: polling is what keeps the place (a silent buyer has left)."""
    resources.wallet_to_act_on(app.reader(), caller, wallet_id)
    return _answer(app, wallet_id, response, clock)
