"""A real witness over HTTP: the log pushes checkpoints to it, and it refuses what it must.

Each witness is a uvicorn server on loopback with its own SQLite state (``local_witness``);
the log is an App on SQLite with its own key. Raw requests go through httpx, so the status
codes and content types are what a client on the network sees.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from dongne.adapters.log_keys import write_key_pair
from dongne.adapters.witness_client import HttpWitness, WitnessAnswer
from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.entrypoints.witness.app import MAX_REQUEST_BYTES
from dongne.entrypoints.witness.local import LocalWitness, local_witness
from dongne.services.log import served_checkpoint, tile_source
from dongne.tlog.checkpoint import Checkpoint
from dongne.tlog.cosignature import CosignatureVerifier, witnessed_by
from dongne.tlog.merkle import MemoryHashSource, consistency_proof
from dongne.tlog.note import Signer, generate_key, sign_note, split_note
from dongne.tlog.witness import (
    SIZE_CONTENT_TYPE,
    AddCheckpointRequest,
    WitnessedCheckpoint,
    parse_add_checkpoint,
)
from tests.conftest import NOW
from tests.factories import World

ORIGIN = "witness-test.dongne.localhost/log"
TIMEOUT_SECONDS = 10.0


@dataclass
class RecordingWitness:
    """A witness client that keeps every request body it sends, to see what the log asked."""

    client: HttpWitness
    bodies: list[bytes] = field(default_factory=list)

    @property
    def verifier(self) -> CosignatureVerifier:
        return self.client.verifier

    def add_checkpoint(self, request_body: bytes) -> WitnessAnswer:
        self.bodies.append(request_body)
        return self.client.add_checkpoint(request_body)

    def old_sizes(self) -> list[int]:
        return [parse_add_checkpoint(body).old_size for body in self.bodies]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    key_path = tmp_path / "log.key"
    write_key_pair(key_path, ORIGIN)
    application = bootstrap(
        Settings(
            database_url=f"sqlite:///{tmp_path}/log.db",
            log_signer_key_path=str(key_path),
            log_origin=ORIGIN,
        )
    )
    yield application
    application.engine.dispose()


@pytest.fixture
def world(app: App) -> World:
    return World(app.uow, NOW)


@pytest.fixture
def witness(app: App, tmp_path: Path) -> Iterator[LocalWitness]:
    with local_witness("w1.example", tmp_path / "w1.db", app.log_verifier()) as running:
        yield running


def transactions(world: World, count: int) -> None:
    for _ in range(count):
        world.fund(1_000)


def post(witness: LocalWitness, body: bytes) -> httpx.Response:
    return httpx.post(f"{witness.url}/add-checkpoint", content=body, timeout=TIMEOUT_SECONDS)


def unwitnessed_checkpoint(app: App) -> Checkpoint:
    """Sequence what is queued and sign a checkpoint, asking no witness."""
    published = app.publish_log(NOW, min_interval_seconds=0, witnesses=[])
    assert published.checkpoint is not None
    stored = published.checkpoint
    return Checkpoint(ORIGIN, stored.tree_size, stored.root_hash)


def signed(checkpoint: Checkpoint, signer: Signer) -> str:
    return sign_note(checkpoint.body(), [signer])


def request(old_size: int, note: str, proof: list[bytes] | None = None) -> bytes:
    return AddCheckpointRequest(old_size, tuple(proof or ()), note).encode()


@pytest.fixture
def witnessed(app: App, world: World, witness: LocalWitness) -> WitnessedCheckpoint:
    """The log at a few leaves, its checkpoint cosigned by the witness through ``publish``."""
    transactions(world, 5)
    published = app.publish_log(NOW, min_interval_seconds=0, witnesses=[witness.client])
    assert published.witness_outcomes == {"w1.example": "cosigned"}
    state = witness.state.latest(ORIGIN)
    assert state is not None
    return state


# -- the log and its witnesses --------------------------------------------------------------


def test_two_witnesses_cosign_each_checkpoint_from_the_size_they_last_cosigned(
    app: App, world: World, tmp_path: Path
) -> None:
    with ExitStack() as stack:
        running = [
            stack.enter_context(local_witness(name, tmp_path / f"{name}.db", app.log_verifier()))
            for name in ("a.example", "b.example")
        ]
        witnesses = [RecordingWitness(w.client) for w in running]
        verifiers = [w.verifier for w in witnesses]
        transactions(world, 3)

        first = app.publish_log(NOW, min_interval_seconds=0, witnesses=witnesses)

        assert first.checkpoint is not None
        assert first.witness_outcomes == {"a.example": "cosigned", "b.example": "cosigned"}
        served = served_checkpoint(app.reader())
        assert served is not None
        assert sorted(witnessed_by(served, verifiers)) == ["a.example", "b.example"]
        assert len(split_note(served)[1]) == 3
        for w in running:
            assert w.state.latest(ORIGIN) == WitnessedCheckpoint(
                first.checkpoint.tree_size, first.checkpoint.root_hash
            )

        transactions(world, 4)
        second = app.publish_log(NOW, min_interval_seconds=0, witnesses=witnesses)

        assert second.checkpoint is not None
        assert second.checkpoint.tree_size > first.checkpoint.tree_size
        assert second.witness_outcomes == {"a.example": "cosigned", "b.example": "cosigned"}
        for recording in witnesses:
            assert recording.old_sizes() == [0, first.checkpoint.tree_size]
            assert parse_add_checkpoint(recording.bodies[1]).consistency_proof
        served = served_checkpoint(app.reader())
        assert served is not None
        assert f"\n{second.checkpoint.tree_size}\n" in served
        assert len(witnessed_by(served, verifiers)) == 2
        for w in running:
            latest = w.state.latest(ORIGIN)
            assert latest is not None
            assert latest.size == second.checkpoint.tree_size


def test_a_witness_that_remembers_another_size_answers_409_and_the_log_retries_from_it(
    app: App, world: World, witness: LocalWitness
) -> None:
    transactions(world, 4)
    checkpoint = unwitnessed_checkpoint(app)
    note = signed(checkpoint, app.log_signer())
    cosigned_behind_the_logs_back = post(witness, request(0, note))
    assert cosigned_behind_the_logs_back.status_code == 200

    stale = post(witness, request(0, note))

    assert stale.status_code == 409
    assert stale.headers["content-type"] == SIZE_CONTENT_TYPE
    assert stale.content == f"{checkpoint.size}\n".encode()

    transactions(world, 3)
    recording = RecordingWitness(witness.client)
    published = app.publish_log(NOW, min_interval_seconds=0, witnesses=[recording])

    assert published.checkpoint is not None
    assert published.witness_outcomes == {"w1.example": "cosigned"}
    assert recording.old_sizes() == [0, checkpoint.size]
    assert witness.state.latest(ORIGIN) == WitnessedCheckpoint(
        published.checkpoint.tree_size, published.checkpoint.root_hash
    )
    served = served_checkpoint(app.reader())
    assert served is not None
    assert witnessed_by(served, [witness.client.verifier]) == ["w1.example"]


def test_the_cosignature_a_witness_answers_with_verifies_against_its_key(
    app: App, world: World, witness: LocalWitness
) -> None:
    transactions(world, 2)
    checkpoint = unwitnessed_checkpoint(app)

    answer = post(witness, request(0, signed(checkpoint, app.log_signer())))

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    (line,) = answer.text.splitlines(keepends=True)
    assert witness.client.verifier.verify_line(checkpoint.body(), line) is not None


# -- what a witness refuses -----------------------------------------------------------------


def test_a_fork_of_the_witnessed_size_is_refused_with_409_and_changes_nothing(
    app: App, witness: LocalWitness, witnessed: WitnessedCheckpoint
) -> None:
    fork = Checkpoint(ORIGIN, witnessed.size, hashlib.sha256(b"another history").digest())

    answer = post(witness, request(witnessed.size, signed(fork, app.log_signer())))

    assert answer.status_code == 409
    assert "different root hash" in answer.text
    assert witness.state.latest(ORIGIN) == witnessed


def test_a_bigger_checkpoint_with_the_proof_of_another_tree_is_refused_with_422(
    app: App, world: World, witness: LocalWitness, witnessed: WitnessedCheckpoint
) -> None:
    transactions(world, 3)
    bigger = unwitnessed_checkpoint(app)
    other_tree = MemoryHashSource(hashlib.sha256(bytes([i])).digest() for i in range(bigger.size))
    wrong_proof = consistency_proof(witnessed.size, bigger.size, other_tree)

    answer = post(witness, request(witnessed.size, signed(bigger, app.log_signer()), wrong_proof))

    assert answer.status_code == 422
    assert witness.state.latest(ORIGIN) == witnessed


@pytest.mark.parametrize(
    ("old_size_is_the_latest", "status"),
    [(True, 400), (False, 409)],
    ids=["sent-from-the-latest-size", "sent-from-another-size"],
)
def test_a_rollback_to_a_smaller_size_is_refused_and_changes_nothing(
    app: App,
    witness: LocalWitness,
    witnessed: WitnessedCheckpoint,
    old_size_is_the_latest: bool,
    status: int,
) -> None:
    smaller = Checkpoint(ORIGIN, witnessed.size - 1, hashlib.sha256(b"older").digest())
    old_size = witnessed.size if old_size_is_the_latest else 0

    answer = post(witness, request(old_size, signed(smaller, app.log_signer())))

    assert answer.status_code == status
    assert witness.state.latest(ORIGIN) == witnessed


def test_a_checkpoint_signed_by_another_key_of_the_same_name_is_refused_with_403(
    world: World, witness: LocalWitness, witnessed: WitnessedCheckpoint
) -> None:
    impostor = Signer.from_key(generate_key(ORIGIN)[0])
    forged = Checkpoint(ORIGIN, witnessed.size + 1, hashlib.sha256(b"forged").digest())

    answer = post(witness, request(witnessed.size, signed(forged, impostor)))

    assert answer.status_code == 403
    assert witness.state.latest(ORIGIN) == witnessed


def test_a_checkpoint_of_a_log_the_witness_does_not_watch_is_refused_with_404(
    witness: LocalWitness,
) -> None:
    stranger = Signer.from_key(generate_key("other.example/log")[0])
    checkpoint = Checkpoint("other.example/log", 1, hashlib.sha256(b"x").digest())

    answer = post(witness, request(0, signed(checkpoint, stranger)))

    assert answer.status_code == 404
    assert witness.state.latest("other.example/log") is None


@pytest.mark.parametrize(
    "body",
    [b"", b"hello witness", b"old 1\n\nnot a checkpoint", b"old -1\n\n", b"\xff\xfe\n\n"],
    ids=["empty", "no-empty-line", "bad-checkpoint", "negative-size", "not-utf8"],
)
def test_a_body_that_does_not_parse_is_refused_with_400(witness: LocalWitness, body: bytes) -> None:
    answer = post(witness, body)

    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/plain")


def test_a_body_over_64_kib_is_refused_with_413(
    app: App, witness: LocalWitness, witnessed: WitnessedCheckpoint
) -> None:
    checkpoint = Checkpoint(ORIGIN, witnessed.size, witnessed.root_hash)
    note = signed(checkpoint, app.log_signer())
    padded = request(witnessed.size, note) + b"x" * MAX_REQUEST_BYTES

    answer = post(witness, padded)

    assert answer.status_code == 413
    assert witness.state.latest(ORIGIN) == witnessed


# -- the rollback race ----------------------------------------------------------------------


def test_two_identical_growth_requests_at_once_are_cosigned_exactly_once(
    app: App, world: World, witness: LocalWitness, witnessed: WitnessedCheckpoint
) -> None:
    transactions(world, 6)
    bigger = unwitnessed_checkpoint(app)
    with app.reader() as uow:
        proof = consistency_proof(witnessed.size, bigger.size, tile_source(uow))
    body = request(witnessed.size, signed(bigger, app.log_signer()), proof)
    start = threading.Barrier(2)
    statuses: list[int] = []

    def send() -> None:
        start.wait(timeout=TIMEOUT_SECONDS)
        statuses.append(post(witness, body).status_code)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT_SECONDS)

    assert sorted(statuses) == [200, 409]
    assert witness.state.latest(ORIGIN) == WitnessedCheckpoint(bigger.size, bigger.root_hash)
