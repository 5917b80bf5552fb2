"""The city console over HTTP: who may open it, what a role may do, another region's things,
form tokens and the CSV downloads. The browser journey is ``test_web_console_browser.py``.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import httpx

from dongne.bootstrap import App
from dongne.domain.access import Principal, UserKind
from dongne.domain.approvals import ApprovalKind
from dongne.domain.fraud import AlertStatus, FraudRule
from dongne.domain.merchant_applications import ApplicationStatus
from dongne.domain.merchants import MerchantStatus
from dongne.domain.program import BonusMode, BudgetExhaustedPolicy
from dongne.entrypoints.web import i18n
from dongne.entrypoints.web.console import PROGRAM_LABELS
from dongne.entrypoints.web.pages import LANGUAGE_COOKIE
from dongne.services import approvals, merchant_applications, walking
from tests.e2e.console_setup import (
    APPLICANT,
    PASSWORD,
    Official,
    merchant_owner,
    official,
    region_with_work,
    token_of,
)
from tests.e2e.test_api_payment_intents import TestClient
from tests.e2e.test_web_citizen import citizen, error_beside, log_in
from tests.factories import unique_key


def log_in_official(
    client: TestClient, person: Official, *, code: str | None = None
) -> httpx.Response:
    page = client.get("/login?next=/console")
    form = {
        "csrf_token": token_of(page),
        "phone": person.login,
        "password": PASSWORD,
        "totp": person.totp.now() if code is None else code,
    }
    return client.post("/login?next=/console", data=form, follow_redirects=False)


def post_form(client: TestClient, page: str, action: str, **fields: str) -> httpx.Response:
    """Submit a form of ``page`` as a browser would: with the page's token."""
    token = token_of(client.get(page))
    return client.post(action, data={"csrf_token": token, **fields}, follow_redirects=False)


def csv_rows(response: httpx.Response) -> list[list[str]]:
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for Korean
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_an_official_logs_in_with_a_totp_code_and_lands_on_the_dashboard(
    client: TestClient, application: App
) -> None:
    region = region_with_work(application)
    person = official(application, region.region_id)
    assert 'id="totp"' in client.get("/login?next=/console").text
    refused = log_in_official(client, person, code="000000")
    assert refused.status_code == 403
    assert error_beside(refused, "totp")
    landed = log_in_official(client, person)
    assert (landed.status_code, landed.headers["location"]) == (303, "/console")
    dashboard = client.get("/console")
    assert dashboard.status_code == 200
    assert 'id="sold">₩300,000<' in dashboard.text
    assert 'id="spent">₩100,000<' in dashboard.text
    assert 'id="outstanding">₩200,000<' in dashboard.text
    assert 'id="budget-used">₩30,000 (3%)<' in dashboard.text
    assert 'role="img"' in dashboard.text
    assert "style=" not in dashboard.text


def test_citizens_and_merchants_are_sent_to_log_in_rather_than_into_the_console(
    client: TestClient, application: App
) -> None:
    region = region_with_work(application)
    log_in(client, citizen(application))
    as_citizen = client.get("/console/applications", follow_redirects=False)
    assert as_citizen.headers["location"] == "/login?next=/console/applications"
    assert log_in(client, merchant_owner(application, region.shop)).status_code == 303
    as_merchant = client.get("/console", follow_redirects=False)
    assert as_merchant.headers["location"] == "/login?next=/console"
    approving = client.post(
        f"/console/applications/{region.application_id}/approve", follow_redirects=False
    )
    assert approving.status_code == 303  # to log in, and nothing decided
    pending = merchant_applications.application(
        application.reader(), application_id=region.application_id
    )
    assert pending.status.value == "pending"


