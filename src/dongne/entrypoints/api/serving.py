"""``dongne serve``: uvicorn with one or several worker processes behind one port.

Several processes need an import string, not an app object: the supervisor
(``balanced_workers``, which spreads the connections evenly over the workers) starts each
worker afresh (spawn), and each one calls ``make_app``, which builds the app from the
environment (``DONGNE_*``). ``serve`` checks the settings in its own process first (the
database migrated, the log key readable, or created beside an SQLite file), so a mistake stops
the start instead of every worker. In every worker the leadership thread (``leadership``) lets
one run the log publisher and the webhook deliverer.
"""

from __future__ import annotations

import copy
import gc
import os
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.config import LOGGING_CONFIG

from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.entrypoints.api.app import create_app
from dongne.entrypoints.api.balanced_workers import run_balanced
from dongne.entrypoints.api.routes import build_handlers

APP_FACTORY = "dongne.entrypoints.api.serving:make_app"


def make_app() -> FastAPI:
    """One worker's app, from the environment (``uvicorn --factory`` calls it)."""
    application = bootstrap(Settings())
    application.log_signer()  # fail at start, not at the first checkpoint
    return freeze_start_up(create_app(application))


def freeze_start_up(app: FastAPI) -> FastAPI:
    """Put what a worker made at start-up out of the cyclic garbage collector's reach.

    The modules, the app, its routes and models and their validators are some 230,000
    objects that live as long as the process. Left in the collector's oldest generation,
    every full collection walks them all: a pause of tens of milliseconds (over 100 on a busy
    machine) in which no request moves. Frozen, a full collection walks only what was made
    since. The routes' handlers, which FastAPI would build on the first request, are built
    first, to be frozen too."""
    build_handlers()
    gc.collect()
    gc.freeze()
    return app


def log_config() -> dict[str, Any]:
    """uvicorn's own logging, with dongne's messages (which worker leads, a job's failure)
    printed the same way."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["dongne"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def default_workers(application: App) -> int:
    """One per CPU core on PostgreSQL. One on SQLite: it lets one writer in at a time, so more
    processes would wait on each other for its lock rather than pay more (``--workers`` still
    starts several, and a file lock picks their leader)."""
    if application.engine.url.get_backend_name() == "sqlite":
        return 1
    return os.cpu_count() or 1


def shares_processes(application: App) -> bool:
    """False for an in-memory SQLite database: each process would have a database of its own."""
    url = application.engine.url
    if url.get_backend_name() != "sqlite":
        return True
    database = url.database or ""
    return bool(database) and database != ":memory:" and "mode=memory" not in str(url)


def serve(application: App, *, host: str, port: int, workers: int, access_log: bool) -> None:
    """Serve ``application`` (already bootstrapped) with ``workers`` processes.

    uvloop and httptools are named, not left to "auto", so a missing one fails the start
    instead of quietly serving with the slower asyncio loop and h11 parser.
    """
    application.log_signer()
    if workers == 1:
        uvicorn.run(
            freeze_start_up(create_app(application)),
            host=host,
            port=port,
            loop="uvloop",
            http="httptools",
            access_log=access_log,
            log_config=log_config(),
        )
        return
    # The workers read the settings from the environment; the database the caller chose
    # (perhaps by --database-url) is passed on there.
    os.environ["DONGNE_DATABASE_URL"] = application.settings.database_url
    application.engine.dispose()  # the workers open their own connections
    config = uvicorn.Config(
        APP_FACTORY,
        factory=True,
        workers=workers,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=access_log,
        log_config=log_config(),
    )
    run_balanced(config)
