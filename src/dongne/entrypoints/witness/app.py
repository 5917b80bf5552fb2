"""The witness's HTTP face: ``POST /add-checkpoint`` (C2SP tlog-witness)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from dongne.adapters.witness_state import WitnessState
from dongne.services.witness import add_checkpoint
from dongne.tlog.cosignature import Cosigner
from dongne.tlog.note import Verifier

MAX_REQUEST_BYTES = 64 * 1024
"""A checkpoint, 63 proof lines and a few signatures fit many times over."""


def watched_logs(keys: Sequence[Verifier]) -> dict[str, tuple[Verifier, ...]]:
    """Each watched log's origin and its keys: a log whose key is being rotated is given
    twice (``--log OLD --log NEW``), and a checkpoint signed by either is accepted."""
    logs: dict[str, tuple[Verifier, ...]] = {}
    for key in keys:
        logs[key.name] = (*logs.get(key.name, ()), key)
    return logs


def create_witness_app(
    state: WitnessState, *, cosigner: Cosigner, logs: Mapping[str, Sequence[Verifier]]
) -> FastAPI:
    api = FastAPI(title=f"dongne witness {cosigner.name}", version="0.1.0")

    @api.post("/add-checkpoint", response_class=Response)
    async def add(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_REQUEST_BYTES:
            return Response("request too large\n", status_code=413, media_type="text/plain")
        outcome = await run_in_threadpool(
            add_checkpoint, state, body, logs=logs, cosigner=cosigner, now=datetime.now(UTC)
        )
        # As a header, not media_type: Starlette would append "; charset=utf-8" to any text/*
        # type, and the spec wants exactly text/x.tlog.size on a 409 (clients compare it).
        return Response(
            outcome.body, status_code=outcome.status, headers={"content-type": outcome.content_type}
        )

    @api.get("/key", response_class=Response)
    def key() -> Response:
        return Response(cosigner.verifier_key + "\n", media_type="text/plain; charset=utf-8")

    return api
