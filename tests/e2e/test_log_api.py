"""The log's public read API over HTTP, as a client that only has HTTP sees it (tlog-tiles)."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from starlette.exceptions import StarletteDeprecationWarning

from dongne.adapters.db.ledger_tables import ledger_transactions
from dongne.adapters.db.log_tables import log_leaves
from dongne.adapters.log_keys import write_key_pair
from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.domain.leaf import decode_leaf
from dongne.entrypoints.api.app import create_app
from dongne.services.log import sequence_pending
from dongne.tlog.checkpoint import parse_checkpoint
from dongne.tlog.merkle import leaf_hash, root_hash
from dongne.tlog.note import Verifier, open_note
from dongne.tlog.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    Tile,
    TileHashSource,
    parse_entry_bundle,
    tile_path,
)
from tests.conftest import NOW
from tests.factories import World
from tests.readiness import wait_until_healthy

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2 and warns once, on import, when it falls back to httpx.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

ORIGIN = "test.dongne.localhost/log"
AUDITOR_TOKEN = "auditor-token-for-tests"  # noqa: S105 - a test token
IMMUTABLE = "public, max-age=31536000, immutable"
PROBLEM_JSON = "application/problem+json"
MORE_THAN_A_TILE = 300
SMALL_LOG = 5


def _bootstrap(database_url: str, tmp_path: Path, *, checkpoint_interval: float = 1.0) -> App:
    key_path = tmp_path / "log.key"
    write_key_pair(key_path, ORIGIN)
    settings = Settings(
        database_url=database_url,
        log_origin=ORIGIN,
        log_signer_key_path=str(key_path),
        log_checkpoint_interval_seconds=checkpoint_interval,
        log_auditor_token_sha256=[hashlib.sha256(AUDITOR_TOKEN.encode()).hexdigest()],
        log_witnesses=[],
    )
    return bootstrap(settings)


@pytest.fixture
def application(database_url: str, tmp_path: Path) -> Iterator[App]:
    application = _bootstrap(database_url, tmp_path)
    yield application
    application.engine.dispose()


def _fund(application: App, count: int) -> None:
    world = World(application.uow, NOW)
    for _ in range(count):
        world.fund(1_000)


def _publish(application: App) -> int:
    # publish_log sequences only if the sequencer's lock is free, and on PostgreSQL that lock is
    # one advisory lock for the whole database, which other test schemas may hold for a moment;
    # sequencing first, waiting for the lock, makes the checkpoint certain.
    sequence_pending(application.uow, now=NOW)
    published = application.publish_log(NOW, min_interval_seconds=0)
    assert published.checkpoint is not None
    return published.checkpoint.tree_size


def _transaction_count(application: App) -> int:
    with application.engine.connect() as connection:
        query = select(func.count()).select_from(ledger_transactions)
        return int(connection.execute(query).scalar_one())


def _transaction_ids(application: App) -> list[int]:
    with application.engine.connect() as connection:
        query = select(ledger_transactions.c.id).order_by(ledger_transactions.c.id)
        return [int(row.id) for row in connection.execute(query)]


def _leaf_hashes(application: App) -> list[bytes]:
    with application.engine.connect() as connection:
        query = select(log_leaves.c.leaf_hash).order_by(log_leaves.c.leaf_index)
        return [bytes(row.leaf_hash) for row in connection.execute(query)]


def _assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)


def _verifier(client: TestClient) -> Verifier:
    return Verifier.from_key(client.get("/log/key").text.strip())


def _checkpoint_size(client: TestClient) -> int:
    note = client.get("/log/checkpoint").text
    return parse_checkpoint(open_note(note, [_verifier(client)]).text).size


def _tile_width(size: int, level: int, index: int) -> int:
    return min(TILE_WIDTH, (size >> (TILE_HEIGHT * level)) - index * TILE_WIDTH)


def _http_tiles(client: TestClient, size: int) -> TileHashSource:
    """Tiles fetched over HTTP, each as wide as a tree of ``size`` leaves has it."""

    def read_tile(level: int, index: int) -> bytes:
        response = client.get(
            f"/log/{tile_path(Tile(level, index, _tile_width(size, level, index)))}"
        )
        assert response.status_code == 200, response.text
        return bytes(response.content)

    return TileHashSource(read_tile)


# -- /log/checkpoint and /log/key ------------------------------------------------------------


def test_the_checkpoint_is_a_404_problem_until_the_log_has_signed_one(client: TestClient) -> None:
    _assert_problem(client.get("/log/checkpoint"), 404, "NO_CHECKPOINT_YET")


def test_the_checkpoint_verifies_with_the_served_key_and_counts_every_ledger_transaction(
    application: App, client: TestClient
) -> None:
    _fund(application, 3)
    _publish(application)
    response = client.get("/log/checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["cache-control"] == "no-cache"
    opened = open_note(response.text, [_verifier(client)])
    checkpoint = parse_checkpoint(opened.text)
    assert checkpoint.origin == ORIGIN
    assert checkpoint.size == _transaction_count(application) >= 3


def test_the_key_is_the_signers_verifier_key_as_plain_text(
    application: App, client: TestClient
) -> None:
    response = client.get("/log/key")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == application.log_signer().verifier_key + "\n"


# -- /log/tile/<L>/<N>[.p/<W>] ---------------------------------------------------------------


@pytest.fixture
def big_log(application: App) -> int:
    """A log of more than one level-0 tile, published; returns its size."""
    _fund(application, MORE_THAN_A_TILE)
    size = _publish(application)
    assert size > TILE_WIDTH
    return size


def test_a_full_tile_is_8192_bytes_and_cached_forever(client: TestClient, big_log: int) -> None:
    response = client.get("/log/tile/0/000")
    assert response.status_code == 200
    assert len(response.content) == TILE_WIDTH * 32
    assert response.headers["cache-control"] == IMMUTABLE


def test_a_partial_tile_holds_the_stored_leaf_hashes_past_the_full_tile(
    application: App, client: TestClient, big_log: int
) -> None:
    width = big_log - TILE_WIDTH
    response = client.get(f"/log/tile/0/001.p/{width}")
    assert response.status_code == 200
    assert len(response.content) == width * 32
    assert response.content == b"".join(_leaf_hashes(application)[TILE_WIDTH:big_log])
    assert response.headers["cache-control"] != IMMUTABLE


def test_a_tile_wider_than_the_checkpoint_covers_is_not_found(
    client: TestClient, big_log: int
) -> None:
    width = big_log - TILE_WIDTH + 1
    _assert_problem(client.get(f"/log/tile/0/001.p/{width}"), 404, "TILE_NOT_FOUND")
    _assert_problem(client.get("/log/tile/0/001"), 404, "TILE_NOT_FOUND")


@pytest.mark.parametrize("path", ["tile/0/1", "tile/0/x001", "tile/0/001.p/0", "tile/0/000.p/256"])
def test_a_malformed_tile_path_is_a_400_problem(application: App, path: str) -> None:
    with TestClient(create_app(application, publish=False)) as client:
        _assert_problem(client.get(f"/log/{path}"), 400, "MALFORMED_LOG_DATA")


def test_tiles_fetched_over_http_reproduce_the_checkpoints_root(
    client: TestClient, big_log: int
) -> None:
    note = client.get("/log/checkpoint").text
    checkpoint = parse_checkpoint(open_note(note, [_verifier(client)]).text)
    assert checkpoint.size == big_log
    assert root_hash(checkpoint.size, _http_tiles(client, checkpoint.size)) == (
        checkpoint.root_hash
    )


# -- /log/tile/entries/<N>[.p/<W>] -----------------------------------------------------------


@pytest.fixture
def small_log(application: App) -> int:
    _fund(application, SMALL_LOG)
    return _publish(application)


def test_entries_without_a_token_are_401_with_a_bearer_challenge(
    client: TestClient, small_log: int
) -> None:
    response = client.get(f"/log/tile/entries/000.p/{small_log}")
    _assert_problem(response, 401, "AUTHENTICATION_REQUIRED")
    assert response.headers["www-authenticate"] == "Bearer"


def test_entries_with_a_wrong_token_are_403(client: TestClient, small_log: int) -> None:
    response = client.get(
        f"/log/tile/entries/000.p/{small_log}", headers={"Authorization": "Bearer not-it"}
    )
    _assert_problem(response, 403, "NOT_AN_AUDITOR")


def test_an_auditor_reads_entries_that_hash_to_the_tile_and_decode_to_the_transactions(
    application: App, client: TestClient, small_log: int
) -> None:
    response = client.get(
        f"/log/tile/entries/000.p/{small_log}",
        headers={"Authorization": f"Bearer {AUDITOR_TOKEN}"},
    )
    assert response.status_code == 200, response.text
    leaves = parse_entry_bundle(response.content, small_log)
    tile = client.get(f"/log/tile/0/000.p/{small_log}").content
    assert b"".join(leaf_hash(leaf) for leaf in leaves) == tile
    assert [decode_leaf(leaf).transaction_id for leaf in leaves] == _transaction_ids(application)


# -- the publisher and the real server -------------------------------------------------------


def test_the_server_publishes_a_checkpoint_by_itself(database_url: str, tmp_path: Path) -> None:
    application = _bootstrap(database_url, tmp_path, checkpoint_interval=0.05)
    try:
        with TestClient(create_app(application)) as client:
            _fund(application, 1)
            wanted = _transaction_count(application)
            deadline = time.monotonic() + 5
            size = 0
            while size < wanted and time.monotonic() < deadline:
                if client.get("/log/checkpoint").status_code == 200:
                    size = _checkpoint_size(client)
                time.sleep(0.05)
            assert size == wanted
    finally:
        application.engine.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for_key(process: subprocess.Popen[bytes], base_url: str, output: Path) -> str:
    wait_until_healthy(base_url, process, output.read_text)
    response = httpx.get(f"{base_url}/log/key", timeout=10)
    assert response.status_code == httpx.codes.OK, response.text
    return response.text


def test_dongne_serve_answers_with_the_key_it_created_beside_the_database(tmp_path: Path) -> None:
    database = tmp_path / "serve.db"
    port = _free_port()
    command = [
        sys.executable,
        "-c",
        "from dongne.entrypoints.cli.app import main; main()",
        "serve",
        "--port",
        str(port),
        "--database-url",
        f"sqlite:///{database}",
    ]
    output = tmp_path / "serve.log"
    with output.open("wb") as log_file:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter running our own CLI
            command, stdout=log_file, stderr=subprocess.STDOUT, cwd=tmp_path
        )
        try:
            key = _wait_for_key(process, f"http://127.0.0.1:{port}", output)
        finally:
            process.terminate()
            process.wait(timeout=10)
    assert key == Path(f"{database}.log-key.pub").read_text(encoding="utf-8")
    Verifier.from_key(key.strip())
