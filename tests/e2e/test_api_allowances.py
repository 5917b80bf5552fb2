"""Policy allowances over HTTP: a list uploaded, previewed and disbursed with its progress; bad
files refused with a clear problem and nothing stored; a short budget refused."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.domain.access import UserKind
from dongne.entrypoints.api.app import create_app
from dongne.services import accounts, authentication
from tests.factories import World
from tests.helpers import snapshot

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"  # noqa: S105 - a test password
API = "/api/v1"
HEADER = "주민등록번호,이름,전화번호,금액\n"


@dataclass
class Api:
    app: App
    client: TestClient
    headers: dict[str, str]
    region_id: int

    def post(self, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers, "Idempotency-Key": f"k-{datetime.now(UTC).timestamp()}"}
        return self.client.post(API + path, headers=headers, **kwargs)

    def get(self, path: str) -> Any:
        return self.client.get(API + path, headers=self.headers)

    def program(self, budget_won: int) -> int:
        now = datetime.now(UTC)
        response = self.post(
            f"/regions/{self.region_id}/allowance_programs",
            json={
                "name": "재난지원금",
                "amount_per_recipient_won": 100_000,
                "budget_won": budget_won,
                "valid_from": (now - timedelta(hours=1)).isoformat(),
                "valid_until": (now + timedelta(days=30)).isoformat(),
                "allowed_categories": ["grocery", "restaurant"],
            },
        )
        assert response.status_code == 201, response.text
        return int(response.json()["program_id"])

    def upload(self, program_id: int, data: bytes, name: str = "list.csv") -> Any:
        return self.post(f"/allowance_programs/{program_id}/uploads", files={"file": (name, data)})


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    app = bootstrap(Settings(database_url=database_url, log_witnesses=[]))
    region_id = World(app.unit_of_work(), datetime.now(UTC)).region_id
    accounts.create_staff_user(
        app.uow,
        app.secrets,
        kind=UserKind.OPERATOR,
        login="operator",
        password=PASSWORD,
        role=None,
        region_id=None,
        merchant_id=None,
        now=datetime.now(UTC),
    )
    token = authentication.log_in(
        app.unit_of_work(),
        app.secrets,
        login="operator",
        password=PASSWORD,
        totp_code=None,
        lifetime=timedelta(hours=1),
        now=datetime.now(UTC),
    ).token
    with TestClient(create_app(app, publish=False)) as client:
        yield Api(app, client, {"Authorization": f"Bearer {token}"}, region_id)
    app.engine.dispose()


def test_a_list_is_previewed_disbursed_and_followed_to_the_end(api: Api) -> None:
    program_id = api.program(budget_won=1_000_000)
    data = (
        HEADER + "900101-1234567,홍길동,010-1234-5678,\n"
        "900101-1234567,홍길동,010-1234-5678,\n"
        "850505-2345678,김영희,010-9876-5432,50000\n"
        "12345,박,010-1111-2222,\n"
    ).encode("cp949")
    uploaded = api.upload(program_id, data)
    assert uploaded.status_code == 201, uploaded.text
    summary = uploaded.json()
    assert summary["counts"] == {"matched": 0, "unmatched": 2, "duplicate": 1, "invalid": 1}
    assert (summary["total_won"], summary["covered"]) == (150_000, True)

    preview = api.get(f"/allowance_uploads/{summary['upload_id']}").json()
    reasons = {row["row_number"]: (row["status"], row["reason"]) for row in preview["rows"]}
    assert reasons[3] == ("duplicate", "the same person as row 2")
    assert reasons[5][0] == "invalid"
    assert preview["rows"][0]["phone"] == "010****5678"

    started = api.post(f"/allowance_uploads/{summary['upload_id']}/disbursement")
    assert started.status_code == 202, started.text
    assert started.json()["needed_won"] == 150_000
    progress = api.get(started.json()["progress_url"].removeprefix(API)).json()
    assert (progress["status"], progress["people_done"], progress["pending_count"]) == (
        "disbursed",
        2,
        2,
    )
    report = api.get(f"/allowance_programs/{program_id}/report").json()
    assert (report["pending_won"], report["balance_won"]) == (150_000, 850_000)


def test_a_budget_that_does_not_cover_the_list_is_refused(api: Api) -> None:
    program_id = api.program(budget_won=199_999)
    data = HEADER + "900101-1234567,가,010-1234-5678,\n850505-2345678,나,010-1234-5678,\n"
    upload_id = api.upload(program_id, data.encode()).json()["upload_id"]
    before = snapshot(api.app.engine)
    refused = api.post(f"/allowance_uploads/{upload_id}/disbursement")
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert (refused.json()["code"], refused.json()["needed_won"]) == (
        "ALLOWANCE_BUDGET_SHORT",
        200_000,
    )
    assert snapshot(api.app.engine) == before


@pytest.mark.parametrize(
    ("data", "name", "code", "reason"),
    [
        (
            (HEADER + "900101-1234567,가,010-1234-5678,\n").encode("utf-16"),
            "l.csv",
            "RECIPIENT_FILE_INVALID",
            "encoding",
        ),
        (
            b"name,phone\n\xea\xb9\x80,010-1234-5678\n",
            "l.csv",
            "RECIPIENT_FILE_INVALID",
            "missing_columns",
        ),
        (b"", "l.csv", "RECIPIENT_FILE_INVALID", "empty"),
        (HEADER.encode(), "l.csv", "RECIPIENT_FILE_INVALID", "empty"),
        (b"PK\x03\x04broken", "l.xlsx", "RECIPIENT_FILE_INVALID", "format"),
        (b"x" * (50 * 1024 * 1024), "big.csv", "REQUEST_TOO_LARGE", "too_large"),
    ],
    ids=["utf16", "missing-columns", "empty", "header-only", "broken-xlsx", "50MB"],
)
def test_a_bad_file_gets_a_clear_problem_and_nothing_is_stored(
    api: Api, data: bytes, name: str, code: str, reason: str
) -> None:
    program_id = api.program(budget_won=1_000_000)
    before = snapshot(api.app.engine)
    response = api.upload(program_id, data, name)
    assert response.status_code in {400, 413}, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert response.json().get("reason", "too_large") == reason
    assert snapshot(api.app.engine) == before


def test_malformed_ids_and_duplicates_are_reported_per_row_and_never_paid(api: Api) -> None:
    program_id = api.program(budget_won=1_000_000)
    data = (
        HEADER + "900101-1234567,가,010-1234-5678,\n900101-1234567,가,010-1234-5678,\n"
        "991301-1234567,나,010-1234-5678,\nnot-an-id,다,010-1234-5678,\n"
    ).encode()
    upload_id = api.upload(program_id, data).json()["upload_id"]
    invalid = api.get(f"/allowance_uploads/{upload_id}?status=invalid").json()["rows"]
    assert [row["reason"] for row in invalid] == [
        "the resident registration number has no valid birth date",
        "the identity key is neither a CI (88 characters) nor 13 digits",
    ]
    api.post(f"/allowance_uploads/{upload_id}/disbursement")
    report = api.get(f"/allowance_programs/{program_id}/report").json()
    assert (report["pending_count"], report["pending_won"]) == (1, 100_000)
