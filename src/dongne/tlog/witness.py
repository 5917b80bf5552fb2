"""C2SP tlog-witness (c2sp.org/tlog-witness): the add-checkpoint request and the decision.

The request body is an old size line, zero to 63 consistency proof lines, an empty line, then
the signed checkpoint::

    old 20852014\\n
    PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\\n
    \\n
    <signed checkpoint note>

``decide_add_checkpoint`` is the whole witness, pure: given the request, the log's trusted
key(s), the latest checkpoint this witness cosigned for the log, its key and the time, it
returns an ``Outcome`` (HTTP status, content type, body, and the state to store if accepted).
The HTTP layer only parses, looks up the log by ``request.checkpoint().origin``, and stores
``new_state`` atomically with the check of ``latest`` (the spec's rollback race), then
sends the outcome.

The checks, in the spec's order, and its words:

- body does not parse → 400 (a malformed request);
- origin unknown → 404 ("If the checkpoint origin is unknown, the witness MUST respond with a
  404 Not Found");
- no trusted signature verifies → 403 ("If none of the signatures verify against a trusted
  public key ... 403 Forbidden"); a trusted key's line that fails is refused the same way;
- old size > checkpoint size → 400 ("The old size MUST be equal to or lower than the
  checkpoint size. Otherwise ... 400 Bad Request");
- old size ≠ latest cosigned size (0 if none) → 409, body ``<latest size>\\n``, content type
  ``text/x.tlog.size``. A rollback is one of these two: sent with the latest size as old
  size it is a 400, sent with any other old size a 409;
- old size = checkpoint size but a different root → 409 ("If the old size matches the
  checkpoint size, the witness MUST check that the root hashes are also identical. If they
  don't match ... 409 Conflict"). Checked before the proof, whose verification would also
  fail; for size 0 the root must be RFC 6962's empty root;
- proof does not verify → 422. "The proof MUST be empty if the old size is zero": a non-empty
  one is a proof that does not verify, so 422 as well;
- otherwise 200 with the cosignature line, and the new state. Re-submitting the latest
  checkpoint (same size, same root, empty proof) passes every check, so it is cosigned again
  with a fresh timestamp.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from dongne.tlog.checkpoint import (
    EMPTY_ROOT,
    HASH_SIZE,
    MAX_TREE_SIZE,
    Checkpoint,
    parse_checkpoint,
)
from dongne.tlog.cosignature import Cosigner
from dongne.tlog.errors import MalformedLogData, ProofInvalid, SignatureInvalid
from dongne.tlog.merkle import verify_consistency
from dongne.tlog.note import Verifier, decode_base64, encode_base64, open_note, split_note

MAX_PROOF_LINES = 63
SIZE_CONTENT_TYPE = "text/x.tlog.size"
"""The content type of a 409 answer that tells the latest cosigned size."""
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
"""Every other answer: the cosignature lines, or a sentence saying why not."""

_OLD_LINE = re.compile(r"old (0|[1-9][0-9]{0,18})")


@dataclass(frozen=True)
class WitnessedCheckpoint:
    """What a witness remembers of a log: the size and root it last cosigned."""

    size: int
    root_hash: bytes


@dataclass(frozen=True)
class AddCheckpointRequest:
    """An add-checkpoint request: the old size, the proof from it, the signed checkpoint."""

    old_size: int
    consistency_proof: tuple[bytes, ...]
    checkpoint_note: str

    def __post_init__(self) -> None:
        if isinstance(self.old_size, bool) or not 0 <= self.old_size <= MAX_TREE_SIZE:
            raise MalformedLogData(f"the old size must be in 0..2^63-1, not {self.old_size!r}")
        if len(self.consistency_proof) > MAX_PROOF_LINES:
            raise MalformedLogData(
                f"at most {MAX_PROOF_LINES} consistency proof lines,"
                f" not {len(self.consistency_proof)}"
            )
        if any(len(h) != HASH_SIZE for h in self.consistency_proof):
            raise MalformedLogData(f"every consistency proof hash is {HASH_SIZE} bytes")

    def checkpoint(self) -> Checkpoint:
        """The submitted checkpoint, parsed but not verified; ``MalformedLogData`` if bad."""
        text, _ = split_note(self.checkpoint_note)
        return parse_checkpoint(text)

    def encode(self) -> bytes:
        proof = "".join(encode_base64(h) + "\n" for h in self.consistency_proof)
        return f"old {self.old_size}\n{proof}\n{self.checkpoint_note}".encode()


def parse_add_checkpoint(body: bytes) -> AddCheckpointRequest:
    """Parse an add-checkpoint request body; ``MalformedLogData`` if it breaks the format."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedLogData("an add-checkpoint body must be UTF-8") from None
    # Proof lines are never empty, so the first empty line ends them.
    head, separator, note = text.partition("\n\n")
    if not separator:
        raise MalformedLogData("an add-checkpoint body needs an empty line before the checkpoint")
    old_line, *proof_lines = head.split("\n")
    old = _OLD_LINE.fullmatch(old_line)
    if old is None:
        raise MalformedLogData(f"the first line must be 'old <size>', not {old_line!r}")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise MalformedLogData(f"at most {MAX_PROOF_LINES} consistency proof lines")
    request = AddCheckpointRequest(
        old_size=int(old.group(1)),
        consistency_proof=tuple(decode_base64(h, "consistency proof hash") for h in proof_lines),
        checkpoint_note=note,
    )
    request.checkpoint()
    return request


