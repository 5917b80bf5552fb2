"""The log leaf's canonical encoding (docs/leaf-encoding.md), version 1."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dongne.domain.errors import InvalidInput
from dongne.domain.leaf import (
    NO_IDEMPOTENCY_KEY,
    MalformedLeaf,
    decode_leaf,
    idempotency_digest,
    ledger_leaf,
)
from dongne.domain.ledger import Posting

AT = datetime(2026, 11, 26, 3, 0, 0, 123_456, tzinfo=UTC)
SALT = bytes(range(16))


def a_payment(**changes: object) -> bytes:
    fields: dict[str, object] = {
        "transaction_id": 41,
        "region_id": 1,
        "kind": "payment",
        "created_at": AT,
        "idempotency_key": "pay-1",
        "salt": SALT,
        "entries": (Posting(24, -12_000), Posting(7, 12_000)),
    }
    fields.update(changes)
    return ledger_leaf(**fields).encode()  # type: ignore[arg-type]


def test_the_encoding_is_byte_for_byte_the_documented_layout() -> None:
    expected = b"".join(
        [
            bytes([1]),
            (41).to_bytes(8, "big"),
            (1).to_bytes(8, "big"),
            bytes([7]),
            b"payment",
            int((AT - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1)).to_bytes(
                8, "big", signed=True
            ),
            hashlib.sha256(b"pay-1").digest(),
            SALT,
            (2).to_bytes(2, "big"),
            (7).to_bytes(8, "big"),
            (12_000).to_bytes(8, "big", signed=True),
            (24).to_bytes(8, "big"),
            (-12_000).to_bytes(8, "big", signed=True),
        ]
    )
    assert a_payment() == expected


def test_entries_are_ordered_by_account_so_one_transaction_has_one_encoding() -> None:
    reordered = a_payment(entries=(Posting(7, 12_000), Posting(24, -12_000)))
    assert reordered == a_payment()


def test_the_same_instant_in_another_time_zone_encodes_the_same() -> None:
    seoul = AT.astimezone(timezone(timedelta(hours=9)))
    assert a_payment(created_at=seoul) == a_payment()


def test_another_salt_changes_every_byte_of_the_hash_but_not_the_meaning() -> None:
    other = a_payment(salt=bytes(16))
    assert hashlib.sha256(other).digest() != hashlib.sha256(a_payment()).digest()
    assert decode_leaf(other).entries == decode_leaf(a_payment()).entries


@pytest.mark.parametrize(
    "change",
    [
        {"transaction_id": 42},
        {"region_id": 2},
        {"kind": "purchase"},
        {"created_at": AT + timedelta(microseconds=1)},
        {"idempotency_key": "pay-2"},
        {"idempotency_key": None},
        {"entries": (Posting(24, -12_001), Posting(7, 12_001))},
        {"entries": (Posting(25, -12_000), Posting(7, 12_000))},
    ],
)
def test_every_field_is_in_the_leaf(change: dict[str, object]) -> None:
    assert a_payment(**change) != a_payment()


def test_a_transaction_without_an_idempotency_key_has_the_zero_digest() -> None:
    assert idempotency_digest(None) == NO_IDEMPOTENCY_KEY
    assert decode_leaf(a_payment(idempotency_key=None)).idempotency_digest == bytes(32)


def test_a_salt_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(InvalidInput, match="16 bytes"):
        a_payment(salt=b"short")


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        a_payment(created_at=datetime(2026, 11, 26))  # noqa: DTZ001 - the point of the test


@pytest.mark.parametrize(
    "garble",
    [
        lambda leaf: leaf[:-1],
        lambda leaf: leaf + b"\x00",
        lambda leaf: b"\x02" + leaf[1:],
        lambda leaf: b"",
        lambda leaf: leaf[:17] + b"\xff" + leaf[18:],
    ],
    ids=["truncated", "trailing byte", "version 2", "empty", "kind length past the end"],
)
def test_bytes_that_are_not_exactly_one_leaf_are_refused(garble: object) -> None:
    with pytest.raises(MalformedLeaf):
        decode_leaf(garble(a_payment()))  # type: ignore[operator]


@given(
    transaction_id=st.integers(1, 2**63),
    region_id=st.integers(1, 2**63),
    kind=st.sampled_from(["payment", "purchase", "gift", "refund", "expiry"]),
    micros=st.integers(0, 2**50),
    key=st.none() | st.text(max_size=40),
    salt=st.binary(min_size=16, max_size=16),
    amounts=st.lists(st.integers(1, 10**12), min_size=1, max_size=6),
)
def test_every_leaf_decodes_to_what_was_encoded(
    *,
    transaction_id: int,
    region_id: int,
    kind: str,
    micros: int,
    key: str | None,
    salt: bytes,
    amounts: list[int],
) -> None:
    at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    credits = [Posting(account, amount) for account, amount in enumerate(amounts, 100)]
    entries = (*credits, Posting(1, -sum(amounts)))
    leaf = ledger_leaf(
        transaction_id=transaction_id,
        region_id=region_id,
        kind=kind,
        created_at=at,
        idempotency_key=key,
        salt=salt,
        entries=entries,
    )
    decoded = decode_leaf(leaf.encode())
    assert decoded.encode() == leaf.encode()
    assert decoded.created_at == at
    assert sorted(decoded.entries, key=lambda e: e.account_id) == sorted(
        entries, key=lambda e: e.account_id
    )
