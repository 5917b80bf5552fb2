"""Paper vouchers (지류 상품권) over HTTP.

Officials of a region order print runs (and fetch the printer's PDF and CSV), issue ranges to
sale agents, destroy unsold stock and read the stock by state. A sale agent is a partner app
(a bank) whose API key has the ``paper_sales`` scope: it sells ranges it was issued. A
merchant (owner or staff) redeems a voucher it scanned or typed; a citizen exchanges one into
a wallet. Every write takes an Idempotency-Key; a refused voucher answers with the code of the
first check it failed (``docs/paper-vouchers.md``).
"""

from __future__ import annotations

import datetime
from typing import Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from dongne.adapters.paper_print_files import write_print_csv, write_print_pdf
from dongne.domain.access import OfficialRole, PartnerScope
from dongne.domain.paper import DENOMINATIONS, PaperPrintOrderNotFound, PrintSheet, SerialRange
from dongne.entrypoints.api.deps import AppDep, CallerDep, KeyDep, now
from dongne.entrypoints.api.fields import Count, Id, RequestModel
from dongne.entrypoints.api.v1.problems import PROBLEMS
from dongne.services import paper_counter, paper_printing, paper_reports, paper_stock
from dongne.services.idempotency import caller_scope, scoped_key

router = APIRouter(tags=["paper vouchers"])

RegionId = Path(description="The region's id", ge=1)
PrintOrderId = Path(description="The print order's id", ge=1)
SerialText = Field(
    min_length=1,
    max_length=40,
    pattern=r"^[0-9 -]+$",
    examples=["0001-26-2-0000001-7"],
    description="A serial's 15 digits (dashes and spaces allowed)",
)


class NewPrintOrder(RequestModel):
    counts: dict[Literal["5000", "10000", "50000"], Count] = Field(
        min_length=1,
        examples=[{"10000": 500, "50000": 100}],
        description=f"Vouchers per denomination (won: {', '.join(map(str, DENOMINATIONS))})",
    )


class PrintRangeOut(BaseModel):
    denomination_won: int
    count: int
    first_serial: str
    last_serial: str


class PrintOrderOut(BaseModel):
    print_order_id: int
    region_id: int
    voucher_count: int
    face_won: int
    valid_until: datetime.date
    transaction_id: int
    ranges: list[PrintRangeOut]


class SerialRangeIn(RequestModel):
    first_serial: str = SerialText
    last_serial: str | None = Field(
        default=None, min_length=1, max_length=40, pattern=r"^[0-9 -]+$", description="or one"
    )

    def serials(self) -> SerialRange:
        return SerialRange.parse(self.first_serial, self.last_serial)


class NewIssue(SerialRangeIn):
    agent_id: Id = Field(description="The sale agent: a partner with the paper_sales scope")


class NewDestruction(SerialRangeIn):
    agent_id: Id | None = Field(default=None, description="Returned by this agent; else vault")


class NewSale(SerialRangeIn):
    buyer_identity: str | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        description="An identified buyer's resident number: kept only as a keyed hash; the"
        " program's monthly limit applies to them",
    )


class RangeMoveOut(BaseModel):
    movement_id: int
    kind: str
    region_id: int
    first_serial: str
    last_serial: str
    voucher_count: int
    face_won: int
    paid_won: int = Field(description="A sale's price (face less discount)")
    bonus_won: int = Field(description="A sale's discount, from the month's budget")
    transaction_id: int


VoucherCode = Field(
    min_length=1,
    max_length=60,
    pattern=r"^[0-9 -]+$",
    examples=["0001262000000175577795637"],
    description="The 25 digits a scanner reads (serial, then security code); typed with"
    " dashes or spaces as printed",
)


class NewRedemption(RequestModel):
    code: str = VoucherCode
    entry: Literal["scan", "typed"] = "scan"


class RedemptionOut(BaseModel):
    redemption_id: int
    serial: str
    merchant_id: int
    amount_won: int
    transaction_id: int
    redeemed_at: str


class NewExchange(RequestModel):
    code: str = VoucherCode
    wallet_id: Id | None = Field(default=None, description="Default: your wallet of its region")


