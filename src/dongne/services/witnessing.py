"""Publishing: sequence what is queued, sign a checkpoint, and have witnesses cosign it.

A witness (C2SP tlog-witness) cosigns a checkpoint only after checking a consistency proof
from the last size it cosigned, so the log cannot show different histories to different
people. Each witness is asked from the size it last cosigned for this log; a witness that
remembers another size answers 409 with it, and is asked once more from that size. Witnesses
being down never stops the ledger: the checkpoint is served with the cosignatures it got, and a
k-of-n policy says whether that is enough.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from dongne.adapters.db.log_store import StoredCheckpoint
from dongne.adapters.witness_client import WitnessAnswer
from dongne.domain.errors import DongneError
from dongne.services.log import sequence_pending, sign_checkpoint, tile_source
from dongne.services.unit_of_work import UnitOfWork
from dongne.tlog.cosignature import CosignatureVerifier
from dongne.tlog.merkle import consistency_proof
from dongne.tlog.note import Signer, split_note
from dongne.tlog.witness import AddCheckpointRequest

HTTP_OK = 200
HTTP_CONFLICT = 409


class Witness(Protocol):
    """A witness as the log sees it: its cosigning key and a way to send it requests."""

    @property
    def verifier(self) -> CosignatureVerifier: ...

    def add_checkpoint(self, request_body: bytes) -> WitnessAnswer:
        """POST the body to the witness's add-checkpoint; raise OSError when unreachable."""
        ...


@dataclass
class Published:
    sequenced: int = 0
    checkpoint: StoredCheckpoint | None = None
    witness_outcomes: dict[str, str] = field(default_factory=dict)


def publish(
    uow: UnitOfWork,
    *,
    signer: Signer,
    now: datetime,
    min_interval_seconds: float = 0.0,
    witnesses: Sequence[Witness] = (),
    wait_for_sequencer: bool = False,
) -> Published:
    """With ``wait_for_sequencer=False`` (the server's publisher) a busy sequencer elsewhere
    means this turn signs what is already sequenced; a command waits for it instead."""
    published = Published(sequenced=sequence_pending(uow, now=now, wait=wait_for_sequencer))
    published.checkpoint = sign_checkpoint(
        uow, signer=signer, now=now, min_interval_seconds=min_interval_seconds
    )
    if published.checkpoint is not None:
        for witness in witnesses:
            outcome = ask_to_cosign(uow, published.checkpoint, witness, now=now)
            published.witness_outcomes[witness.verifier.name] = outcome
    return published


def ask_to_cosign(
    uow: UnitOfWork, checkpoint: StoredCheckpoint, witness: Witness, *, now: datetime
) -> str:
    """Ask one witness to cosign; store its cosignature. Returns what happened, in words."""
    name = witness.verifier.name
    with uow:
        old_size = uow.log.last_cosigned_size(name)
    for _ in range(2):
        if old_size >= checkpoint.tree_size:
            return f"already at size {old_size}"
        try:
            answer = witness.add_checkpoint(_request(uow, checkpoint, old_size))
        except OSError as error:
            return f"unreachable: {error}"
        if answer.status == HTTP_CONFLICT:
            remembered = _size_in(answer.body)
            if remembered is None:
                return "answered 409 without a size"
            old_size = remembered
            continue
        if answer.status != HTTP_OK:
            return f"refused with {answer.status}: {answer.body[:200].decode(errors='replace')}"
        return _store_cosignature(uow, checkpoint, witness.verifier, answer.body, now)
    return f"asked twice, still at another size ({old_size})"


def _request(uow: UnitOfWork, checkpoint: StoredCheckpoint, old_size: int) -> bytes:
    with uow:
        proof = (
            consistency_proof(old_size, checkpoint.tree_size, tile_source(uow)) if old_size else []
        )
    return AddCheckpointRequest(old_size, tuple(proof), checkpoint.note).encode()


def _size_in(body: bytes) -> int | None:
    text = body.decode("ascii", errors="replace").strip()
    return int(text) if text.isdigit() else None


def _store_cosignature(
    uow: UnitOfWork,
    checkpoint: StoredCheckpoint,
    verifier: CosignatureVerifier,
    body: bytes,
    now: datetime,
) -> str:
    checkpoint_body, _ = split_note(checkpoint.note)
    for line in body.decode("utf-8", errors="replace").splitlines(keepends=True):
        try:
            if verifier.verify_line(checkpoint_body, line) is None:
                continue
        except DongneError as error:
            return f"sent a cosignature that does not verify: {error.message}"
        with uow:
            uow.log.add_cosignature(
                checkpoint_id=checkpoint.id, witness=verifier.name, signature_line=line, at=now
            )
            uow.commit()
        return "cosigned"
    return "answered 200 without a cosignature from its key"
