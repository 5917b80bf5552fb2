"""The witness's one action: check a log's checkpoint and cosign it, or refuse.

The decision is ``dongne.tlog.witness.decide_add_checkpoint`` (pure); this wraps it in the
witness's state lock so the check and the update are one step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from dongne.adapters.witness_state import WitnessState
from dongne.tlog.cosignature import Cosigner
from dongne.tlog.errors import MalformedLogData
from dongne.tlog.note import Verifier
from dongne.tlog.witness import Outcome, decide_add_checkpoint, parse_add_checkpoint

HTTP_BAD_REQUEST = 400
HTTP_NOT_FOUND = 404


def add_checkpoint(
    state: WitnessState,
    body: bytes,
    *,
    logs: Mapping[str, Sequence[Verifier]],
    cosigner: Cosigner,
    now: datetime,
) -> Outcome:
    """``logs`` maps each watched log's origin to its keys: two while its key is rotated."""
    try:
        request = parse_add_checkpoint(body)
        origin = request.checkpoint().origin
    except MalformedLogData as error:
        return Outcome.refused(HTTP_BAD_REQUEST, error.message)
    log_keys = logs.get(origin)
    if not log_keys:
        return Outcome.refused(HTTP_NOT_FOUND, f"this witness does not watch {origin!r}")
    with state.locked() as locked:
        outcome = decide_add_checkpoint(
            request,
            log_verifier=log_keys,
            origin=origin,
            latest=locked.latest(origin),
            cosigner=cosigner,
            now_unix=int(now.timestamp()),
        )
        if outcome.new_state is not None:
            locked.save(origin, outcome.new_state, now)
    return outcome
