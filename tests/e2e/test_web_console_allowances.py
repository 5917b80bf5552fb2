"""The console's allowance pages over HTTP: the rules a browser journey cannot easily show.

Another region's program is a page not found; a role too low for an action is refused with
403 and changes nothing; a form without this server's token changes nothing; a file that is
not a list comes back with the reason beside the file field; a disbursement submitted twice
pays once; every reason a preview gives is in both catalogs.
"""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pyotp
import pytest
from openpyxl import Workbook

from dongne.bootstrap import App
from dongne.domain.access import OfficialRole, Principal, UserKind
from dongne.domain.allowances import AllowanceTerms, RecipientRow, RowReason
from dongne.entrypoints.web import i18n
from dongne.services import accounts, allowance_uploads, allowances
from tests.e2e.test_api_payment_intents import TestClient
from tests.e2e.test_web_citizen import error_beside, token_of
from tests.factories import World, unique_key

PASSWORD = "a long enough password"  # noqa: S105 - a test password
HEADER = "주민등록번호,이름,전화번호,금액\n"
FILE_PROBLEMS = (
    "form",
    "no_file",
    "empty",
    "encoding",
    "format",
    "missing_columns",
    "too_many_rows",
    "too_large",
)


@dataclass(frozen=True)
class Official:
    login: str
    totp_secret: str
    region_id: int


def official(app: App, region_id: int, role: OfficialRole) -> Official:
    """An official of the region with ``role``; their log-in and TOTP secret."""
    login = f"{role.value}-{uuid.uuid4().hex[:8]}"
    created = accounts.create_staff_user(
        app.uow,
        app.secrets,
        kind=UserKind.OFFICIAL,
        login=login,
        password=PASSWORD,
        role=role.value,
        region_id=region_id,
        merchant_id=None,
        now=datetime.now(UTC),
    )
    return Official(login, created.secret, region_id)