def test_another_regions_application_and_alert_are_pages_not_found(
    client: TestClient, application: App
) -> None:
    theirs = region_with_work(application)
    ours = region_with_work(application)
    log_in_official(client, official(application, ours.region_id))
    for page in (
        f"/console/applications/{theirs.application_id}",
        f"/console/fraud/{theirs.alert_id}",
        "/console/applications/999999",
    ):
        response = client.get(page)
        assert response.status_code == 404, page
        assert 'data-status="404"' in response.text
    mine = f"/console/applications/{ours.application_id}"
    action = f"/console/applications/{theirs.application_id}/approve"
    assert post_form(client, mine, action).status_code == 404
    assert post_form(client, mine, f"/console/fraud/{theirs.alert_id}/hold").status_code == 404
    assert APPLICANT in client.get(mine).text


def test_a_viewer_reads_but_a_decision_is_a_403_page(client: TestClient, application: App) -> None:
    region = region_with_work(application)
    log_in_official(client, official(application, region.region_id, role="viewer"))
    page = f"/console/applications/{region.application_id}"
    shown = client.get(page)
    assert 'id="needs-role"' in shown.text
    assert 'id="approve"' not in shown.text  # only the buttons the reader may press
    approving = post_form(client, page, f"/console/applications/{region.application_id}/approve")
    assert approving.status_code == 403
    assert 'data-status="403"' in approving.text
    clearing = post_form(client, page, f"/console/fraud/{region.alert_id}/clear", note="ok")
    assert clearing.status_code == 403
    configuring = post_form(client, "/console/walking", "/console/walking", daily_cap_won="100")
    assert configuring.status_code == 403
    assert post_form(client, "/console/fraud", "/console/fraud/scan").status_code == 403


def test_an_operator_suspends_and_reinstates_a_merchant_of_the_region_only(
    client: TestClient, application: App
) -> None:
    theirs = region_with_work(application)
    ours = region_with_work(application)
    log_in_official(client, official(application, ours.region_id))
    listing = "/console/merchants"
    other = post_form(client, listing, f"/console/merchants/{theirs.shop}/suspend")
    assert other.status_code == 404
    suspended = post_form(client, listing, f"/console/merchants/{ours.shop}/suspend")
    assert suspended.headers["location"] == "/console/merchants?done=suspended"
    shown = client.get(listing)
    assert f'id="merchant-{ours.shop}-status">정지<' in shown.text
    assert f'id="reinstate-{ours.shop}"' in shown.text
    again = post_form(client, listing, f"/console/merchants/{ours.shop}/suspend")
    assert (again.status_code, error_beside(again, "form")) == (
        409,
        "가맹점의 지금 상태에서는 할 수 없습니다.",
    )
    reinstated = post_form(client, listing, f"/console/merchants/{ours.shop}/reinstate")
    assert reinstated.headers["location"] == "/console/merchants?done=reinstated"
    merchants = csv_rows(client.get("/console/merchants?format=csv"))
    assert merchants[0][:2] == ["가맹점 번호", "상호"]
    assert [(row[0], row[5]) for row in merchants[1:]] == [(str(ours.shop), "영업 중")]


def test_an_operator_checks_new_payments_for_fraud(client: TestClient, application: App) -> None:
    region = region_with_work(application)
    log_in_official(client, official(application, region.region_id))
    scanned = post_form(client, "/console/fraud", "/console/fraud/scan")
    # The one payment is under a minute old (a scan leaves those to the next run).
    assert scanned.headers["location"] == "/console/fraud?checked=0&opened=0"
    shown = client.get(scanned.headers["location"])
    assert "결제 0건을 검사했고 경보 0건이 새로 생겼습니다." in shown.text


