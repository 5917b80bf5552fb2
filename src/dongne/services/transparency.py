"""What the public transparency page shows: the log's latest checkpoint and who cosigned it,
how the tree grew, the keys to check it with, and the check of a pasted receipt.

Reading needs no log-in: checkpoints, sizes and keys are what the log already serves at
``/log/checkpoint`` and ``/log/key``. A pasted receipt is checked exactly as ``dongne log
verify-receipt`` checks it, against the operator's key and the configured witnesses' quorum;
nothing in it is trusted but the signatures.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from dongne.domain.leaf import decode_leaf
from dongne.domain.ledger import Posting
from dongne.services.log import checkpoint_with_cosignatures
from dongne.services.unit_of_work import UnitOfWork
from dongne.tlog.cosignature import CosignatureVerifier, witnessed_by
from dongne.tlog.errors import MalformedLogData
from dongne.tlog.note import Verifier
from dongne.tlog.receipt import parse_receipt, verify_receipt

GROWTH_POINTS = 60
"""Checkpoints in the growth chart: the newest ones, enough to see a trend at a glance."""

RECEIPT_MAX_CHARACTERS = 200_000
"""A receipt of a tree of 2^40 leaves is a few kilobytes; anything far bigger is not one."""


@dataclass(frozen=True)
class CheckpointSummary:
    tree_size: int
    root_hash: str
    """Base64, as the checkpoint's note writes it."""
    signed_at: datetime
    cosigned_by: tuple[str, ...]
    """The configured witnesses whose cosignature on it verifies."""


@dataclass(frozen=True)
class GrowthPoint:
    signed_at: datetime
    tree_size: int


@dataclass(frozen=True)
class LogOverview:
    origin: str
    latest: CheckpointSummary | None
    growth: tuple[GrowthPoint, ...]
    """Oldest first."""
    operator_key: str
    witness_keys: tuple[str, ...]
    quorum: int

    @property
    def witnessed(self) -> bool:
        return self.latest is not None and len(self.latest.cosigned_by) >= self.quorum


def log_overview(
    uow: UnitOfWork,
    *,
    log_key: Verifier,
    witnesses: Sequence[CosignatureVerifier],
    quorum: int,
    points: int = GROWTH_POINTS,
) -> LogOverview:
    with uow:
        recent = uow.log.recent_checkpoints(points)
        latest = None
        if recent:
            newest = recent[0]
            note = checkpoint_with_cosignatures(uow, newest)
            latest = CheckpointSummary(
                tree_size=newest.tree_size,
                root_hash=base64.b64encode(newest.root_hash).decode("ascii"),
                signed_at=newest.signed_at,
                cosigned_by=tuple(witnessed_by(note, witnesses)),
            )
    return LogOverview(
        origin=log_key.name,
        latest=latest,
        growth=tuple(GrowthPoint(c.signed_at, c.tree_size) for c in reversed(recent)),
        operator_key=log_key.verifier_key,
        witness_keys=tuple(w.verifier_key for w in witnesses),
        quorum=quorum,
    )


@dataclass(frozen=True)
class ReceiptCheck:
    """A receipt whose signature and proofs verified, and what they showed."""

    origin: str
    transaction_id: int
    transaction_kind: str
    region_id: int
    log_index: int
    tree_size: int
    entries: tuple[Posting, ...]
    consistent_from: int | None
    """The older size the log was proved to have grown from, when the receipt carries one."""
    cosigned_by: tuple[str, ...]
    quorum: int

    @property
    def witnessed(self) -> bool:
        return len(self.cosigned_by) >= self.quorum


def check_receipt(
    text: str,
    *,
    log_key: Verifier,
    witnesses: Sequence[CosignatureVerifier],
    quorum: int,
) -> ReceiptCheck:
    """Check a pasted receipt. Raises ``MalformedLogData`` (``field="receipt"``) for what is
    not a receipt, ``VerificationFailed`` for a receipt that does not check out."""
    receipt = parse_receipt(_json(text))
    checkpoint = verify_receipt(receipt, log_key)
    leaf = decode_leaf(receipt.leaf)
    return ReceiptCheck(
        origin=checkpoint.origin,
        transaction_id=leaf.transaction_id,
        transaction_kind=leaf.kind,
        region_id=leaf.region_id,
        log_index=receipt.log_index,
        tree_size=checkpoint.size,
        entries=leaf.entries,
        consistent_from=receipt.consistency.old_size if receipt.consistency else None,
        cosigned_by=tuple(witnessed_by(receipt.checkpoint, witnesses)),
        quorum=quorum,
    )


def _json(text: str) -> object:
    if not text.strip():
        raise MalformedLogData("paste a receipt", field="receipt")
    if len(text) > RECEIPT_MAX_CHARACTERS:
        raise MalformedLogData("this is far longer than any receipt", field="receipt")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise MalformedLogData(f"not JSON: {error}", field="receipt") from error
