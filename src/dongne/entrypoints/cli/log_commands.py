"""``dongne log …``, ``dongne witness …``, ``dongne audit`` and ``dongne serve``."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dongne.domain.errors import InvalidInput
from dongne.entrypoints.cli.common import (
    EXIT_REFUSED,
    DatabaseUrl,
    Field,
    command_group,
    now_utc,
    open_app,
    out,
    reports_errors,
    reports_errors_only,
    say,
    show_rows,
)

if TYPE_CHECKING:
    from dongne.bootstrap import App

log_app = command_group("The verifiable log: keys, checkpoints, proofs.")
witness_app = command_group("A tlog-witness that cosigns a log's checkpoints.")

Host = Annotated[str, typer.Option(help="Interface to listen on.")]
WitnessKeys = Annotated[
    list[str] | None,
    typer.Option("--witness", help="A witness's verifier key (repeat for each witness)."),
]


@log_app.command("keygen")
@reports_errors_only
def keygen(
    file: Path,
    name: Annotated[str, typer.Option(help="Key name: the log's origin line.")] = (
        "dongne.localhost/log"
    ),
    force: Annotated[bool, typer.Option(help="Replace an existing key file.")] = False,
) -> None:
    """Write a signed-note key pair: FILE (private, mode 0600) and FILE.pub (to publish)."""
    from dongne.adapters.log_keys import write_key_pair

    verifier_key = write_key_pair(file, name, overwrite=force)
    out.print(f"private key: {file}\nverifier key ({file}.pub):\n{verifier_key}", highlight=False)


@log_app.command("key")
@reports_errors_only
def key(database_url: DatabaseUrl = None) -> None:
    """Print the log's verifier key (what clients and witnesses pin)."""
    print(open_app(database_url).log_signer().verifier_key)


@log_app.command("rotate-key")
@reports_errors
def rotate_key(
    new_key_file: Annotated[
        Path, typer.Argument(help="The new key, from `dongne log keygen` with the log's origin.")
    ],
    database_url: DatabaseUrl = None,
) -> None:
    """Hand the log over to a new key: the key in force and the new one both sign the
    handover, checkpoints up to the latest stay the old key's, every later one the new key's."""
    from dongne.adapters.log_keys import read_signer
    from dongne.services.log_key_rotation import rotate_log_key

    application = open_app(database_url)
    try:
        new = read_signer(new_key_file, application.settings.log_origin)
        rotation = rotate_log_key(
            application.unit_of_work(), old=application.log_signer(), new=new, now=now_utc()
        )
    finally:
        application.engine.dispose()
    say(
        f"rotated: checkpoints up to size {rotation.after_tree_size:,} are the old key's, later"
        f" ones the new key's\nnew verifier key:\n{rotation.new_key}\nnow set"
        f" DONGNE_LOG_SIGNER_KEY_PATH={new_key_file} and restart the servers",
        after_tree_size=rotation.after_tree_size,
        old_key=rotation.old_key,
        new_key=rotation.new_key,
    )


@log_app.command("publish")
@reports_errors
def publish(database_url: DatabaseUrl = None) -> None:
    """Sequence every queued transaction, sign a checkpoint, and ask the witnesses."""
    application = open_app(database_url)
    try:
        published = application.publish_log(
            now_utc(), min_interval_seconds=0, wait_for_sequencer=True
        )
    finally:
        application.engine.dispose()
    lines = [f"sequenced {published.sequenced:,} transactions"]
    if published.checkpoint:
        lines.append(f"signed checkpoint at size {published.checkpoint.tree_size:,}")
    lines += [f"witness {name}: {outcome}" for name, outcome in published.witness_outcomes.items()]
    say(
        "\n".join(lines),
        sequenced=published.sequenced,
        checkpoint_size=published.checkpoint.tree_size if published.checkpoint else None,
        witnesses={name: str(outcome) for name, outcome in published.witness_outcomes.items()},
    )


