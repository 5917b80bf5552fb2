"""The governance API names people by login beside their ids, on SQLite and PostgreSQL: the
official who funded a budget through ``POST /regions/{id}/budget`` is the audit's approver of
that funding, and a pending request names who asked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.e2e.test_api_payment_intents import TestClient
from tests.e2e.test_api_resources import API, Platform, _key, application, platform

__all__ = ["application", "platform"]


def test_the_audit_and_the_pending_list_name_people_by_login(
    platform: Platform, client: TestClient
) -> None:
    region = platform.region(budget_won=1_000_000)
    audit = client.get(f"{API}/regions/{region.id}/approvals/audit", headers=region.viewer)
    assert audit.status_code == 200, audit.text
    [funding] = audit.json()
    assert funding["transaction_kind"] == "budget_funding"
    assert funding["approved_by_login"].startswith("approver-"), funding
    assert funding["approved_by_user_id"] == funding["requested_by_user_id"]

    policy = client.post(
        f"{API}/regions/{region.id}/approval_policy",
        json={"kind": "setting_change", "mode": "initiator_and_approver"},
        headers=region.approver,
    )
    assert policy.status_code == 200, policy.text
    starts = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    filed = client.post(
        f"{API}/regions/{region.id}/approval_requests",
        json={
            "kind": "setting_change",
            "params": {"settings": {"base_rate_bp": 1500}, "effective_at": starts},
            "reason": "추석 할인 (Chuseok)",
        },
        headers=_key(region.approver),
    )
    assert filed.status_code == 201, filed.text
    listed = client.get(
        f"{API}/regions/{region.id}/approval_requests?status=pending", headers=region.viewer
    )
    [waiting] = listed.json()
    assert waiting["requested_by_login"] == funding["approved_by_login"]
    assert (waiting["requested_by_user_id"], waiting["decided_by_login"]) == (
        funding["approved_by_user_id"],
        None,
    )
