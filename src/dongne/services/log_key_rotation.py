"""Rotating the log's key (``dongne.tlog.key_rotation``): record the handover, and sign no
checkpoint with a key that is not the one in force.

The rotation is recorded in the database, with the log state's row locked as the signer
locks it, so a server still holding the old key cannot slip a checkpoint in after the
handover: from then on it refuses to sign (``LOG_KEY_RETIRED``) until it is restarted with the
new key.
"""

from __future__ import annotations

from datetime import datetime

from dongne.domain.calendar import require_aware
from dongne.domain.errors import Conflict, InvalidInput
from dongne.services.unit_of_work import UnitOfWork
from dongne.tlog.key_rotation import KeyHistory, KeyRotation, sign_rotation
from dongne.tlog.note import Signer, Verifier


class LogKeyRetired(Conflict):
    """The key was rotated out: it may no longer sign the log's checkpoints."""

    code = "LOG_KEY_RETIRED"


class LogKeyUnchanged(InvalidInput):
    """A rotation to the key already in force, or to a key named for another origin."""

    code = "LOG_KEY_UNCHANGED"


class LogKeyRotationPending(Conflict):
    """The last rotation's key has signed no checkpoint yet: publish one before rotating on."""

    code = "LOG_KEY_ROTATION_PENDING"


def check_key_in_force(uow: UnitOfWork, signer: Signer) -> None:
    """Inside an open unit of work: refuse a signer that a recorded rotation retired."""
    rotations = uow.log.key_rotations()
    if rotations and rotations[-1].new_key != signer.verifier_key:
        raise LogKeyRetired(
            f"the log's key was rotated after size {rotations[-1].after_tree_size}; the key"
            f" {signer.name}+{signer.key_id:08x} no longer signs: configure the new key"
            " (DONGNE_LOG_SIGNER_KEY_PATH) and restart",
            after_tree_size=rotations[-1].after_tree_size,
        )


def rotate_log_key(uow: UnitOfWork, *, old: Signer, new: Signer, now: datetime) -> KeyRotation:
    """Hand the log over from ``old`` (the key in force) to ``new``: checkpoints up to the
    latest one stay the old key's, every later one is the new key's."""
    if new.name != old.name:
        raise LogKeyUnchanged(
            f"the new key is named {new.name!r}; the log's key name is its origin {old.name!r}",
            field="key",
        )
    if new.verifier_key == old.verifier_key:
        raise LogKeyUnchanged("the new key is the key in force", field="key")
    with uow:
        uow.log.state()  # locks the state row, as sign_checkpoint does: one at a time
        check_key_in_force(uow, old)
        if any(r.old_key == new.verifier_key for r in uow.log.key_rotations()):
            raise LogKeyUnchanged("the new key signed this log before; a retired key stays so")
        latest = uow.log.latest_checkpoint()
        after_tree_size = latest.tree_size if latest else 0
        rotations = uow.log.key_rotations()
        if rotations and rotations[-1].after_tree_size >= after_tree_size:
            raise LogKeyRotationPending(
                "the key in force has signed no checkpoint yet: run `dongne log publish`"
                " with it, then rotate",
                after_tree_size=after_tree_size,
            )
        rotation = sign_rotation(old, new, after_tree_size)
        uow.log.add_key_rotation(rotation, at=require_aware(now))
        uow.commit()
        return rotation


def key_history(uow: UnitOfWork, current: Verifier) -> KeyHistory:
    """The log's keys over time, ending with ``current`` (inside an open unit of work)."""
    return KeyHistory(current, uow.log.key_rotations())


def log_keys(uow: UnitOfWork, current: Verifier) -> list[Verifier]:
    """Every key the log has signed with, oldest first, ``current`` last."""
    with uow:
        return key_history(uow, current).verifiers()