@log_app.command("prove")
@reports_errors_only
def prove(
    tx: Annotated[int, typer.Option("--tx", help="Ledger transaction id.")],
    consistency: Annotated[
        int | None,
        typer.Option("--consistency", help="Also prove the log grew from this older size."),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Print a receipt (JSON) proving the transaction is in the log's latest checkpoint."""
    from dongne.services import log

    application = open_app(database_url)
    application.publish_log(now_utc(), min_interval_seconds=0, wait_for_sequencer=True)
    receipt = log.prove_transaction(
        application.reader(),
        tx,
        consistency_from=consistency,
        witnesses=application.witness_verifiers(),
        quorum=application.settings.log_witness_quorum,
    )
    print(json.dumps(receipt.as_json(), indent=2))


@log_app.command("verify-receipt")
@reports_errors_only
def verify_receipt_command(
    file: Annotated[Path, typer.Argument(help="A receipt from `dongne log prove`; - for stdin.")],
    log_key: Annotated[str, typer.Option("--key", help="The log's verifier key.")],
    witnesses: WitnessKeys = None,
    quorum: Annotated[int, typer.Option(min=0, help="Cosignatures required.")] = 0,
) -> None:
    """Check a receipt offline: signature, inclusion, consistency and witness quorum."""
    from dongne.domain.leaf import decode_leaf
    from dongne.tlog.cosignature import CosignatureVerifier, witnessed_by
    from dongne.tlog.note import Verifier
    from dongne.tlog.receipt import parse_receipt, verify_receipt

    receipt = parse_receipt(_read_json(file))
    checkpoint = verify_receipt(receipt, Verifier.from_key(log_key))
    cosigners = witnessed_by(
        receipt.checkpoint, [CosignatureVerifier.from_key(k) for k in witnesses or []]
    )
    if len(cosigners) < quorum:
        out.print(
            f"[bold red]NOT WITNESSED[/]: {len(cosigners)} of the {quorum} cosignatures"
            f" required ({', '.join(cosigners) or 'none'})"
        )
        raise typer.Exit(EXIT_REFUSED)
    leaf = decode_leaf(receipt.leaf)
    out.print(
        f"[bold green]OK[/]: transaction {leaf.transaction_id} ({leaf.kind}, region"
        f" {leaf.region_id}) is leaf {receipt.log_index} of {checkpoint.origin} at size"
        f" {checkpoint.size}",
        highlight=False,
    )
    for entry in leaf.entries:
        out.print(f"  account {entry.account_id}: {entry.amount_won:+,} won", highlight=False)
    if receipt.consistency:
        out.print(f"  and the log at size {receipt.consistency.old_size} is a prefix of it")
    if cosigners:
        out.print(f"  cosigned by {', '.join(cosigners)}", highlight=False)


def _read_json(file: Path) -> object:
    from dongne.tlog.errors import MalformedLogData

    text = typer.get_text_stream("stdin").read() if str(file) == "-" else None
    try:
        return json.loads(text if text is not None else file.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidInput(f"cannot read {file}: {error.strerror}") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise MalformedLogData(f"{file} is not a JSON receipt: {error}") from error


@log_app.command("auditor-token")
def auditor_token() -> None:
    """Make a bearer token for entry bundles; put its SHA-256 in DONGNE_LOG_AUDITOR_TOKEN_SHA256."""
    token = secrets.token_urlsafe(32)
    out.print(f"token (shown once): {token}", highlight=False)
    out.print(f"sha256: {hashlib.sha256(token.encode()).hexdigest()}", highlight=False)


WhoAllowed = Annotated[
    bool,
    typer.Option(
        "--who-allowed",
        help="Also list who allowed each movement of public money: its approval request,"
        " initiator and approver (결재자).",
    ),
]


@reports_errors_only
def audit(
    database_url: DatabaseUrl = None,
    witnesses: WitnessKeys = None,
    who_allowed: WhoAllowed = False,
) -> None:
    """Rebuild the log and every balance from the stored transactions and compare."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from dongne.services import audit as auditing
    from dongne.tlog.cosignature import CosignatureVerifier

    application = open_app(database_url)
    witness_keys = [CosignatureVerifier.from_key(k) for k in witnesses or []]
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
        transient=True,
    ) as progress:
        task = progress.add_task("rebuilding the log", total=None)
        report = auditing.audit(
            application.reader(),
            log_key=application.log_verifier(),
            witness_keys=witness_keys or application.witness_verifiers(),
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    out.print(
        f"checked {report.leaves_checked:,} leaves of {report.tree_size:,},"
        f" {report.checkpoints_checked:,} checkpoints and {report.cosignatures_checked:,}"
        f" cosignatures; {report.queued:,} transactions wait to be sequenced"
    )
    if who_allowed:
        _show_who_allowed(application)
    if report.passed:
        out.print("[bold green]AUDIT PASSED[/]: the log and the balances match the ledger")
        return
    out.print(f"[bold red]AUDIT FAILED[/]: {report.findings[0]}", highlight=False)
    for finding in report.findings[1:]:
        out.print(f"  also: {finding}", highlight=False)
    raise typer.Exit(EXIT_REFUSED)


def _show_who_allowed(application: App) -> None:
    """Each movement of public money with the approval that allowed it; those without one."""
    from dongne.services import approval_audit

    def person(login: str | None, user_id: int) -> str:
        return f"{login} (#{user_id})" if login else f"#{user_id}"

    allowed = approval_audit.who_allowed(application.reader())
    rows = [
        {
            "transaction": m.transaction_id,
            "kind": m.transaction_kind,
            "request": m.request_id,
            "approval": m.approval_kind,
            "initiator": person(m.requested_by_login, m.requested_by_user_id),
            "approver": person(m.approved_by_login, m.approved_by_user_id),
            "at": m.approved_at,
            "key": "ok" if m.key_matches else "ALTERED",
        }
        for m in allowed
    ]
    fields = [Field(name, name) for name in rows[0]] if rows else []
    show_rows(fields, rows, title="who allowed each movement of public money (결재 내역)")
    unnamed = approval_audit.nobody_named(application.reader())
    if unnamed:
        listed = ", ".join(f"{tid} ({kind})" for tid, kind in unnamed[:20])
        more = f" and {len(unnamed) - 20:,} more" if len(unnamed) > 20 else ""
        out.print(
            f"no approver named (승인자 없음) on {len(unnamed):,} transactions: {listed}{more}",
            highlight=False,
        )
    else:
        out.print("every movement of public money names its approver", highlight=False)


@reports_errors_only
def serve(
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="Worker processes behind the one port (default: one per CPU core on"
            " PostgreSQL, 1 on SQLite). One of them leads: it alone runs the log publisher and"
            " the webhook sender.",
        ),
    ] = None,
    access_log: Annotated[
        bool,
        typer.Option(
            help="An access line a request, route template, status and time (off by default:"
            " it costs CPU per request; DONGNE_ACCESS_LOG=true sets it too)."
        ),
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Run the HTTP service (API, web pages, the log's read API) and the log publisher."""
    from dongne.entrypoints.api import serving

    if access_log:  # read from the environment by every worker's settings, as by this one's
        os.environ["DONGNE_ACCESS_LOG"] = "true"
    application = open_app(database_url)
    count = workers or serving.default_workers(application)
    if count > 1 and not serving.shares_processes(application):
        out.print(
            "메모리 SQLite 데이터베이스는 한 프로세스 안에만 있어 워커 1개로 실행합니다"
            " (an in-memory SQLite database lives in one process: serving with 1 worker)"
        )
        count = 1
    serving.serve(application, host=host, port=port, workers=count, access_log=access_log)


@witness_app.command("keygen")
@reports_errors_only
def witness_keygen(
    file: Path,
    name: Annotated[str, typer.Option(help="The witness's name, e.g. witness.example.org.")],
) -> None:
    """Write a cosigning key pair: FILE (private, mode 0600) and FILE.pub."""
    from dongne.tlog.cosignature import generate_cosigner_key

    if file.exists():
        raise InvalidInput(f"{file} already exists; a witness's key is never replaced silently")
    signer_key, verifier_key = generate_cosigner_key(name)
    file.touch(mode=0o600)
    file.write_text(signer_key + "\n", encoding="utf-8")
    Path(f"{file}.pub").write_text(verifier_key + "\n", encoding="utf-8")
    out.print(f"verifier key ({file}.pub):\n{verifier_key}", highlight=False)


@witness_app.command("serve")
@reports_errors_only
def witness_serve(
    key_file: Annotated[Path, typer.Option("--key", help="The witness's private key file.")],
    state: Annotated[Path, typer.Option(help="The witness's own SQLite state file.")],
    logs: Annotated[
        list[str],
        typer.Option(
            "--log",
            help="A watched log's verifier key; give a log's old and new key while it rotates.",
        ),
    ],
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8100,
) -> None:
    """Cosign the watched logs' checkpoints when they are consistent with what it saw."""
    import uvicorn

    from dongne.adapters.witness_state import WitnessState
    from dongne.entrypoints.witness.app import create_witness_app, watched_logs
    from dongne.tlog.cosignature import Cosigner
    from dongne.tlog.note import Verifier

    cosigner = Cosigner.from_key(key_file.read_text(encoding="utf-8").strip())
    verifiers = [Verifier.from_key(key) for key in logs]
    api = create_witness_app(WitnessState(state), cosigner=cosigner, logs=watched_logs(verifiers))
    uvicorn.run(api, host=host, port=port)
