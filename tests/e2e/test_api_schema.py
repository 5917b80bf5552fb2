"""schemathesis against /openapi.json with every check it has (``--checks all``), on SQLite and
on PostgreSQL: generated requests never get a 5xx, every response matches the schema the API
publishes, schema-valid requests are not refused as malformed, schema-invalid ones are, a
missing required header is refused, a 405 names every allowed method, and so on. Examples are
bounded so it fits in ``make test``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.config import PositiveDataAcceptanceConfig
from sqlalchemy.engine import make_url

from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.entrypoints.api.app import create_app
from dongne.services import registry
from tests.helpers import signed_in_citizen_token

PASSWORD = "correct horse battery"  # noqa: S105 - a test password
POSTGRES_URL_VARIABLE = "DONGNE_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

ACCEPTED_FOR_VALID_DATA = ["2xx", "400", "401", "403", "404", "409", "422", "423", "429", "5xx"]
"""What a schema-valid request may be answered with. The schema says what is well formed, not
what the ledger allows: a well-formed payment is still refused by a money rule (409, 422, 423,
429), an id that is nobody's is 404, and a value whose rule a JSON Schema cannot state (a
business number's check digit, an unknown region code) is 400. 5xx is the separate
``not_a_server_error`` check's to judge."""


@dataclass(frozen=True)
class Served:
    app: App
    api: FastAPI
    token: str


@dataclass
class _PostgresSchema:
    """A throwaway schema on the test PostgreSQL (its own, so this module does not depend on
    the shared fixtures)."""

    base_url: str
    name: str = ""

    def __enter__(self) -> str:
        self.name = f"schemathesis_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self._dsn(), autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{self.name}"')
        url = make_url(self.base_url).set(drivername="postgresql+psycopg")
        url = url.update_query_dict({"options": f"-csearch_path={self.name}"})
        return url.render_as_string(hide_password=False)

    def __exit__(self, *_: object) -> None:
        with psycopg.connect(self._dsn(), autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{self.name}" CASCADE')

    def _dsn(self) -> str:
        url = make_url(self.base_url).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)


def _serve(database_url: str) -> Served:
    app = bootstrap(Settings(database_url=database_url, log_witnesses=[]))
    now = datetime.now(UTC)
    region = registry.create_region(app.uow, code="siheung", name="시흥시", now=now)
    token = signed_in_citizen_token(
        app,
        region_id=region,
        phone="010-1234-5678",
        password=PASSWORD,
        lifetime=timedelta(hours=2),
        now=now,
    )
    return Served(app, create_app(app, publish=False), token)


@pytest.fixture(scope="module", params=BACKENDS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    if request.param == "sqlite":
        directory: Path = tmp_path_factory.mktemp("schemathesis")
        served = _serve(f"sqlite:///{directory}/api.db")
        yield served
        served.app.engine.dispose()
        return
    base_url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not base_url:
        pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set")
    with _PostgresSchema(base_url) as url:
        served = _serve(url)
        yield served
        served.app.engine.dispose()


@pytest.fixture
def api_schema(request: pytest.FixtureRequest, served: Served) -> schemathesis.BaseSchema:
    # schemathesis's lazy schema reads and rewrites ``node._nodeid``, which pytest 9.2 no longer
    # has (it keeps ``_id``); give it the attribute so it can label each operation's subtest.
    request.node._nodeid = request.node.nodeid
    loaded = schemathesis.openapi.from_asgi("/openapi.json", served.api)
    checks = loaded.config.checks
    checks.update(included_check_names=["all"])
    checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
        expected_statuses=ACCEPTED_FOR_VALID_DATA
    )
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_check_passes_for_every_operation(case: schemathesis.Case, served: Served) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {served.token}"})
