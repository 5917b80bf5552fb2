"""A receipt: the proof that one leaf is in the log, checkable offline with the log's key.

JSON, as ``dongne log prove`` prints it::

    {
      "log_index": 41,                 the leaf's index
      "tree_size": 1863,               the size the proof and the checkpoint are for
      "root_hash": "<base64>",         the root at tree_size
      "hashes": ["<base64>", ...],     RFC 9162 inclusion proof, bottom-up
      "leaf": "<base64>",              the leaf's bytes (docs/leaf-encoding.md)
      "leaf_hash": "<base64>",         SHA-256(0x00 || leaf)
      "checkpoint": "<signed note>",   tlog-checkpoint signed by the log (and witnesses)
      "consistency": {                 only when asked: from an older size to tree_size
        "old_size": 1000, "old_root_hash": "<base64>", "hashes": ["<base64>", ...]
      }
    }

Verification trusts nothing in the receipt but the signature: the checkpoint must be signed by
the given key, and every hash must lead to the checkpoint's root.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dongne.tlog.checkpoint import Checkpoint, parse_checkpoint
from dongne.tlog.errors import MalformedLogData, ProofInvalid
from dongne.tlog.merkle import leaf_hash, verify_consistency, verify_inclusion
from dongne.tlog.note import Verifier, open_note


@dataclass(frozen=True)
class ConsistencyProof:
    old_size: int
    old_root_hash: bytes
    hashes: tuple[bytes, ...]


@dataclass(frozen=True)
class Receipt:
    log_index: int
    tree_size: int
    root_hash: bytes
    hashes: tuple[bytes, ...]
    leaf: bytes
    leaf_hash: bytes
    checkpoint: str
    consistency: ConsistencyProof | None = None

    def as_json(self) -> dict[str, Any]:
        receipt: dict[str, Any] = {
            "log_index": self.log_index,
            "tree_size": self.tree_size,
            "root_hash": _b64(self.root_hash),
            "hashes": [_b64(h) for h in self.hashes],
            "leaf": _b64(self.leaf),
            "leaf_hash": _b64(self.leaf_hash),
            "checkpoint": self.checkpoint,
        }
        if self.consistency is not None:
            receipt["consistency"] = {
                "old_size": self.consistency.old_size,
                "old_root_hash": _b64(self.consistency.old_root_hash),
                "hashes": [_b64(h) for h in self.consistency.hashes],
            }
        return receipt


def parse_receipt(data: Any) -> Receipt:
    if not isinstance(data, dict):
        raise MalformedLogData("a receipt is a JSON object")
    consistency = data.get("consistency")
    return Receipt(
        log_index=_int(data, "log_index"),
        tree_size=_int(data, "tree_size"),
        root_hash=_hash(data, "root_hash"),
        hashes=_hashes(data, "hashes"),
        leaf=_bytes(data, "leaf"),
        leaf_hash=_hash(data, "leaf_hash"),
        checkpoint=_str(data, "checkpoint"),
        consistency=None
        if consistency is None
        else ConsistencyProof(
            old_size=_int(consistency, "old_size"),
            old_root_hash=_hash(consistency, "old_root_hash"),
            hashes=_hashes(consistency, "hashes"),
        ),
    )


def verify_receipt(receipt: Receipt, log_key: Verifier) -> Checkpoint:
    """Check the receipt against the log's key; return the checkpoint it is proved in."""
    opened = open_note(receipt.checkpoint, [log_key])
    checkpoint = parse_checkpoint(opened.text)
    if checkpoint.origin != log_key.name:
        raise ProofInvalid(f"the checkpoint is for log {checkpoint.origin!r}, not {log_key.name!r}")
    if (checkpoint.size, checkpoint.root_hash) != (receipt.tree_size, receipt.root_hash):
        raise ProofInvalid(
            f"the receipt claims tree size {receipt.tree_size} and root"
            f" {_b64(receipt.root_hash)}, but the signed checkpoint says {checkpoint.size} and"
            f" {_b64(checkpoint.root_hash)}"
        )
    if leaf_hash(receipt.leaf) != receipt.leaf_hash:
        raise ProofInvalid("the leaf's hash is not SHA-256(0x00 || leaf)")
    verify_inclusion(
        receipt.leaf_hash, receipt.log_index, receipt.tree_size, receipt.hashes, receipt.root_hash
    )
    if receipt.consistency is not None:
        verify_consistency(
            receipt.consistency.old_size,
            receipt.tree_size,
            receipt.consistency.old_root_hash,
            receipt.root_hash,
            receipt.consistency.hashes,
        )
    return checkpoint


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _field(data: Any, name: str) -> Any:
    if not isinstance(data, dict) or name not in data:
        raise MalformedLogData(f"the receipt has no {name!r}")
    return data[name]


def _int(data: Any, name: str) -> int:
    value = _field(data, name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise MalformedLogData(f"the receipt's {name!r} is not a whole number ≥ 0")
    return value


def _str(data: Any, name: str) -> str:
    value = _field(data, name)
    if not isinstance(value, str):
        raise MalformedLogData(f"the receipt's {name!r} is not text")
    return value


def _decode(value: Any, name: str) -> bytes:
    if not isinstance(value, str):
        raise MalformedLogData(f"the receipt's {name!r} is not base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as error:
        raise MalformedLogData(f"the receipt's {name!r} is not valid base64") from error


def _bytes(data: Any, name: str) -> bytes:
    return _decode(_field(data, name), name)


def _hash(data: Any, name: str) -> bytes:
    value = _bytes(data, name)
    if len(value) != 32:
        raise MalformedLogData(f"the receipt's {name!r} is {len(value)} bytes, not 32")
    return value


def _hashes(data: Any, name: str) -> tuple[bytes, ...]:
    values = _field(data, name)
    if not isinstance(values, Sequence) or isinstance(values, str):
        raise MalformedLogData(f"the receipt's {name!r} is not a list")
    hashes = tuple(_decode(v, name) for v in values)
    if any(len(h) != 32 for h in hashes):
        raise MalformedLogData(f"every hash in the receipt's {name!r} is 32 bytes")
    return hashes
