"""The log leaf: a ledger transaction's canonical bytes (version 1).

Every committed ledger transaction becomes exactly one leaf of the Merkle log. The encoding is
fixed-width big-endian, so one transaction has exactly one encoding and anyone can re-derive it
from the stored rows (docs/leaf-encoding.md is the specification)::

    u8      version                 1
    u64     transaction id
    u64     region id
    u8      kind length, then the kind in ASCII ("payment", "purchase", ...)
    i64     created at, microseconds since 1970-01-01T00:00:00Z
    32      idempotency digest      SHA-256 of the key's UTF-8 bytes; 32 zero bytes if none
    16      salt                    random, chosen when the leaf is sequenced
    u16     entry count, then per entry in ascending account id:
    u64       account id            pseudonymous: the ledger's internal account number
    i64       amount in won         signed, never zero

The salt makes the leaf hash reveal nothing: without it, a guess of (accounts, amount, time)
could be confirmed against a published tile. Accounts appear by internal number only, never by
name, phone or business number.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from dongne.domain.calendar import require_aware
from dongne.domain.errors import InvalidInput
from dongne.domain.ledger import Posting

LEAF_VERSION = 1
SALT_SIZE = 16
NO_IDEMPOTENCY_KEY = bytes(32)
MAX_LEAF_ENTRIES = 0xFFFF
"""The most entries one ledger transaction may have: the encoding counts them in 16 bits."""

_HEAD = struct.Struct(">BQQ")
_TIME_AND_DIGESTS = struct.Struct(">q32s16sH")
_ENTRY = struct.Struct(">Qq")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class MalformedLeaf(InvalidInput):
    """Leaf bytes that are not a version-1 encoding of a ledger transaction."""

    code = "MALFORMED_LEAF"


@dataclass(frozen=True)
class LedgerLeaf:
    transaction_id: int
    region_id: int
    kind: str
    created_at: datetime
    idempotency_digest: bytes
    salt: bytes
    entries: tuple[Posting, ...]

    def encode(self) -> bytes:
        kind = self.kind.encode("ascii")
        entries = sorted(self.entries, key=lambda e: e.account_id)
        return b"".join(
            [
                _HEAD.pack(LEAF_VERSION, self.transaction_id, self.region_id),
                bytes([len(kind)]),
                kind,
                _TIME_AND_DIGESTS.pack(
                    _microseconds(self.created_at),
                    self.idempotency_digest,
                    self.salt,
                    len(entries),
                ),
                *(_ENTRY.pack(e.account_id, e.amount_won) for e in entries),
            ]
        )


def idempotency_digest(key: str | None) -> bytes:
    return NO_IDEMPOTENCY_KEY if key is None else hashlib.sha256(key.encode()).digest()


def ledger_leaf(
    *,
    transaction_id: int,
    region_id: int,
    kind: str,
    created_at: datetime,
    idempotency_key: str | None,
    salt: bytes,
    entries: Sequence[Posting],
) -> LedgerLeaf:
    if len(salt) != SALT_SIZE:
        raise InvalidInput(f"a leaf salt is {SALT_SIZE} bytes, not {len(salt)}")
    return LedgerLeaf(
        transaction_id=transaction_id,
        region_id=region_id,
        kind=kind,
        created_at=require_aware(created_at),
        idempotency_digest=idempotency_digest(idempotency_key),
        salt=salt,
        entries=tuple(entries),
    )


def decode_leaf(data: bytes) -> LedgerLeaf:
    """Read a version-1 leaf back; anything but exactly one valid encoding is refused."""
    try:
        version, transaction_id, region_id = _HEAD.unpack_from(data, 0)
        if version != LEAF_VERSION:
            raise MalformedLeaf(f"leaf version {version} is not {LEAF_VERSION}")
        kind_length = data[_HEAD.size]
        kind_start = _HEAD.size + 1
        kind = data[kind_start : kind_start + kind_length].decode("ascii")
        offset = kind_start + kind_length
        micros, digest, salt, count = _TIME_AND_DIGESTS.unpack_from(data, offset)
        offset += _TIME_AND_DIGESTS.size
        entries = tuple(
            Posting(*_ENTRY.unpack_from(data, offset + i * _ENTRY.size)) for i in range(count)
        )
    except (struct.error, IndexError, UnicodeDecodeError) as error:
        raise MalformedLeaf(f"leaf bytes are truncated or garbled: {error}") from error
    leaf = LedgerLeaf(
        transaction_id=transaction_id,
        region_id=region_id,
        kind=kind,
        created_at=_from_microseconds(micros),
        idempotency_digest=digest,
        salt=salt,
        entries=entries,
    )
    if leaf.encode() != data:
        raise MalformedLeaf("leaf bytes are not the canonical encoding of what they hold")
    return leaf


def _microseconds(at: datetime) -> int:
    delta = require_aware(at) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_microseconds(micros: int) -> datetime:
    return datetime.fromtimestamp(micros // 1_000_000, UTC).replace(microsecond=micros % 1_000_000)
