"""What a restore may never do: drop leaves that witnesses already cosigned.

A witness that cosigned a checkpoint of size M will refuse (and report) any later checkpoint
that is not an extension of it. A restored database whose log is shorter than M has lost
transactions that the public already holds proof of, and its next checkpoint would be a fork.
So a restore from a backup of N < M leaves is refused, naming leaves N to M−1, unless the
operator forces it (a disaster where nothing newer survives; the witnesses must then be told).
"""

from __future__ import annotations

from dongne.domain.errors import Conflict


class BackupBehindCheckpoint(Conflict):
    """The backup's log is shorter than the latest witnessed checkpoint: restoring it would
    drop ``details['first_missing_leaf']`` to ``details['last_missing_leaf']``."""

    code = "BACKUP_BEHIND_WITNESSED_CHECKPOINT"


class RestoredLogDiverges(Conflict):
    """The restored log's root at the witnessed checkpoint's size is not the checkpoint's: the
    backup holds another history than the one witnesses cosigned."""

    code = "RESTORED_LOG_DIVERGES"


def check_covers(backup_size: int, checkpoint_size: int, *, checkpoint_origin: str) -> None:
    """Refuse a backup of ``backup_size`` leaves when a checkpoint covers more."""
    if backup_size >= checkpoint_size:
        return
    missing = checkpoint_size - backup_size
    raise BackupBehindCheckpoint(
        f"the backup's log has {backup_size:,} leaves but {checkpoint_origin}'s witnessed"
        f" checkpoint covers {checkpoint_size:,}: restoring it would drop leaves"
        f" {backup_size:,}–{checkpoint_size - 1:,} ({missing:,} cosigned transactions)."
        " Restore a newer backup, or pass --force if none exists"
        " (백업이 증인이 서명한 체크포인트보다 오래되었습니다)",
        first_missing_leaf=backup_size,
        last_missing_leaf=checkpoint_size - 1,
        missing_leaves=missing,
        checkpoint_size=checkpoint_size,
    )