def log_in_official(client: TestClient, person: Official) -> httpx.Response:
    form = {
        "csrf_token": token_of(client.get("/login?next=/console")),
        "phone": person.login,
        "password": PASSWORD,
        "totp": pyotp.TOTP(person.totp_secret).now(),
    }
    response = client.post("/login?next=/console/allowances", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response


def program_of(app: App, region_id: int, budget_won: int = 1_000_000) -> int:
    """A program of the region valid from an hour ago for thirty days; its id."""
    now = datetime.now(UTC)
    operator = Principal(UserKind.OPERATOR, user_id=0)
    funded = allowances.create_program(
        app.uow,
        operator,
        region_id=region_id,
        terms=AllowanceTerms(
            name="재난지원금",
            amount_per_recipient_won=100_000,
            valid_from=now - timedelta(hours=1),
            valid_until=now + timedelta(days=30),
        ),
        budget_won=budget_won,
        idempotency_key=unique_key("program"),
        now=now,
    )
    return funded.program_id


@pytest.fixture
def region(application: App) -> int:
    return World(application.uow, datetime.now(UTC)).region_id


def upload(client: TestClient, program_id: int, data: bytes, name: str) -> httpx.Response:
    page = client.get(f"/console/allowances/{program_id}")
    return client.post(
        f"/console/allowances/{program_id}/uploads",
        data={"csrf_token": token_of(page)},
        files={"file": (name, data)},
        follow_redirects=False,
    )


def test_an_approver_creates_a_program_and_another_regions_program_is_not_found(
    client: TestClient, application: App, region: int
) -> None:
    log_in_official(client, official(application, region, OfficialRole.APPROVER))
    page = client.get("/console/allowances")
    assert 'aria-current="page"' in page.text
    form = {
        "csrf_token": token_of(page),
        "name": "청년기본소득",
        "amount_per_recipient_won": "250,000",
        "budget_won": "10000000",
        "valid_from": "2026-12-01",
        "valid_until": "2026-11-30",
        "allowed_categories": ["grocery", "restaurant"],
    }
    refused = client.post("/console/allowances", data=form)
    assert refused.status_code == 400
    assert error_beside(refused, "valid_until") == "마지막 날은 첫날보다 같거나 뒤여야 합니다."
    assert 'value="청년기본소득"' in refused.text
    assert 'value="grocery" checked' in refused.text

    created = client.post(
        "/console/allowances", data=form | {"valid_until": "2027-02-28"}, follow_redirects=False
    )
    assert created.status_code == 303
    program_page = client.get(created.headers["location"])
    assert "청년기본소득" in program_page.text
    assert "₩250,000" in program_page.text
    assert "₩10,000,000" in program_page.text

    elsewhere = program_of(application, World(application.uow, datetime.now(UTC)).region_id)
    for path in ("", "/report", "/report.csv"):
        response = client.get(f"/console/allowances/{elsewhere}{path}")
        assert response.status_code == 404, path
    assert upload(client, elsewhere, b"x", "list.csv").status_code == 404
    their_list = allowance_uploads.upload_recipients(
        application.uow,
        Principal(UserKind.OPERATOR, user_id=0),
        program_id=elsewhere,
        filename="theirs.csv",
        rows=[RecipientRow(2, "an identity's hmac", "가", "01012345678", None)],
        now=datetime.now(UTC),
    )
    their_page = f"/console/allowances/uploads/{their_list.upload_id}"
    for path in ("", "/progress", "/rows.csv"):
        assert client.get(their_page + path).status_code == 404, path
    disbursing = client.post(their_page + "/disbursement", data={"csrf_token": token_of(page)})
    assert disbursing.status_code == 404


def test_roles_too_low_are_refused_and_change_nothing(
    client: TestClient, application: App, region: int
) -> None:
    program_id = program_of(application, region)
    log_in_official(client, official(application, region, OfficialRole.VIEWER))
    page = client.get("/console/allowances")
    assert page.status_code == 200
    assert 'id="create-program"' not in page.text  # a viewer is not offered the form
    form = {
        "csrf_token": token_of(page),
        "name": "몰래",
        "amount_per_recipient_won": "1000",
        "budget_won": "1000",
        "valid_from": "2026-12-01",
        "valid_until": "2026-12-31",
    }
    refused = client.post("/console/allowances", data=form)
    assert refused.status_code == 403
    assert error_beside(refused, "form") == "이 일은 더 높은 권한이 필요합니다."
    assert "몰래" not in client.get("/console/allowances").text.split("<table")[-1]
    assert 'id="upload-form"' not in client.get(f"/console/allowances/{program_id}").text
    data = (HEADER + "900101-1234567,홍길동,010-1234-5678,\n").encode()
    assert upload(client, program_id, data, "list.csv").status_code == 403


def test_a_form_without_this_servers_token_changes_nothing(
    client: TestClient, application: App, region: int
) -> None:
    program_id = program_of(application, region)
    log_in_official(client, official(application, region, OfficialRole.APPROVER))
    form = {
        "csrf_token": "1.forged.token",
        "name": "위조",
        "amount_per_recipient_won": "1000",
        "budget_won": "1000",
        "valid_from": "2026-12-01",
        "valid_until": "2026-12-31",
    }
    refused = client.post("/console/allowances", data=form)
    assert refused.status_code == 400
    assert error_beside(refused, "form") == "입력 화면이 만료되었습니다. 다시 입력해 주세요."
    assert "위조" not in client.get("/console/allowances").text.split("<table")[-1]
    forged_upload = client.post(
        f"/console/allowances/{program_id}/uploads",
        data={"csrf_token": "1.forged.token"},
        files={"file": ("list.csv", (HEADER + "900101-1234567,가,010-1234-5678,\n").encode())},
    )
    assert forged_upload.status_code == 400
    assert 'id="no-uploads"' in forged_upload.text  # no list was kept


def test_a_file_that_is_not_a_list_gets_its_reason_beside_the_file_field(
    client: TestClient, application: App, region: int
) -> None:
    program_id = program_of(application, region)
    log_in_official(client, official(application, region, OfficialRole.OPERATOR))
    picture = upload(client, program_id, b"\x89PNG\r\n\x1a\n\x00\x00\x00", "photo.png")
    assert picture.status_code == 400
    assert error_beside(picture, "file") == "CSV(UTF-8 또는 CP949)나 XLSX 파일이 아닙니다."
    assert 'aria-invalid="true" aria-describedby="file-error"' in picture.text
    no_columns = upload(client, program_id, "이름,나이\n홍길동,30\n".encode(), "list.csv")
    assert error_beside(no_columns, "file") == (
        "첫 줄에 주민등록번호(또는 ci), 이름, 전화번호 열이 있어야 합니다."
    )
    nothing = upload(client, program_id, b"", "")
    assert error_beside(nothing, "file") == "명단 파일을 골라 주세요."


def test_the_preview_gives_each_rows_reason_in_the_readers_language(
    client: TestClient, application: App, region: int
) -> None:
    program_id = program_of(application, region)
    log_in_official(client, official(application, region, OfficialRole.OPERATOR))
    data = (
        HEADER + "900101-1234567,홍길동,010-1234-5678,\n"
        "900101-1234567,홍길동,010-1234-5678,\n"
        "12345,=HYPERLINK(1),010-1111-2222,\n"
    ).encode("cp949")
    uploaded = upload(client, program_id, data, "명단.csv")
    assert uploaded.status_code == 303
    preview = client.get(uploaded.headers["location"])
    assert re.search(r'id="row-3".*?같은 사람입니다', preview.text, re.S)
    assert "2행과 같은 사람입니다." in preview.text
    assert "주민등록번호는 13자리 숫자(또는 88자 CI)여야 합니다." in preview.text
    assert "010****5678" in preview.text
    assert 'id="disburse"' not in preview.text  # operators upload; approvers disburse
    assert "명단.csv" in client.get(f"/console/allowances/{program_id}").text
    client.get("/language?to=en")
    english = client.get(uploaded.headers["location"])
    assert "The same person as row 2." in english.text
    rows_csv = client.get(uploaded.headers["location"] + "/rows.csv")
    assert rows_csv.headers["content-type"].startswith("text/csv")
    lines = rows_csv.text.lstrip("\ufeff").splitlines()
    assert lines[0] == "row_number,name,phone,amount_won,status,reason"
    assert lines[2].startswith("3,홍길동,010****5678,100000,duplicate,")
    assert lines[3].startswith("4,'=HYPERLINK(1),")  # a formula is defused


def test_a_spreadsheet_is_read_as_a_list_too(
    client: TestClient, application: App, region: int
) -> None:
    program_id = program_of(application, region)
    log_in_official(client, official(application, region, OfficialRole.OPERATOR))
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["주민등록번호", "이름", "전화번호", "금액"])
    sheet.append(["900101-1234567", "홍길동", 1012345678, 50_000])  # a number cell lost its 0
    data = io.BytesIO()
    workbook.save(data)
    uploaded = upload(client, program_id, data.getvalue(), "명단.xlsx")
    assert uploaded.status_code == 303
    preview = client.get(uploaded.headers["location"])
    assert re.search(r'id="count-unmatched">1<', preview.text)
    assert "₩50,000" in preview.text
    assert "010****5678" in preview.text


