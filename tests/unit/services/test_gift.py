"""Gifts (선물하기), on the fake unit of work."""

from __future__ import annotations

from copy import deepcopy

import pytest

from dongne.domain.errors import (
    GiftNotAllowed,
    GiftReceiveLimitExceeded,
    GiftSendLimitExceeded,
    InsufficientBalance,
)
from dongne.domain.lots import LotKind
from dongne.domain.program import VoucherProgram
from dongne.services.gifts import send_gift
from dongne.services.results import GiftResult
from tests.fakes import FakeWorld, assert_money_is_conserved
from tests.unit.services.steps import NOW, MakeWorld, buy

LIMITED = VoucherProgram(
    brand_name="시루", gift_monthly_send_limit_won=50_000, gift_monthly_receive_limit_won=80_000
)


@pytest.fixture
def limited(make_world: MakeWorld) -> FakeWorld:
    return make_world(LIMITED)


def gift(
    world: FakeWorld, sender: int, receiver: int, amount_won: int, key: str = "gift"
) -> GiftResult:
    return send_gift(
        world.uow,
        sender_wallet_id=sender,
        receiver_wallet_id=receiver,
        amount_won=amount_won,
        idempotency_key=key,
        now=NOW,
    )


def test_a_gift_moves_purchased_value_into_gifted_lots_keeping_expiry_and_paid_share(
    world: FakeWorld,
) -> None:
    sender, receiver = world.citizen(), world.citizen()
    world.fund(10_000)
    source = world.lot(buy(world, sender, 100_000).lot_id)

    gift(world, sender, receiver, 30_000)

    [gifted] = world.lots(receiver)
    assert gifted.kind is LotKind.GIFTED
    assert (gifted.face_won, gifted.paid_won) == (30_000, 27_000)
    assert gifted.expires_at == source.expires_at
    assert world.lot(source.id).remaining_won == 70_000
    assert (world.wallet_balance(sender), world.wallet_balance(receiver)) == (70_000, 30_000)


def test_gifts_up_to_the_monthly_send_limit_go_through(limited: FakeWorld) -> None:
    sender, receiver = limited.citizen(), limited.citizen()
    buy(limited, sender, 100_000)

    gift(limited, sender, receiver, 30_000, key="one")
    gift(limited, sender, receiver, 20_000, key="two")

    assert limited.wallet_balance(receiver) == 50_000
    assert_money_is_conserved(limited.uow.committed)


def test_a_gift_one_won_over_the_send_limit_changes_nothing(limited: FakeWorld) -> None:
    sender, receiver = limited.citizen(), limited.citizen()
    buy(limited, sender, 100_000)
    gift(limited, sender, receiver, 30_000, key="one")
    before = deepcopy(limited.uow.committed)

    with pytest.raises(GiftSendLimitExceeded):
        gift(limited, sender, receiver, 20_001, key="two")

    assert limited.uow.committed == before


def test_a_gift_over_the_receivers_monthly_limit_is_refused(limited: FakeWorld) -> None:
    first, second, receiver = limited.citizen(), limited.citizen(), limited.citizen()
    buy(limited, first, 100_000, key="buy-1")
    buy(limited, second, 100_000, key="buy-2")
    gift(limited, first, receiver, 50_000, key="one")

    with pytest.raises(GiftReceiveLimitExceeded):
        gift(limited, second, receiver, 30_001, key="two")

    assert limited.wallet_balance(receiver) == 50_000


def test_a_wallet_cannot_gift_to_itself(world: FakeWorld) -> None:
    wallet = world.citizen()
    buy(world, wallet, 10_000)

    with pytest.raises(GiftNotAllowed) as refused:
        gift(world, wallet, wallet, 5_000)

    assert refused.value.details["reason"] == "self"


def test_a_gift_goes_only_to_a_wallet_of_the_same_region(world: FakeWorld) -> None:
    sender = world.citizen()
    elsewhere = world.citizen(region_id=world.region(VoucherProgram(brand_name="다른")))
    buy(world, sender, 10_000)

    with pytest.raises(GiftNotAllowed) as refused:
        gift(world, sender, elsewhere, 5_000)

    assert refused.value.details["reason"] == "other_region"


def test_allowance_and_gifted_value_cannot_be_given_on(world: FakeWorld) -> None:
    sender, receiver, third = world.citizen(), world.citizen(), world.citizen()
    buy(world, sender, 10_000)
    gift(world, sender, receiver, 10_000, key="one")
    world.grant_allowance(receiver, 20_000)

    with pytest.raises(InsufficientBalance) as refused:
        gift(world, receiver, third, 1, key="two")

    assert refused.value.details["available_won"] == 0
    assert world.wallet_balance(receiver) == 30_000