def test_funding_the_rewards_budget_takes_an_approver_and_a_double_click_funds_once(
    client: TestClient, application: App
) -> None:
    region = region_with_work(application)
    log_in_official(client, official(application, region.region_id, role="operator"))
    assert (
        post_form(
            client, "/console/walking", "/console/walking/budget", amount_won="1000"
        ).status_code
        == 403
    )
    client.cookies.clear()
    log_in_official(client, official(application, region.region_id, role="approver"))
    saved = post_form(
        client, "/console/walking", "/console/walking",
        steps_1="5,000", points_1="50", steps_2="10000", points_2="100",
        daily_cap_won="100", monthly_cap_won="3000", validity_days="365",
        report_window_days="7", active="1",
    )  # fmt: skip
    assert saved.headers["location"] == "/console/walking?done=configured"
    token = token_of(client.get("/console/walking"))
    for _ in range(2):
        funded = client.post(
            "/console/walking/budget",
            data={"csrf_token": token, "amount_won": "₩1,000,000"},
            follow_redirects=False,
        )
        assert funded.headers["location"] == "/console/walking?done=funded"
    overview = walking.walking_overview(application.reader(), region_id=region.region_id)
    assert overview.budget_balance_won == 1_000_000
    assert [tier.steps for tier in overview.program.tiers] == [5_000, 10_000]
    assert csv_rows(client.get("/console/walking?format=csv"))[1:] == [
        ["5000", "50"],
        ["10000", "100"],
    ]


def test_refused_forms_come_back_with_the_message_beside_the_field(
    client: TestClient, application: App
) -> None:
    region = region_with_work(application)
    log_in_official(client, official(application, region.region_id))
    page = f"/console/applications/{region.application_id}"
    forged = client.post(
        f"/console/applications/{region.application_id}/approve",
        data={"csrf_token": "1.forged.token"},
    )
    assert forged.status_code == 400
    assert error_beside(forged, "form") == "입력 화면이 만료되었습니다. 다시 입력해 주세요."
    no_reason = post_form(
        client, page, f"/console/applications/{region.application_id}/reject", reason=" "
    )
    assert error_beside(no_reason, "reason") == "반려 사유를 적어 주세요."
    found = merchant_applications.application(
        application.reader(), application_id=region.application_id
    )
    assert found.status.value == "pending"
    unordered = post_form(
        client, "/console/walking", "/console/walking",
        steps_1="10000", points_1="100", steps_2="5000", points_2="50",
        daily_cap_won="100", monthly_cap_won="3000", validity_days="365", report_window_days="7",
    )  # fmt: skip
    assert unordered.status_code == 400
    assert error_beside(unordered, "tiers").startswith("규칙이 맞지 않습니다")
    assert 'value="5000"' in unordered.text  # what was typed stays


def test_every_table_downloads_as_csv_with_a_header_row(
    client: TestClient, application: App
) -> None:
    region = region_with_work(application)
    log_in_official(client, official(application, region.region_id))
    applications = csv_rows(client.get("/console/applications?format=csv"))
    assert applications[0][:3] == ["번호", "상호", "사업자등록번호"]
    assert [row[1] for row in applications[1:]] == [APPLICANT]
    alerts = csv_rows(client.get("/console/fraud?format=csv"))
    assert alerts[0][:2] == ["번호", "규칙"]
    assert [(row[0], row[1]) for row in alerts[1:]] == [
        (str(region.alert_id), "구매 직후 큰 단위 결제")
    ]
    categories = csv_rows(client.get("/console/payments-by-category.csv"))
    assert categories == [["업종", "결제 건수", "결제 금액 (원)"], ["bakery", "1", "100000"]]
    days = csv_rows(client.get("/console/payments-by-day.csv"))
    assert len(days) == 31
    assert sum(int(row[2]) for row in days[1:]) == 100_000
    figures = dict(csv_rows(client.get("/console/figures.csv"))[1:])
    assert figures["판매액"] == "300000"
    program = csv_rows(client.get("/console/program?format=csv"))
    assert program[0] == ["항목", "값"]
    assert ["할인율", "10%"] in program
    assert "attachment" in client.get("/console/program?format=csv").headers["content-disposition"]