def test_a_disbursement_submitted_twice_pays_once(
    client: TestClient, application: App, region: int
) -> None:
    program_id = program_of(application, region)
    log_in_official(client, official(application, region, OfficialRole.APPROVER))
    data = HEADER + "900101-1234567,홍길동,010-1234-5678,\n850505-2345678,김영희,010-9876-5432,\n"
    location = upload(client, program_id, data.encode(), "list.csv").headers["location"]
    page = client.get(location)
    form = {"csrf_token": token_of(page)}
    path = location + "/disbursement"
    for _ in range(2):  # the same page's form, sent twice
        response = client.post(path, data=form, follow_redirects=False)
        assert response.status_code == 303
    progress = client.get(location + "/progress").json()
    assert progress["status"] == "disbursed"
    assert (progress["people_done"], progress["pending_count"]) == (2, 2)
    assert progress["paid_won"] == 200_000
    report = client.get(f"/console/allowances/{program_id}/report")
    assert re.search(r'id="report-pending_won">₩200,000<', report.text)
    assert re.search(r'id="report-balance_won">₩800,000<', report.text)
    report_csv = client.get(f"/console/allowances/{program_id}/report.csv").text
    assert "pending_count,2" in report_csv
    assert "balance_won,800000" in report_csv


def test_every_reason_and_file_problem_is_in_both_catalogs() -> None:
    ids = {f"row-reason:{reason.value}" for reason in RowReason}
    ids |= {f"file-problem:{problem}" for problem in FILE_PROBLEMS}
    for language in i18n.LANGUAGES:
        assert ids - set(i18n.CATALOGS[language]) == set()


def test_a_list_the_budget_does_not_cover_is_not_disbursed(
    client: TestClient, application: App, region: int
) -> None:
    program_id = program_of(application, region, budget_won=100_000)
    log_in_official(client, official(application, region, OfficialRole.APPROVER))
    data = HEADER + "900101-1234567,홍길동,010-1234-5678,\n850505-2345678,김영희,010-9876-5432,\n"
    location = upload(client, program_id, data.encode(), "list.csv").headers["location"]
    page = client.get(location)
    assert "이 명단을 지급하기에 예산이 ₩100,000 모자랍니다." in page.text
    refused = client.post(location + "/disbursement", data={"csrf_token": token_of(page)})
    assert refused.status_code == 422
    assert error_beside(refused, "form") == (
        "예산 ₩100,000으로는 명단에 필요한 ₩200,000을 지급할 수 없습니다."
    )
    assert client.get(location + "/progress").json()["status"] == "previewed"
