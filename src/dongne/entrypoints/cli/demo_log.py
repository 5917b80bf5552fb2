"""The demo's last act: publish the month to the verifiable log, witnessed, and check it.

Two witnesses run on loopback as real HTTP servers with their own keys and state. The log
sequences every transaction the demo made, signs a checkpoint, and gets both cosignatures;
then a citizen's purchase receipt is proved and verified offline, and the audit rebuilds the
whole log from the ledger.
"""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from dongne.bootstrap import App
from dongne.entrypoints.witness.local import local_witness
from dongne.services import audit, log
from dongne.tlog.cosignature import witnessed_by
from dongne.tlog.receipt import verify_receipt

WITNESS_NAMES = ("witness-a.dongne.localhost", "witness-b.dongne.localhost")
QUORUM = 2


def publish_month(app: App, sample_transaction_id: int, console: Console) -> bool:
    """Return whether the checkpoint is witnessed, the receipt verifies and the audit passes."""
    log_key = app.log_verifier()
    with tempfile.TemporaryDirectory(prefix="dongne-witnesses-") as state_dir, ExitStack() as stack:
        witnesses = [
            stack.enter_context(local_witness(name, Path(state_dir) / f"{name}.db", log_key))
            for name in WITNESS_NAMES
        ]
        published = app.publish_log(
            datetime.now(UTC),
            min_interval_seconds=0,
            witnesses=[w.client for w in witnesses],
            wait_for_sequencer=True,
        )
    if published.checkpoint is None:
        console.print("[red]✗[/] no checkpoint was signed")
        return False
    console.print(
        f"[green]✓[/] the log sequenced {published.sequenced:,} transactions and signed a"
        f" checkpoint at size {published.checkpoint.tree_size:,} ({log_key.name})"
    )
    verifiers = [w.client.verifier for w in witnesses]
    receipt = log.prove_transaction(
        app.reader(), sample_transaction_id, witnesses=verifiers, quorum=QUORUM
    )
    verify_receipt(receipt, log_key)
    cosigners = witnessed_by(receipt.checkpoint, verifiers)
    for name, outcome in published.witness_outcomes.items():
        console.print(f"  witness {name}: {outcome}", highlight=False)
    console.print(
        f"[green]✓[/] receipt for transaction {sample_transaction_id}: leaf"
        f" {receipt.log_index}, {len(receipt.hashes)}-hash inclusion proof, cosigned by"
        f" {len(cosigners)} of {len(witnesses)} witnesses (quorum {QUORUM})"
    )
    report = audit.audit(app.reader(), log_key=log_key)
    if not report.passed:
        console.print(f"[red]✗[/] audit failed: {report.findings[0]}")
        return False
    console.print(
        f"[green]✓[/] audit: {report.leaves_checked:,} leaves and"
        f" {report.checkpoints_checked} checkpoint(s) rebuilt from the ledger match"
    )
    console.print(f"  verifier key: {log_key.verifier_key}", highlight=False)
    return len(cosigners) >= QUORUM
