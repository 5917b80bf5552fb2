"""The app factory the bench's server runs: ``uvicorn --factory bench.http_app:make_app``.

uvicorn needs an import string to start several worker processes; each one bootstraps from the
environment (``DONGNE_*``) as ``dongne serve`` does, with the log publisher running beside it.
"""

from __future__ import annotations

from fastapi import FastAPI

from dongne.bootstrap import bootstrap
from dongne.config import Settings
from dongne.entrypoints.api.app import create_app


def make_app() -> FastAPI:
    application = bootstrap(Settings())
    application.log_signer()  # fail at start, not at the first checkpoint, as `dongne serve`
    return create_app(application)
