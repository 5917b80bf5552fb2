"""Back up and restore, checked against the witnessed log (``domain.backups``).

A backup is the database's copy (``adapters.backups``) and a manifest beside it
(``<file>.manifest.json``): the log's size and root when the copy began (the copy holds at
least that), and the checkpoint then served. Before a restore, the *reference* is found: the
checkpoint the operator hands in (``--checkpoint``, e.g. fetched from a witness or a mirror of
``/log/checkpoint``), else the newest one the database being replaced holds that the configured
witnesses cosigned (with no witness configured: the newest published). A backup shorter than
the reference is refused, naming the leaves it would drop. After the restore, the restored
log's root at the reference's size must be the reference's, and the audit must pass.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path

from dongne.adapters import backups as copies
from dongne.domain.backups import RestoredLogDiverges, check_covers
from dongne.domain.errors import InvalidInput
from dongne.services.audit import AuditReport, audit
from dongne.services.log import checkpoint_with_cosignatures, tile_source
from dongne.services.unit_of_work import UnitOfWork
from dongne.tlog.checkpoint import open_checkpoint
from dongne.tlog.cosignature import CosignatureVerifier, witnessed_by
from dongne.tlog.errors import VerificationFailed
from dongne.tlog.key_rotation import KeyRotation
from dongne.tlog.merkle import root_hash
from dongne.tlog.note import Verifier

MANIFEST_SUFFIX = ".manifest.json"


@dataclass(frozen=True)
class Manifest:
    engine: str
    taken_at: str
    tree_size: int
    root_hash_hex: str
    checkpoint: str | None

    def save(self, backup: Path) -> Path:
        path = manifest_path(backup)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        return path


@dataclass(frozen=True)
class Reference:
    """The checkpoint a restored log must still contain."""

    tree_size: int
    root_hash: bytes
    origin: str
    source: str


@dataclass(frozen=True)
class RestoreCheck:
    reference: Reference | None
    audit: AuditReport


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + MANIFEST_SUFFIX)


def take_backup(uow: UnitOfWork, *, database_url: str, target: Path, now: datetime) -> Manifest:
    """Copy the database to ``target`` and write its manifest beside it."""
    with uow:
        size = uow.log.tree_size()
        root = root_hash(size, tile_source(uow)) if size else b""
        latest = uow.log.latest_checkpoint()
        note = checkpoint_with_cosignatures(uow, latest) if latest else None
    copies.copy_database(database_url, target)
    engine = "sqlite" if copies.is_sqlite(database_url) else "postgresql"
    manifest = Manifest(engine, now.isoformat(), size, root.hex(), note)
    manifest.save(target)
    return manifest


def backup_tree_size(backup: Path, *, database_url: str) -> int:
    """How many leaves the backup's log holds: read from a SQLite copy itself, else from its
    manifest (a lower bound: the copy began after it was read)."""
    if copies.is_sqlite(database_url):
        size = copies.tree_size_in_sqlite_copy(backup)
        if size is not None:
            return size
    path = manifest_path(backup)
    if not path.is_file():
        raise InvalidInput(f"no manifest beside the backup ({path}); `dongne backup` writes one")
    size_in_manifest: int = json.loads(path.read_text(encoding="utf-8"))["tree_size"]
    return size_in_manifest


def witnessed_reference(
    uow: UnitOfWork, *, witnesses: Sequence[CosignatureVerifier], quorum: int, origin: str
) -> Reference | None:
    """The newest checkpoint the database holds that ``quorum`` (at least one) of the
    witnesses cosigned; with no witness configured, the newest published one."""
    with uow:
        checkpoints = uow.log.checkpoints()
        needed = max(quorum, 1) if witnesses else 0
        for checkpoint in reversed(checkpoints):
            note = checkpoint_with_cosignatures(uow, checkpoint)
            if len(witnessed_by(note, witnesses)) >= needed:
                source = f"checkpoint {checkpoint.id} of {checkpoint.signed_at.isoformat()}"
                return Reference(checkpoint.tree_size, checkpoint.root_hash, origin, source)
    return None


def reference_from_note(
    note: str,
    *,
    log_keys: Sequence[Verifier],
    witnesses: Sequence[CosignatureVerifier],
    quorum: int,
) -> Reference:
    """A checkpoint handed in by the operator: the log's own signature (by any key it has
    had: the checkpoint may predate a rotation), and ``quorum`` of the configured witnesses'
    cosignatures, must verify."""
    try:
        checkpoint, _ = open_checkpoint(note, log_keys)
    except VerificationFailed as error:
        raise InvalidInput(
            f"the checkpoint is not signed by this log's key: {error}", field="checkpoint"
        ) from error
    cosigned = witnessed_by(note, witnesses)
    if len(cosigned) < quorum:
        raise InvalidInput(
            f"the checkpoint has {len(cosigned)} of the {quorum} cosignatures the quorum needs",
            field="checkpoint",
        )
    return Reference(checkpoint.size, checkpoint.root_hash, checkpoint.origin, "--checkpoint")


def check_restorable(backup_size: int, reference: Reference | None, *, force: bool) -> None:
    if reference is None or force:
        return
    check_covers(backup_size, reference.tree_size, checkpoint_origin=reference.origin)


def restore_backup(source: Path, *, database_url: str) -> None:
    copies.load_database(source, database_url)


def key_rotations(uow: UnitOfWork) -> list[KeyRotation]:
    """The log's key rotations, read from the database before a restore replaces it."""
    with uow:
        return uow.log.key_rotations()


def carry_key_rotations(
    uow: UnitOfWork, rotations: Sequence[KeyRotation], *, now: datetime
) -> list[KeyRotation]:
    """Record in the restored database the rotation its backup predates, so the checkpoints
    it holds verify with the old key and the next ones with the key configured now.

    The handover statement names no size, so it moves to the restored log's latest
    checkpoint. Two rotations since the backup cannot be carried: the middle key would have
    signed nothing of the restored log."""
    with uow:
        known = {rotation.new_key for rotation in uow.log.key_rotations()}
        missing = [rotation for rotation in rotations if rotation.new_key not in known]
        if not missing:
            return []
        if len(missing) > 1:
            raise InvalidInput(
                f"the log's key was rotated {len(missing)} times since this backup; restore a"
                " backup taken after the first of those rotations",
                field="backup",
            )
        latest = uow.log.latest_checkpoint()
        carried = replace(missing[0], after_tree_size=latest.tree_size if latest else 0)
        uow.log.add_key_rotation(carried, at=now)
        uow.commit()
        return [carried]


def verify_restored(
    uow: UnitOfWork,
    reference: Reference | None,
    *,
    log_key: Verifier,
    witness_keys: Sequence[CosignatureVerifier],
    on_progress: Callable[[int, int], None] | None = None,
) -> RestoreCheck:
    """The restored log still holds the reference (same root at its size), and audits."""
    if reference is not None:
        with uow:
            size = uow.log.tree_size()
            if size >= reference.tree_size:
                root = root_hash(reference.tree_size, tile_source(uow))
                if root != reference.root_hash:
                    raise RestoredLogDiverges(
                        f"the restored log's root at {reference.tree_size:,} leaves is not the"
                        f" witnessed checkpoint's ({reference.source}): another history",
                        tree_size=reference.tree_size,
                    )
    report = audit(uow, log_key=log_key, witness_keys=witness_keys, on_progress=on_progress)
    return RestoreCheck(reference, report)
