"""The audit: rebuild the log and the balances from the stored transactions and compare.

Nothing stored about the log is trusted. Every leaf is recomputed from its transaction's rows
and salt, the tree is rebuilt from those leaves, and then the stored leaf hashes, tiles, the log
state and every signed checkpoint (its signature, by the key in force at its size, and its
root) are checked against the rebuilt tree, and the log's key rotations against each other.
Balances are recomputed from the entries. Findings come in log order, so the first one names
the first transaction or checkpoint that does not match.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dongne.adapters.db.log_store import StoredCheckpoint
from dongne.services.log import leaf_bytes
from dongne.services.log_key_rotation import key_history
from dongne.services.read_models import ledger_problems
from dongne.services.unit_of_work import UnitOfWork
from dongne.tlog.checkpoint import parse_checkpoint
from dongne.tlog.cosignature import CosignatureVerifier
from dongne.tlog.errors import MalformedLogData, SignatureInvalid
from dongne.tlog.key_rotation import KeyHistory
from dongne.tlog.merkle import HASH_SIZE, CompactRange, leaf_hash
from dongne.tlog.note import Verifier, open_note, split_note
from dongne.tlog.tiles import TILE_HEIGHT, TILE_WIDTH, tile_for_node

AUDIT_BATCH_SIZE = 5000


@dataclass
class AuditReport:
    tree_size: int = 0
    leaves_checked: int = 0
    checkpoints_checked: int = 0
    cosignatures_checked: int = 0
    queued: int = 0
    findings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.findings


@dataclass
class _Rebuild:
    """The tree rebuilt so far, the tiles it implies, and the checkpoints still ahead."""

    log_keys: KeyHistory
    checkpoints_ahead: dict[int, StoredCheckpoint]
    tree: CompactRange = field(default_factory=lambda: CompactRange.from_bytes(0, b""))
    tiles: dict[tuple[int, int], bytearray] = field(default_factory=dict)
    """Tiles of level 1 and up, rebuilt; level 0 is checked leaf by leaf."""
    leaf_tile: tuple[int, bytes] = (-1, b"")


def audit(
    uow: UnitOfWork,
    *,
    log_key: Verifier,
    witness_keys: Sequence[CosignatureVerifier] = (),
    batch_size: int = AUDIT_BATCH_SIZE,
    on_progress: Callable[[int, int], None] | None = None,
) -> AuditReport:
    """``log_key`` is the key configured now; the recorded rotations say which key was in
    force before it."""
    report = AuditReport()
    with uow:
        history = key_history(uow, log_key)
        report.findings += history.problems()
        report.tree_size, right_edge = uow.log.state()
        report.queued = uow.log.queued_count()
        checkpoints = uow.log.checkpoints()
        rebuild = _Rebuild(history, {c.tree_size: c for c in checkpoints})
        for start in range(0, report.tree_size, batch_size):
            stop = min(start + batch_size, report.tree_size)
            if not _check_leaves(uow, start, stop, rebuild, report):
                break
            if on_progress:
                on_progress(rebuild.tree.size, report.tree_size)
        _flush_tiles(uow, rebuild, report, final=True)
        for size in sorted(rebuild.checkpoints_ahead):
            report.findings.append(
                f"checkpoint at size {size}: the log holds only {rebuild.tree.size} verifiable"
                " leaves"
            )
        _check_state(rebuild, report, right_edge)
        _check_cosignatures(uow, checkpoints, witness_keys, report)
        _check_every_transaction_logged(uow, report)
    report.findings += ledger_problems(uow)
    return report


def _check_leaves(
    uow: UnitOfWork, start: int, stop: int, rebuild: _Rebuild, report: AuditReport
) -> bool:
    """Recompute leaves [start, stop) and add them to the tree; False when it cannot go on."""
    stored = uow.log.leaves(start, stop)
    ids = [leaf.transaction_id for leaf in stored]
    transactions = {t.transaction_id: t for t in uow.log.transactions(ids)} if ids else {}
    for expected_index, leaf in enumerate(stored, start):
        if leaf.leaf_index != expected_index:
            report.findings.append(f"leaf {expected_index} is missing from the log")
            return False
        transaction = transactions.get(leaf.transaction_id)
        if transaction is None:
            report.findings.append(
                f"leaf {leaf.leaf_index}: transaction {leaf.transaction_id} is missing"
                " (deleted after it was logged)"
            )
            hashed = leaf.leaf_hash
        else:
            hashed = leaf_hash(leaf_bytes(transaction, leaf.salt))
            if hashed != leaf.leaf_hash:
                report.findings.append(
                    f"transaction {leaf.transaction_id} (leaf {leaf.leaf_index}) does not match"
                    " its leaf: its rows changed after it was logged"
                )
        if _tile_hash(uow, rebuild, leaf.leaf_index) != hashed:
            report.findings.append(
                f"leaf {leaf.leaf_index}: the served tile holds another hash (leaves were"
                " reordered or replaced)"
            )
        for height, index, node in rebuild.tree.append(hashed):
            if height and height % TILE_HEIGHT == 0:
                level, tile_index, _ = tile_for_node(height, index)
                rebuild.tiles.setdefault((level, tile_index), bytearray()).extend(node)
        report.leaves_checked += 1
        checkpoint = rebuild.checkpoints_ahead.pop(rebuild.tree.size, None)
        if checkpoint is not None:
            problem = _checkpoint_problem(checkpoint, rebuild.tree.root(), rebuild.log_keys)
            if problem:
                report.findings.append(f"checkpoint at size {checkpoint.tree_size}: {problem}")
            report.checkpoints_checked += 1
    if len(stored) < stop - start:
        report.findings.append(f"leaf {start + len(stored)} is missing from the log")
        return False
    _flush_tiles(uow, rebuild, report, final=False)
    return True


def _tile_hash(uow: UnitOfWork, rebuild: _Rebuild, leaf_index: int) -> bytes:
    tile_index, position = divmod(leaf_index, TILE_WIDTH)
    if rebuild.leaf_tile[0] != tile_index:
        rebuild.leaf_tile = (tile_index, uow.log.read_tile(0, tile_index))
    return rebuild.leaf_tile[1][position * HASH_SIZE : (position + 1) * HASH_SIZE]


def _flush_tiles(uow: UnitOfWork, rebuild: _Rebuild, report: AuditReport, *, final: bool) -> None:
    """Compare every complete tile (and, at the end, the partial ones) with the stored tile."""
    for key in sorted(rebuild.tiles, key=lambda k: (k[1], k[0])):
        expected = bytes(rebuild.tiles[key])
        if not final and len(expected) < TILE_WIDTH * 32:
            continue
        del rebuild.tiles[key]
        level, tile_index = key
        stored = uow.log.read_tile(level, tile_index)
        if stored != expected:
            position = _first_difference(stored, expected) // 32
            report.findings.append(
                f"tile {level}/{tile_index}: hash {position} differs from the rebuilt tree"
                f" (leaf {_first_leaf(level, tile_index, position)} or later was reordered,"
                " replaced or removed)"
            )


def _first_difference(stored: bytes, expected: bytes) -> int:
    for offset, (a, b) in enumerate(zip(stored, expected, strict=False)):
        if a != b:
            return offset
    return min(len(stored), len(expected))


def _first_leaf(level: int, tile_index: int, position: int) -> int:
    return (tile_index * TILE_WIDTH + position) << (TILE_HEIGHT * level)


def _checkpoint_problem(checkpoint: StoredCheckpoint, root: bytes, log_keys: KeyHistory) -> str:
    try:
        log_key = log_keys.key_for(checkpoint.tree_size)
        body = parse_checkpoint(open_note(checkpoint.note, [log_key]).text)
    except (SignatureInvalid, MalformedLogData) as error:
        return f"its signature does not verify with the log's key in force ({error.message})"
    if body.origin != log_key.name:
        return f"it is signed for origin {body.origin!r}, not {log_key.name!r}"
    if (body.size, body.root_hash) != (checkpoint.tree_size, checkpoint.root_hash):
        return "the stored size or root differs from the signed note"
    if body.root_hash != root:
        return "its signed root is not the root of the rebuilt tree"
    return ""


def _check_state(rebuild: _Rebuild, report: AuditReport, right_edge: bytes) -> None:
    if rebuild.tree.size == report.tree_size and rebuild.tree.to_bytes() != right_edge:
        report.findings.append("the sequencer's stored right edge differs from the rebuilt tree")


def _check_cosignatures(
    uow: UnitOfWork,
    checkpoints: Sequence[StoredCheckpoint],
    witness_keys: Sequence[CosignatureVerifier],
    report: AuditReport,
) -> None:
    if not witness_keys:
        return
    for checkpoint in checkpoints:
        body, _ = split_note(checkpoint.note)
        for line in uow.log.cosignature_lines(checkpoint.id):
            for key in witness_keys:
                try:
                    if key.verify_line(body, line) is not None:
                        report.cosignatures_checked += 1
                except SignatureInvalid:
                    report.findings.append(
                        f"checkpoint at size {checkpoint.tree_size}: the cosignature of"
                        f" {key.name} does not verify"
                    )


def _check_every_transaction_logged(uow: UnitOfWork, report: AuditReport) -> None:
    unlogged = uow.ledger_queries.first_unlogged_transaction()
    if unlogged is not None:
        report.findings.append(f"transaction {unlogged} has no leaf and is not queued for one")
    leaves = uow.ledger_queries.leaf_count()
    if leaves != report.tree_size:
        report.findings.append(f"the log state says {report.tree_size} leaves; {leaves} are stored")
