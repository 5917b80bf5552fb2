"""``dongne card …`` (cards and the card network's merchant ids) and ``dongne card-host …``
(the ISO 8583 authorization host, its terminal simulator, and clearing)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from dongne.entrypoints.cli.common import (
    DatabaseUrl,
    Field,
    Key,
    command_group,
    json_output,
    key_or_new,
    now_utc,
    open_app,
    out,
    region_id_of,
    reports_errors,
    reports_errors_only,
    say,
    show_record,
    show_rows,
)

card_app = command_group("Card-type vouchers (카드형): cards linked to wallets.")
card_host_app = command_group("The ISO 8583 authorization host of card-type vouchers.")

Pan = Annotated[
    str | None,
    typer.Option("--pan", help="A physical card's number; without it, a virtual card is made."),
]
CARDS = (
    Field("id", "id"),
    Field("wallet", "wallet_id"),
    Field("form", "form"),
    Field("last four", "last_four"),
    Field("status", "status"),
    Field("replaces", "replaces_card_id"),
)


@card_app.command("link")
@reports_errors
def link(
    wallet_id: int, pan: Pan = None, key: Key = None, database_url: DatabaseUrl = None
) -> None:
    """Link a card to WALLET_ID: a physical card by --pan, else a new virtual card (its
    number is shown; dongne keeps only a keyed hash of it and its last four digits)."""
    from dongne.services import cards

    application = open_app(database_url)
    view = cards.link_card(
        application.uow,
        application.secrets,
        caller=None,
        wallet_id=wallet_id,
        pan=pan,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    show_record("card linked (카드 등록)", view)


def _change(operation: str, card_id: int, key: str | None, database_url: str | None) -> None:
    from dongne.services import cards

    application = open_app(database_url)
    change = getattr(cards, operation)
    view = change(
        application.uow,
        application.secrets,
        caller=None,
        card_id=card_id,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    say(f"card {view.id} (…{view.last_four}): {view.status}", **asdict(view))


@card_app.command("block")
@reports_errors
def block(card_id: int, key: Key = None, database_url: DatabaseUrl = None) -> None:
    """Block a card (정지): it pays nothing until unblocked."""
    _change("block_card", card_id, key, database_url)


@card_app.command("unblock")
@reports_errors
def unblock(card_id: int, key: Key = None, database_url: DatabaseUrl = None) -> None:
    """Unblock a blocked card (a lost or replaced one stays blocked)."""
    _change("unblock_card", card_id, key, database_url)


@card_app.command("lost")
@reports_errors
def lost(card_id: int, key: Key = None, database_url: DatabaseUrl = None) -> None:
    """Report a card lost (분실 신고): blocked at once and for good; replace it."""
    _change("report_card_lost", card_id, key, database_url)


@card_app.command("replace")
@reports_errors
def replace(
    card_id: int, pan: Pan = None, key: Key = None, database_url: DatabaseUrl = None
) -> None:
    """Replace a card (재발급): a physical card by the new card's --pan, a virtual card by a
    new number. The old card is blocked for good."""
    from dongne.services import cards

    application = open_app(database_url)
    view = cards.replace_card(
        application.uow,
        application.secrets,
        caller=None,
        card_id=card_id,
        pan=pan,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    show_record("card replaced (재발급)", view)


@card_app.command("list")
@reports_errors
def list_cards(region: str, database_url: DatabaseUrl = None) -> None:
    """The cards of REGION (by its code)."""
    from dongne.services import cards

    application = open_app(database_url)
    views = cards.cards(
        application.reader(),
        application.secrets,
        caller=None,
        region_id=region_id_of(application, region),
    )
    show_rows(CARDS, [asdict(view) for view in views], title=f"cards of {region}")


@card_app.command("merchant-id")
@reports_errors
def merchant_id(
    merchant: int, acceptor_id: str, key: Key = None, database_url: DatabaseUrl = None
) -> None:
    """Name the card network's merchant id (DE42, ACCEPTOR_ID) of MERCHANT: card payments
    carrying it are paid to that merchant. Unknown ids are declined (57)."""
    from dongne.services import cards

    acceptor = cards.set_card_acceptor(
        open_app(database_url).uow,
        caller=None,
        merchant_id=merchant,
        acceptor_id=acceptor_id,
        idempotency_key=key_or_new(key),
        now=now_utc(),
    )
    say(f"card merchant id {acceptor.acceptor_id} → merchant {merchant}", **asdict(acceptor))


# -- the host ---------------------------------------------------------------------------------


@card_host_app.command("serve")
@reports_errors_only
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8583,
    deadline_ms: Annotated[
        int, typer.Option(min=50, help="Decide within this, else answer 91.")
    ] = 2000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Decisions at once.")] = 8,
    database_url: DatabaseUrl = None,
) -> None:
    """Answer the card network in ISO 8583 (0100, 0200, 0400, 0800; docs/card-host.md)."""
    import asyncio

    from dongne.entrypoints.card_host.server import CardHost

    card_host = CardHost(
        open_app(database_url), deadline_seconds=deadline_ms / 1000, workers=workers
    )
    out.print(f"card host: ISO 8583 on {host}:{port}, deadline {deadline_ms} ms", highlight=False)
    try:
        asyncio.run(card_host.serve(host, port))
    except KeyboardInterrupt:
        pass
    finally:
        card_host.close()


@card_host_app.command("simulate")
@reports_errors
def simulate(
    pan: str,
    acceptor_id: Annotated[str, typer.Option("--merchant-id", help="DE42 to send.")],
    amount_won: Annotated[int, typer.Option(min=1)] = 10_000,
    host: str = "127.0.0.1",
    port: int = 8583,
    burst: Annotated[
        int, typer.Option(min=0, max=10_000, help="Then this many purchases at once.")
    ] = 0,
    reverse: Annotated[bool, typer.Option(help="Reverse the purchase after it.")] = True,
) -> None:
    """Play a terminal against a running host: an echo, a purchase, its reversal, and
    optionally a burst of concurrent purchases; prints each answer's DE39."""
    from dongne.entrypoints.card_host.simulator import Terminal
    from dongne.entrypoints.card_host.simulator import burst as send_burst

    with Terminal(host, port, acceptor_id=acceptor_id) as terminal:
        steps = {"echo (0800)": terminal.echo()["39"]}
        request, answer = terminal.purchase(pan, amount_won)
        steps["purchase (0200)"] = answer["39"] + (
            f" approval {answer['38']}" if "38" in answer else ""
        )
        if reverse:
            steps["reversal (0400)"] = terminal.reverse(request)["39"]
    if burst:
        codes = send_burst(
            host,
            port,
            pan=pan,
            amount_won=amount_won,
            count=burst,
            connections=min(burst, 10),
            acceptor_id=acceptor_id,
        )
        steps[f"burst of {burst}"] = ", ".join(f"{code}×{n}" for code, n in sorted(codes.items()))
    show_record("card host simulation", steps)


@card_host_app.command("clear")
@reports_errors
def clear(
    file: Path,
    release_after_days: Annotated[
        int, typer.Option(min=1, help="Release approvals never cleared after this many days.")
    ] = 7,
    database_url: DatabaseUrl = None,
) -> None:
    """Match the card partner's clearing FILE (CSV; docs/card-host.md) against the
    authorizations, then release approvals older than --release-after-days never cleared."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from dongne.adapters.card_clearing_files import read_clearing_file
    from dongne.services import card_clearing

    application = open_app(database_url)
    lines = read_clearing_file(file.read_text(encoding="utf-8"))
    columns = (TextColumn("clearing"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=out, disable=json_output()) as bar:
        task = bar.add_task("clearing", total=len(lines))
        report = card_clearing.clear_file(
            application.uow,
            file_name=file.name,
            lines=lines,
            now=now_utc(),
            progress=lambda done: bar.advance(task, done),
        )
    released = card_clearing.release_uncleared(
        application.uow, after_days=release_after_days, now=now_utc()
    )
    show_record(
        "clearing (매입 대사)",
        {**asdict(report), **{f"uncleared_{k}": v for k, v in asdict(released).items()}},
    )
