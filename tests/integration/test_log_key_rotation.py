"""Rotating the log's key: the audit checks each checkpoint with the key in force at its size,
the old key signs nothing after the handover, and a forged or broken handover is named."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, Executable, update
from sqlalchemy.exc import DBAPIError

from dongne.adapters.db.log_tables import log_key_rotations
from dongne.services.audit import AuditReport, audit
from dongne.services.log import sequence_pending, sign_checkpoint
from dongne.services.log_key_rotation import rotate_log_key
from dongne.services.unit_of_work import UnitOfWork
from dongne.tlog.checkpoint import Checkpoint
from dongne.tlog.key_rotation import statement_text
from dongne.tlog.merkle import CompactRange
from dongne.tlog.note import Signer, Verifier, generate_key, sign_note
from tests.conftest import NOW
from tests.factories import World
from tests.helpers import refused

ORIGIN = "rotation.dongne.localhost/log"


def _key() -> Signer:
    return Signer.from_key(generate_key(ORIGIN)[0])


def _checkpoint(uow: UnitOfWork, world: World, signer: Signer, minutes: int) -> int:
    world.fund(1_000)
    sequence_pending(uow, now=NOW)
    checkpoint = sign_checkpoint(uow, signer=signer, now=NOW + timedelta(minutes=minutes))
    assert checkpoint is not None
    return checkpoint.tree_size


def _audit(uow: UnitOfWork, current: Signer) -> AuditReport:
    return audit(uow, log_key=Verifier.from_key(current.verifier_key), batch_size=2)


def _tamper(engine: Engine, statement: Executable) -> None:
    """Run ``statement`` around the append-only guard, as an intruder with the database's
    password would (``test_audit_tampering.py`` does the same to the other log tables)."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            for action in ("update", "delete"):
                connection.exec_driver_sql(f"DROP TRIGGER log_key_rotations_no_{action}")
        else:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        connection.execute(statement)


@pytest.fixture
def rotated(uow: UnitOfWork, world: World) -> tuple[Signer, Signer, int]:
    """Two checkpoints by the old key, a rotation, then two by the new key."""
    old, new = _key(), _key()
    _checkpoint(uow, world, old, 1)
    last_old = _checkpoint(uow, world, old, 2)
    rotation = rotate_log_key(uow, old=old, new=new, now=NOW + timedelta(minutes=3))
    assert rotation.after_tree_size == last_old
    _checkpoint(uow, world, new, 4)
    _checkpoint(uow, world, new, 5)
    return old, new, last_old


def test_after_a_rotation_the_audit_checks_each_checkpoint_with_the_key_of_its_time(
    uow: UnitOfWork, rotated: tuple[Signer, Signer, int]
) -> None:
    _, new, _ = rotated
    report = _audit(uow, new)
    assert report.passed, report.findings
    assert report.checkpoints_checked == 4


def test_the_old_key_signs_nothing_after_the_handover(
    uow: UnitOfWork, world: World, engine: Engine, rotated: tuple[Signer, Signer, int]
) -> None:
    old, _, _ = rotated
    world.fund(1_000)
    sequence_pending(uow, now=NOW)
    with refused(engine, "LOG_KEY_RETIRED"):
        sign_checkpoint(uow, signer=old, now=NOW + timedelta(minutes=9))


def test_a_checkpoint_signed_by_the_old_key_after_the_handover_fails_the_audit(
    uow: UnitOfWork, world: World, rotated: tuple[Signer, Signer, int]
) -> None:
    old, new, _ = rotated
    world.fund(1_000)
    sequence_pending(uow, now=NOW)
    with uow:  # as an intruder holding the old key would add one
        size, right_edge = uow.log.state()
        root = CompactRange.from_bytes(size, right_edge).root()
        note = sign_note(Checkpoint(ORIGIN, size, root).body(), [old])
        uow.log.add_checkpoint(tree_size=size, root_hash=root, note=note, at=NOW)
        uow.commit()
    report = _audit(uow, new)
    assert report.findings == [
        f"checkpoint at size {size}: its signature does not verify with the log's key in force"
        f" (the note carries no signature from a trusted key; trusted keys:"
        f" {ORIGIN}+{new.key_id:08x})"
    ]


def test_a_checkpoint_of_the_old_key_s_time_signed_by_the_new_key_fails_the_audit(
    uow: UnitOfWork, engine: Engine, rotated: tuple[Signer, Signer, int]
) -> None:
    """Moving the handover back would let the new key's signatures cover the old key's time."""
    _, new, last_old = rotated
    _tamper(engine, update(log_key_rotations).values(after_tree_size=last_old - 1))
    findings = _audit(uow, new).findings
    assert len(findings) == 1
    assert findings[0].startswith(f"checkpoint at size {last_old}: its signature does not verify")


def test_a_handover_to_a_key_the_old_key_did_not_sign_for_fails_the_audit(
    uow: UnitOfWork, engine: Engine, rotated: tuple[Signer, Signer, int]
) -> None:
    """An intruder swaps in their own old key and statement: the new key's signature is not
    on it, so the chain from the configured key breaks."""
    _, new, last_old = rotated
    intruder = _key()
    text = statement_text(ORIGIN, intruder.verifier_key, new.verifier_key)
    _tamper(
        engine,
        update(log_key_rotations).values(
            old_key=intruder.verifier_key, statement=sign_note(text, [intruder])
        ),
    )
    findings = _audit(uow, new).findings
    assert findings[0] == (
        f"key rotation after size {last_old}: its statement is not signed by both the old and"
        " the new key"
    )
    assert any("its signature does not verify" in finding for finding in findings[1:])


def test_without_the_rotation_on_record_the_old_checkpoints_fail_the_audit(
    uow: UnitOfWork, engine: Engine, rotated: tuple[Signer, Signer, int]
) -> None:
    """What the audit saw before rotations were recorded: one key for every checkpoint."""
    _, new, _ = rotated
    _tamper(engine, log_key_rotations.delete())
    findings = _audit(uow, new).findings
    assert len(findings) == 2
    assert all("its signature does not verify" in finding for finding in findings)


def test_a_rotation_needs_a_new_key_of_the_same_origin_and_a_checkpoint_between_two(
    uow: UnitOfWork, engine: Engine, rotated: tuple[Signer, Signer, int]
) -> None:
    old, new, _ = rotated
    with refused(engine, "LOG_KEY_RETIRED"):
        rotate_log_key(uow, old=old, new=_key(), now=NOW)
    with refused(engine, "LOG_KEY_UNCHANGED"):
        rotate_log_key(uow, old=new, new=new, now=NOW)
    with refused(engine, "LOG_KEY_UNCHANGED"):
        rotate_log_key(uow, old=new, new=old, now=NOW)
    other = Signer.from_key(generate_key("other.example/log")[0])
    with refused(engine, "LOG_KEY_UNCHANGED"):
        rotate_log_key(uow, old=new, new=other, now=NOW)
    newest = _key()
    rotate_log_key(uow, old=new, new=newest, now=NOW + timedelta(minutes=10))
    with refused(engine, "LOG_KEY_ROTATION_PENDING"):
        rotate_log_key(uow, old=newest, new=_key(), now=NOW + timedelta(minutes=11))


def test_a_recorded_rotation_is_never_edited_or_removed(
    engine: Engine, rotated: tuple[Signer, Signer, int]
) -> None:
    for statement in (
        update(log_key_rotations).values(after_tree_size=0),
        log_key_rotations.delete(),
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(statement)
