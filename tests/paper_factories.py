"""Test data for paper vouchers: a region with a sale agent, print runs, and the codes a
counter would scan."""

from __future__ import annotations

from dataclasses import dataclass, field

from dongne.adapters.secrets import Secrets
from dongne.domain.paper import Serial, SerialRange, parse_serial, voucher_code
from dongne.services import accounts, paper_counter, paper_printing, paper_stock
from dongne.services.paper_stock import RangeMoveResult
from tests.factories import World, unique_key

SECRETS = Secrets(pin_key=b"paper-test-pin-key-0123456789abcd", identity_key=b"paper-identity")


@dataclass
class PaperWorld:
    """A ``World`` whose region has a bank selling its paper vouchers."""

    world: World
    secrets: Secrets = SECRETS
    agent_id: int = 0
    printed: dict[int, list[Serial]] = field(default_factory=dict)
    """Every serial printed so far, per denomination, in order."""

    def __post_init__(self) -> None:
        self.agent_id = self.new_agent()

    @property
    def region_id(self) -> int:
        return self.world.region_id

    def new_agent(self, name: str = "농협") -> int:
        return accounts.create_partner(
            self.world.uow,
            region_id=self.region_id,
            name=name,
            scopes=["paper_sales"],
            webhook_url=None,
            now=self.world.now,
        ).id

    def print(self, counts: dict[int, int]) -> paper_printing.PrintOrderResult:
        result = paper_printing.order_print(
            self.world.uow,
            region_id=self.region_id,
            counts=counts,
            idempotency_key=unique_key("print"),
            now=self.world.now,
        )
        for printed in result.ranges:
            first = parse_serial(printed.first_serial)
            self.printed.setdefault(printed.denomination_won, []).extend(
                first.with_sequence(first.sequence + i) for i in range(printed.count)
            )
        return result

    def issue(self, serials: SerialRange, agent_id: int | None = None) -> RangeMoveResult:
        return paper_stock.issue_to_agent(
            self.world.uow,
            region_id=self.region_id,
            agent_id=agent_id or self.agent_id,
            serials=serials,
            idempotency_key=unique_key("issue"),
            now=self.world.now,
        )

    def sell(
        self, serials: SerialRange, *, buyer: str | None = None, agent_id: int | None = None
    ) -> RangeMoveResult:
        return paper_stock.sell(
            self.world.uow,
            self.secrets,
            agent_id=agent_id or self.agent_id,
            region_id=self.region_id,
            serials=serials,
            buyer_identity=buyer,
            idempotency_key=unique_key("sale"),
            now=self.world.now,
        )

    def destroy(self, serials: SerialRange, agent_id: int | None = None) -> RangeMoveResult:
        return paper_stock.destroy(
            self.world.uow,
            region_id=self.region_id,
            serials=serials,
            agent_id=agent_id,
            idempotency_key=unique_key("destroy"),
            now=self.world.now,
        )

    def sold_voucher(self, denomination_won: int = 10_000) -> Serial:
        """Print, issue and sell one voucher; its serial."""
        self.print({denomination_won: 1})
        serial = self.printed[denomination_won][-1]
        self.issue(SerialRange(serial, serial))
        self.sell(SerialRange(serial, serial))
        return serial

    def code(self, serial: Serial) -> str:
        """The 25 digits the voucher's barcode carries."""
        return voucher_code(serial, self.secrets.paper_security_code(serial.text))

    def redeem(
        self, merchant_id: int, code: str, key: str | None = None
    ) -> paper_counter.RedemptionResult:
        return paper_counter.redeem(
            self.world.uow,
            self.secrets,
            merchant_id=merchant_id,
            code=code,
            idempotency_key=key or unique_key("redeem"),
            now=self.world.now,
        )

    def exchange(self, wallet_id: int, code: str) -> paper_counter.ExchangeResult:
        return paper_counter.exchange(
            self.world.uow,
            self.secrets,
            citizen_id=None,
            wallet_id=wallet_id,
            code=code,
            idempotency_key=unique_key("exchange"),
            now=self.world.now,
        )


def one(serial: Serial) -> SerialRange:
    return SerialRange(serial, serial)