class ExchangeOut(BaseModel):
    exchange_id: int
    serial: str
    wallet_id: int
    lot_id: int
    amount_won: int
    paid_won: int
    transaction_id: int
    expires_at: str


class StateTotalsOut(BaseModel):
    count: int
    face_won: int


class StockOut(BaseModel):
    region_id: int
    printed: StateTotalsOut
    by_state: dict[str, StateTotalsOut] = Field(
        description="unissued, with_agent, sold, redeemed, exchanged, destroyed"
    )
    by_denomination: dict[str, dict[str, int]]
    float_won: int = Field(description="Paper in circulation on the ledger")
    balances: bool = Field(description="The states sum to the print run")


@router.post(
    "/regions/{region_id}/paper/print_orders",
    status_code=201,
    response_model=PrintOrderOut,
    responses=PROBLEMS,
)
def order_print(
    body: NewPrintOrder, app: AppDep, caller: CallerDep, key: KeyDep, region_id: int = RegionId
) -> PrintOrderOut:
    """Order a print run (officials, operator role or higher; Idempotency-Key required)."""
    caller.official(region_id, at_least=OfficialRole.OPERATOR)
    result = paper_printing.order_print(
        app.unit_of_work(),
        region_id=region_id,
        counts={int(won): count for won, count in body.counts.items()},
        ordered_by=caller.user_id,
        idempotency_key=scoped_key("paper_print", caller_scope(caller), key),
        now=now(),
    )
    fields = vars(result) | {"ranges": [PrintRangeOut(**vars(r)) for r in result.ranges]}
    return PrintOrderOut(**fields)


def _print_sheet(app: AppDep, caller: CallerDep, print_order_id: int) -> PrintSheet:
    """The order's sheet, for the officials of its region only: anyone else is told it does
    not exist, as they would be for an id that does not."""
    sheet = paper_reports.print_sheet(app.reader(), app.secrets, print_order_id=print_order_id)
    caller.official(
        sheet.region_id,
        missing=PaperPrintOrderNotFound(
            f"no print order {print_order_id}", print_order_id=print_order_id
        ),
    )
    return sheet


