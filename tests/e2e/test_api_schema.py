"""schemathesis against /openapi.json: generated requests never get a 5xx, and every response
matches the schema the API publishes (bounded examples, so it fits in ``make test``)."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from dongne.bootstrap import bootstrap
from dongne.config import Settings
from dongne.entrypoints.api.app import create_app
from dongne.services import accounts, setup

PASSWORD = "correct horse battery"  # noqa: S105 - a test password
_DIRECTORY = Path(tempfile.mkdtemp(prefix="dongne-schemathesis-"))
_APP = bootstrap(Settings(database_url=f"sqlite:///{_DIRECTORY}/api.db", log_witnesses=[]))
_NOW = datetime.now(UTC)
_REGION = setup.create_region(_APP.uow, code="siheung", name="시흥시", now=_NOW)
accounts.sign_up_citizen(
    _APP.uow,
    _APP.secrets,
    phone="010-1234-5678",
    password=PASSWORD,
    name="김민준",
    region_id=_REGION,
    identity_number=None,
    idempotency_key="schemathesis-citizen",
    now=_NOW,
)
_TOKEN = accounts.log_in(
    _APP.unit_of_work(),
    _APP.secrets,
    login="01012345678",
    password=PASSWORD,
    totp_code=None,
    lifetime=timedelta(hours=2),
    now=_NOW,
).token
_API = create_app(_APP, publish=False)

schema = schemathesis.openapi.from_asgi("/openapi.json", _API)
# What the API promises: no 5xx, and every status, content type and body as documented. Not
# that every schema-valid request succeeds: a well-formed payment can still be refused.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error_and_every_response_matches_the_schema(
    case: schemathesis.Case,
) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {_TOKEN}"}, checks=CHECKS)
