"""A request whose database is out of reach (a failover under way, a server restarting) is
answered 503 DATABASE_UNAVAILABLE with Retry-After, as a write the runner gave up on is: never
a 500, so a client knows to send it again."""

from __future__ import annotations

from fastapi.testclient import TestClient

from dongne.adapters.db.engine import make_engine
from dongne.bootstrap import App
from dongne.config import Settings
from dongne.entrypoints.api.app import create_app
from dongne.services.unit_of_work import UnitOfWork


def test_a_read_that_finds_no_database_is_answered_503_with_retry_after() -> None:
    engine = make_engine("postgresql://postgres@127.0.0.1:1/nothing?connect_timeout=1")
    application = App(Settings(log_witnesses=[]), engine, UnitOfWork(engine))
    try:
        with TestClient(create_app(application, publish=False)) as client:
            response = client.get("/log/checkpoint")
    finally:
        engine.dispose()
    assert (response.status_code, response.json()["code"]) == (503, "DATABASE_UNAVAILABLE")
    assert int(response.headers["Retry-After"]) > 0