@dataclass(frozen=True)
class Outcome:
    """The witness's answer: what to send back, and what to store if it cosigned."""

    status: int
    content_type: str
    body: bytes
    new_state: WitnessedCheckpoint | None = None

    @property
    def accepted(self) -> bool:
        return self.new_state is not None

    @classmethod
    def cosigned(cls, lines: str, new_state: WitnessedCheckpoint) -> Outcome:
        return cls(200, TEXT_CONTENT_TYPE, lines.encode("utf-8"), new_state)

    @classmethod
    def refused(cls, status: int, reason: str) -> Outcome:
        return cls(status, TEXT_CONTENT_TYPE, (reason + "\n").encode("utf-8"))

    @classmethod
    def conflict(cls, latest_size: int) -> Outcome:
        """409 with the latest cosigned size, so the client can retry from there."""
        return cls(409, SIZE_CONTENT_TYPE, f"{latest_size}\n".encode("ascii"))


def decide_add_checkpoint(
    request: AddCheckpointRequest,
    *,
    log_verifier: Verifier | Sequence[Verifier],
    origin: str,
    latest: WitnessedCheckpoint | None,
    cosigner: Cosigner,
    now_unix: int,
) -> Outcome:
    """Check a request against what this witness knows of the log, and cosign or refuse.

    ``log_verifier`` is the log's key (or its keys, during a rotation), ``origin`` the log's
    origin, ``latest`` what this witness last cosigned for it (None if never), ``now_unix``
    the cosignature's timestamp.
    """
    try:
        checkpoint = request.checkpoint()
    except MalformedLogData as error:
        return Outcome.refused(400, error.message)
    known = latest if latest is not None else WitnessedCheckpoint(0, EMPTY_ROOT)
    refusal = (
        _check_log(request, checkpoint, log_verifier, origin)
        or _check_sizes(request.old_size, checkpoint, known)
        or _check_consistency(known, checkpoint, request.consistency_proof)
    )
    if refusal is not None:
        return refusal
    line = cosigner.cosign(checkpoint.body(), now_unix)
    return Outcome.cosigned(line, WitnessedCheckpoint(checkpoint.size, checkpoint.root_hash))


def _check_log(
    request: AddCheckpointRequest,
    checkpoint: Checkpoint,
    log_verifier: Verifier | Sequence[Verifier],
    origin: str,
) -> Outcome | None:
    if checkpoint.origin != origin:
        return Outcome.refused(404, f"unknown log origin {checkpoint.origin!r}")
    verifiers = [log_verifier] if isinstance(log_verifier, Verifier) else list(log_verifier)
    try:
        open_note(request.checkpoint_note, verifiers)
    except SignatureInvalid as error:
        return Outcome.refused(403, error.message)
    return None


def _check_sizes(
    old_size: int, checkpoint: Checkpoint, known: WitnessedCheckpoint
) -> Outcome | None:
    if old_size > checkpoint.size:
        return Outcome.refused(
            400, f"old size {old_size} is larger than the checkpoint's size {checkpoint.size}"
        )
    if old_size != known.size:
        return Outcome.conflict(known.size)
    return None


def _check_consistency(
    known: WitnessedCheckpoint, checkpoint: Checkpoint, proof: tuple[bytes, ...]
) -> Outcome | None:
    if known.size == checkpoint.size and known.root_hash != checkpoint.root_hash:
        return Outcome.refused(
            409,
            f"the checkpoint has a different root hash for size {checkpoint.size}"
            " than the one this witness cosigned",
        )
    if known.size == 0:
        # RFC 9162 defines no proof from the empty tree; the spec wants none sent.
        if proof:
            return Outcome.refused(422, "the consistency proof from size 0 must be empty")
        return None
    try:
        verify_consistency(
            known.size, checkpoint.size, known.root_hash, checkpoint.root_hash, proof
        )
    except ProofInvalid as error:
        return Outcome.refused(422, f"the consistency proof does not verify: {error.message}")
    return None
