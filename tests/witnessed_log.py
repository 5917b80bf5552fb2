"""A log with one witness, for the tests of what the public sees: an App whose settings
name the witness's key with a quorum of one, and a witness in the same process that cosigns
what the log sends it (the HTTP witness has tests of its own in ``test_witness_http.py``)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from dongne.adapters.log_keys import write_key_pair
from dongne.adapters.witness_client import WitnessAnswer
from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.services import log
from dongne.tlog.cosignature import CosignatureVerifier, Cosigner, generate_cosigner_key
from dongne.tlog.note import split_note
from dongne.tlog.witness import parse_add_checkpoint
from tests.factories import World
from tests.helpers import buy

ORIGIN = "public.dongne.localhost/log"
WITNESS_NAME = "witness.example"
HTTP_OK = 200


@dataclass(frozen=True)
class SameProcessWitness:
    """Cosigns every checkpoint it is sent, as a witness that trusts the log would."""

    cosigner: Cosigner

    @property
    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier.from_key(self.cosigner.verifier_key)

    def add_checkpoint(self, request_body: bytes) -> WitnessAnswer:
        request = parse_add_checkpoint(request_body)
        body, _ = split_note(request.checkpoint_note)
        line = self.cosigner.cosign(body, int(time.time()))
        return WitnessAnswer(HTTP_OK, line.encode())


def new_witness() -> SameProcessWitness:
    return SameProcessWitness(Cosigner.from_key(generate_cosigner_key(WITNESS_NAME)[0]))


def witnessed_app(
    database_url: str, tmp_path: Path, witness: SameProcessWitness, **settings: object
) -> App:
    """The App, with its own log key and ``witness`` as its one configured witness."""
    key_path = tmp_path / "log.key"
    write_key_pair(key_path, ORIGIN)
    return bootstrap(
        Settings(
            database_url=database_url,
            log_signer_key_path=str(key_path),
            log_origin=ORIGIN,
            # The URL is never called: publish() is handed the same-process witness.
            log_witnesses=[f"http://127.0.0.1:9 {witness.verifier.verifier_key}"],
            log_witness_quorum=1,
            **settings,
        )
    )


def publish(app: App, witness: SameProcessWitness, now: datetime) -> None:
    app.publish_log(now, min_interval_seconds=0, witnesses=[witness], wait_for_sequencer=True)


def witnessed_receipt(app: App, witness: SameProcessWitness, now: datetime) -> str:
    """A purchase in a new region, published and cosigned; its receipt as ``dongne log prove``
    prints it."""
    world = World(app.uow, now)
    world.fund(1_000_000)
    bought = buy(app.uow, world.citizen(), 100_000, now=now)
    publish(app, witness, now)
    receipt = log.prove_transaction(
        app.reader(),
        bought.transaction_id,
        witnesses=app.witness_verifiers(),
        quorum=app.settings.log_witness_quorum,
    )
    return json.dumps(receipt.as_json(), indent=2)
