"""The log's public read API, exactly as C2SP tlog-tiles lays it out.

``GET /log/checkpoint``, ``GET /log/tile/<L>/<N>[.p/<W>]`` and ``GET /log/key`` are public:
they reveal only hashes. ``GET /log/tile/entries/<N>[.p/<W>]`` serves the leaves themselves
(pseudonymous accounts and amounts), so it needs an auditor's bearer token.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import APIRouter, Header, Request, Response

from dongne.bootstrap import App
from dongne.entrypoints.api.errors import problem
from dongne.entrypoints.api.v1.problems import PROBLEMS
from dongne.services import log
from dongne.tlog.tiles import parse_entries_path, parse_tile_path

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT_LIVED = "public, max-age=5"
TEXT = "text/plain; charset=utf-8"
OCTETS = "application/octet-stream"

router = APIRouter(prefix="/log", tags=["verifiable log"], responses=PROBLEMS)


def _app(request: Request) -> App:
    application: App = request.app.state.dongne
    return application


@router.get("/checkpoint", response_class=Response)
def checkpoint(request: Request) -> Response:
    """The latest signed checkpoint (C2SP tlog-checkpoint), with the witnesses' cosignatures."""
    note = log.served_checkpoint(_app(request).standby_reader())
    if note is None:
        return problem(404, "NO_CHECKPOINT_YET", "No checkpoint yet", "the log is still empty")
    return Response(note, media_type=TEXT, headers={"Cache-Control": "no-cache"})


@router.get("/key", response_class=Response)
def key(request: Request) -> Response:
    """The operator's signed-note verifier key string: what clients pin to trust the log."""
    return Response(_app(request).log_signer().verifier_key + "\n", media_type=TEXT)


@router.get("/tile/entries/{path:path}", response_class=Response)
def entries(request: Request, path: str, authorization: str | None = Header(None)) -> Response:
    """An entry bundle (the leaves of one level-0 tile); auditors only."""
    refusal = _auditor_refusal(_app(request), authorization)
    if refusal is not None:
        return refusal
    tile_index, width = parse_entries_path(f"tile/entries/{path}")
    bundle = log.served_entries(_app(request).standby_reader(), tile_index, width)
    if bundle is None:
        return _not_in_log(f"tile/entries/{path}")
    return Response(bundle, media_type=OCTETS, headers={"Cache-Control": "private, no-store"})


@router.get("/tile/{path:path}", response_class=Response)
def tile(request: Request, path: str) -> Response:
    """A tile of hashes (C2SP tlog-tiles); full tiles never change and are cached for a year."""
    wanted = parse_tile_path(f"tile/{path}")
    data = log.served_tile(_app(request).standby_reader(), wanted)
    if data is None:
        return _not_in_log(f"tile/{path}")
    cache = IMMUTABLE if wanted.is_full else SHORT_LIVED
    return Response(data, media_type=OCTETS, headers={"Cache-Control": cache})


def _not_in_log(path: str) -> Response:
    return problem(404, "TILE_NOT_FOUND", "No such tile", f"{path} is beyond the latest checkpoint")


def _auditor_refusal(application: App, authorization: str | None) -> Response | None:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        response = problem(
            401, "AUTHENTICATION_REQUIRED", "Auditors only", "entry bundles need a bearer token"
        )
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    digest = hashlib.sha256(token.strip().encode()).hexdigest()
    allowed = application.settings.log_auditor_token_sha256
    if not any(hmac.compare_digest(digest, known.lower()) for known in allowed):
        return problem(403, "NOT_AN_AUDITOR", "Auditors only", "this token may not read entries")
    return None
