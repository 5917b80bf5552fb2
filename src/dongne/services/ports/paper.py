"""The paper vouchers' store (``uow.paper``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from dongne.adapters.db.paper_records import (
    PaperVoucherRow,
    PrintOrderRow,
    SaleRow,
    StockLine,
)
from dongne.domain.paper import PaperVoucherState, SerialRange


class PaperStore(Protocol):
    """Print orders, vouchers, range movements, redemptions and exchanges."""

    def lock_region(self, region_id: int) -> None: ...

    def last_sequence(self, region_id: int, year: int, denomination_won: int) -> int: ...

    def add_print_order(self, **values: Any) -> int: ...

    def add_vouchers(self, rows: Sequence[dict[str, Any]]) -> None: ...

    def print_order(self, order_id: int) -> PrintOrderRow | None: ...

    def print_orders(self, region_id: int) -> list[PrintOrderRow]: ...

    def vouchers_of_order(self, order_id: int) -> list[PaperVoucherRow]: ...

    def move_range(
        self,
        serials: SerialRange,
        *,
        leaving: Sequence[PaperVoucherState],
        to: PaperVoucherState,
        at: datetime,
        held_by: int | None = None,
        agent_id: int | None = None,
        sale_id: int | None = None,
    ) -> int: ...

    def mark_sold_by(self, serials: SerialRange, sale_id: int) -> None: ...

    def add_movement(self, **values: Any) -> int: ...

    def bought_won(self, buyer_hmac: str, month: str) -> int: ...

    def sale(self, sale_id: int) -> SaleRow: ...

    def voucher(self, serial: str, *, lock: bool = False) -> PaperVoucherRow | None: ...

    def spend(self, voucher_id: int, to: PaperVoucherState, at: datetime) -> bool: ...

    def spent_at(self, voucher_id: int) -> datetime | None: ...

    def add_redemption(self, **values: Any) -> int: ...

    def add_exchange(self, **values: Any) -> int: ...

    def stock(self, region_id: int) -> list[StockLine]: ...

    def printed(self, region_id: int) -> tuple[int, int]: ...

    def spent_won(self, region_id: int) -> tuple[int, int]: ...

    def regions_with_paper(self) -> list[int]: ...