@router.get(
    "/paper/print_orders/{print_order_id}/vouchers.csv",
    response_class=Response,
    responses={**PROBLEMS, 200: {"content": {"text/csv": {}}, "description": "One row a voucher"}},
)
def print_file_csv(app: AppDep, caller: CallerDep, print_order_id: int = PrintOrderId) -> Response:
    """The printer's CSV: serial, security code, the 25 digits of the barcode, denomination,
    validity (officials of the region)."""
    return Response(
        write_print_csv(_print_sheet(app, caller, print_order_id)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="paper-{print_order_id}.csv"'},
    )


@router.get(
    "/paper/print_orders/{print_order_id}/vouchers.pdf",
    response_class=Response,
    responses={
        **PROBLEMS,
        200: {"content": {"application/pdf": {}}, "description": "Ten vouchers an A4 page"},
    },
)
def print_file_pdf(app: AppDep, caller: CallerDep, print_order_id: int = PrintOrderId) -> Response:
    """The print proof: each voucher with its Code 128 barcode and QR (officials)."""
    return Response(
        write_print_pdf(_print_sheet(app, caller, print_order_id)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="paper-{print_order_id}.pdf"'},
    )


@router.post(
    "/regions/{region_id}/paper/issues",
    status_code=201,
    response_model=RangeMoveOut,
    responses=PROBLEMS,
)
def issue_to_agent(
    body: NewIssue, app: AppDep, caller: CallerDep, key: KeyDep, region_id: int = RegionId
) -> RangeMoveOut:
    """Hand a range from the vault to a sale agent (officials, operator role or higher)."""
    caller.official(region_id, at_least=OfficialRole.OPERATOR)
    result = paper_stock.issue_to_agent(
        app.unit_of_work(),
        region_id=region_id,
        agent_id=body.agent_id,
        serials=body.serials(),
        idempotency_key=scoped_key("paper_issue", caller_scope(caller), key),
        now=now(),
    )
    return RangeMoveOut(**vars(result))


@router.post(
    "/regions/{region_id}/paper/destructions",
    status_code=201,
    response_model=RangeMoveOut,
    responses=PROBLEMS,
)
def destroy(
    body: NewDestruction, app: AppDep, caller: CallerDep, key: KeyDep, region_id: int = RegionId
) -> RangeMoveOut:
    """Destroy an unsold range, from the vault or returned by an agent (approvers)."""
    caller.official(region_id, at_least=OfficialRole.APPROVER)
    result = paper_stock.destroy(
        app.unit_of_work(),
        region_id=region_id,
        serials=body.serials(),
        agent_id=body.agent_id,
        idempotency_key=scoped_key("paper_destruction", caller_scope(caller), key),
        now=now(),
    )
    return RangeMoveOut(**vars(result))


@router.get("/regions/{region_id}/paper/stock", response_model=StockOut, responses=PROBLEMS)
def stock(app: AppDep, caller: CallerDep, region_id: int = RegionId) -> StockOut:
    """The stock and float by state, which sum to the print run (officials)."""
    caller.official(region_id)
    report = paper_reports.stock_report(app.reader(), region_id=region_id)
    return StockOut(
        region_id=report.region_id,
        printed=StateTotalsOut(**vars(report.printed)),
        by_state={state: StateTotalsOut(**vars(t)) for state, t in report.by_state.items()},
        by_denomination=report.by_denomination,
        float_won=report.float_won,
        balances=report.balances,
    )


@router.post("/paper/sales", status_code=201, response_model=RangeMoveOut, responses=PROBLEMS)
def sell(body: NewSale, app: AppDep, caller: CallerDep, key: KeyDep) -> RangeMoveOut:
    """Sell a range (or one voucher) the agent holds, at the program's discount (sale agents:
    partners with the ``paper_sales`` scope; Idempotency-Key required)."""
    agent_id = caller.partner(PartnerScope.PAPER_SALES)
    assert caller.region_id is not None  # noqa: S101 - a partner always has its region
    result = paper_stock.sell(
        app.unit_of_work(),
        app.secrets,
        agent_id=agent_id,
        region_id=caller.region_id,
        serials=body.serials(),
        buyer_identity=body.buyer_identity,
        idempotency_key=scoped_key("paper_sale", caller_scope(caller), key),
        now=now(),
    )
    return RangeMoveOut(**vars(result))


@router.post(
    "/paper/redemptions", status_code=201, response_model=RedemptionOut, responses=PROBLEMS
)
def redeem(body: NewRedemption, app: AppDep, caller: CallerDep, key: KeyDep) -> RedemptionOut:
    """Take a paper voucher at the counter (merchant owner or staff). A refusal names the
    first check that failed: PAPER_CHECK_DIGIT_WRONG, PAPER_SECURITY_CODE_WRONG,
    PAPER_VOUCHER_NOT_SOLD or _DESTROYED, _OTHER_REGION, _EXPIRED, MERCHANT_NOT_ELIGIBLE,
    PAPER_VOUCHER_ALREADY_REDEEMED or _EXCHANGED."""
    merchant_id = caller.merchant()
    result = paper_counter.redeem(
        app.unit_of_work(),
        app.secrets,
        merchant_id=merchant_id,
        code=body.code,
        entry=body.entry,
        idempotency_key=scoped_key("paper_redemption", merchant_id, key),
        now=now(),
    )
    return RedemptionOut(**vars(result))


@router.post("/paper/exchanges", status_code=201, response_model=ExchangeOut, responses=PROBLEMS)
def exchange(body: NewExchange, app: AppDep, caller: CallerDep, key: KeyDep) -> ExchangeOut:
    """Exchange a paper voucher into your wallet of its region, one way and once (citizens)."""
    citizen_id = caller.citizen()
    result = paper_counter.exchange(
        app.unit_of_work(),
        app.secrets,
        citizen_id=citizen_id,
        code=body.code,
        wallet_id=body.wallet_id,
        idempotency_key=scoped_key("paper_exchange", caller_scope(caller), key),
        now=now(),
    )
    return ExchangeOut(**vars(result))
