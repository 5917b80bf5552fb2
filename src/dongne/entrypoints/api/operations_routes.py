"""The operator's probes and metrics: ``/healthz``, ``/readyz`` and ``/metrics``.

``/healthz`` answers 200 while the process can answer at all (a liveness probe: restart it
when this fails). ``/readyz`` answers 200 when the database takes writes and the log's
sequencer is not behind, else 503 with the reasons (a readiness probe: send it no traffic).
``/metrics`` is Prometheus's text format. None of them is in the OpenAPI document, which
describes the API clients use; expose them on the internal network only (docs/operations.md).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError

from dongne.bootstrap import App
from dongne.entrypoints.api.metrics import CONTENT_TYPE_LATEST, render_metrics
from dongne.services import operations

router = APIRouter(include_in_schema=False)
logger = logging.getLogger("dongne.operations")
NOT_READY = 503


def _app(request: Request) -> App:
    application: App = request.app.state.dongne
    return application


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "alive"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    application = _app(request)
    try:
        seen = operations.readiness(
            application.unit_of_work(),
            now=datetime.now(UTC),
            max_lag_seconds=application.settings.ready_max_sequencing_lag_seconds,
        )
    except DBAPIError as error:
        logger.warning("readiness: the database is unreachable: %s", type(error.orig).__name__)
        body: dict[str, Any] = {
            "status": "not ready",
            "reasons": ["the database is unreachable (데이터베이스에 연결할 수 없습니다)"],
        }
        return JSONResponse(body, status_code=NOT_READY)
    body = {
        "status": "ready" if seen.ready else "not ready",
        "database_writable": seen.database_writable,
        "queued_leaves": seen.queued_leaves,
        "sequencing_lag_seconds": round(seen.sequencing_lag_seconds, 3),
        "reasons": seen.reasons,
    }
    return JSONResponse(body, status_code=200 if seen.ready else NOT_READY)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    return Response(render_metrics(_app(request)), media_type=CONTENT_TYPE_LATEST)