def test_every_message_the_console_names_at_run_time_is_translated() -> None:
    """The ids a template builds from a value (``_("rule:" ~ alert.rule)``), which the catalog
    test cannot find in the templates: one for every value the domain has."""
    named = set(PROGRAM_LABELS)
    named |= {f"rule:{rule.value}" for rule in FraudRule}
    named |= {f"rule-explained:{rule.value}" for rule in FraudRule}
    named |= {f"alert:{status.value}" for status in AlertStatus} | {"alert:all"}
    named |= {f"application:{status.value}" for status in ApplicationStatus}
    named |= {f"merchant:{status.value}" for status in MerchantStatus}
    named |= {f"bonus:{mode.value}" for mode in BonusMode}
    named |= {f"budget:{policy.value}" for policy in BudgetExhaustedPolicy}
    named |= {f"approval:{kind.value}" for kind in ApprovalKind}
    named |= {f"change:{state}" for state in ("scheduled", "in_force", "ended")}
    for language in i18n.LANGUAGES:
        assert named - set(i18n.CATALOGS[language]) == set(), language


def file_setting_change(
    app: App, region_id: int, role: str, settings: dict[str, int], reason: str
) -> approvals.ApprovalView:
    """A request to change the program from tomorrow, filed by an official of ``role``."""
    filer = Principal(UserKind.OFFICIAL, user_id=9_001, region_id=region_id, role=role)
    starts = datetime.now(UTC) + timedelta(days=1)
    return approvals.file_request(
        app.uow,
        filer,
        region_id=region_id,
        kind=ApprovalKind.SETTING_CHANGE,
        params={"settings": settings, "effective_at": starts.isoformat(), "ends_at": None},
        reason=reason,
        idempotency_key=unique_key("change"),
        now=datetime.now(UTC),
    )


def test_the_program_page_lists_dated_changes_and_requests_waiting_for_approval(
    client: TestClient, application: App
) -> None:
    region = region_with_work(application)
    region_id = region.world.region_id
    log_in_official(client, official(application, region_id))
    empty = client.get("/console/program")
    assert 'id="timeline-empty"' in empty.text
    assert 'id="pending-empty"' in empty.text
    scheduled = file_setting_change(
        application, region_id, "approver", {"base_rate_bp": 1_500}, "추석 할인"
    )
    assert scheduled.status == "approved"
    assert scheduled.result is not None
    waiting = file_setting_change(
        application, region_id, "operator", {"holding_limit_won": 500_000}, "보유 한도 조정"
    )
    assert waiting.status == "pending"
    page = client.get("/console/program")
    change_row = page.text.split(f'id="change-{scheduled.result["change_id"]}"')[1]
    change_row = change_row.split("</tr>")[0]
    assert "base_rate_bp = 1500" in change_row
    assert "시행 예정" in change_row
    assert "추석 할인" in change_row
    request_row = page.text.split(f'id="request-{waiting.id}"')[1].split("</tr>")[0]
    assert "정책 변경" in request_row
    assert "보유 한도 조정" in request_row
    assert f'id="request-{scheduled.id}"' not in page.text  # approved: no longer waiting
    client.cookies.set(LANGUAGE_COOKIE, "en")
    english = client.get("/console/program")
    assert "Scheduled" in english.text
    assert "Setting change" in english.text


def test_the_program_page_names_who_asked_by_login_not_only_an_id(
    client: TestClient, application: App
) -> None:
    region_id = region_with_work(application).world.region_id
    log_in_official(client, official(application, region_id))
    asker = official(application, region_id, role="operator")
    with application.reader() as uow:
        user = uow.access.user_by_login(asker.login)
    assert user is not None
    filed = approvals.file_request(
        application.uow,
        Principal(UserKind.OFFICIAL, user_id=user.id, region_id=region_id, role="operator"),
        region_id=region_id,
        kind=ApprovalKind.SETTING_CHANGE,
        params={"settings": {"holding_limit_won": 500_000}, "effective_at": None, "ends_at": None},
        reason="보유 한도 조정",
        idempotency_key=unique_key("change"),
        now=datetime.now(UTC),
    )
    page = client.get("/console/program")
    row = page.text.split(f'id="request-{filed.id}"')[1].split("</tr>")[0]
    assert f"{asker.login} (#{user.id})" in row
