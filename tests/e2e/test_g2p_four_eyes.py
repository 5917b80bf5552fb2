"""G2P Connect under four-eyes approval, on SQLite and PostgreSQL: a machine's disbursement
pays only once an official allows it, and the audit names who did. Every body is checked
against the specification's schemas (``tests/g2p_spec.py``), the callbacks included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dongne.adapters.webhook_sender import HttpWebhookSender
from dongne.domain.access import Principal, UserKind
from dongne.domain.approvals import ApprovalKind, ApprovalMode, ApprovalStatus, OwnApprovalRequest
from dongne.services import approval_audit, approvals, g2p, g2p_callbacks
from tests.e2e.test_g2p_connect import (
    OFFICIAL_ID,
    RRN_WITHOUT_WALLET,
    G2pWorld,
    _region_of,
    callbacks,
    disburse_body,
    header,
    instruction,
    spec,
    statuses,
    world,
)
from tests.e2e.test_webhooks import Receiver, receiver
from tests.factories import unique_key
from tests.g2p_spec import Spec
from tests.helpers import assert_ledger_sound, balance_won

__all__ = ["receiver", "spec", "world"]

SECOND_OFFICIAL_ID = 32


def official(world: G2pWorld, user_id: int) -> Principal:
    return Principal(
        UserKind.OFFICIAL, user_id=user_id, region_id=_region_of(world), role="approver"
    )


def need_two(world: G2pWorld) -> None:
    approvals.set_approval_mode(
        world.app.uow,
        official(world, SECOND_OFFICIAL_ID),
        region_id=_region_of(world),
        kind=ApprovalKind.ALLOWANCE_DISBURSEMENT,
        mode=ApprovalMode.INITIATOR_AND_APPROVER,
        now=datetime.now(UTC),
    )


def waiting_request(world: G2pWorld) -> approvals.ApprovalView:
    [request] = approvals.list_requests(
        world.app.uow,
        official(world, SECOND_OFFICIAL_ID),
        region_id=_region_of(world),
        status=ApprovalStatus.PENDING,
        now=datetime.now(UTC),
    )
    return request


def deliver(world: G2pWorld) -> None:
    """What the approve route's background task (or ``dongne g2p deliver``) does."""
    sender = HttpWebhookSender(allow_private_addresses=True)
    try:
        g2p_callbacks.deliver_due(
            world.app.unit_of_work(), sender, now=datetime.now(UTC), attempts_max=3
        )
    finally:
        sender.close()


def status_of(world: G2pWorld, spec: Spec, references: list[str]) -> dict[str, Any]:
    body = {
        "header": header("search", 1),
        "message": {
            "transaction_id": unique_key("status"),
            "txnstatus_request": {
                "reference_id": "q-1",
                "txn_type": "disburse",
                "attribute_type": "reference_id_list",
                "attribute_value": references,
            },
        },
    }
    answer = world.post("/disburse/sync/txn/status", body, spec).json()
    return statuses(answer["message"]["txnstatus_response"]["txn_status"])


def test_where_two_officials_are_needed_a_disbursement_waits_then_pays_on_approval(
    world: G2pWorld, spec: Spec, receiver: Receiver
) -> None:
    need_two(world)
    items = [
        instruction("F-1", "phone:010-1234-5678@siheung.dongne"),
        instruction("F-2", f"rrn:{RRN_WITHOUT_WALLET}@siheung.dongne", "100000.00"),
    ]
    body = disburse_body(world, items, action="disburse", sender_uri=receiver.url)
    assert world.post("/disburse", body, spec).json()["message"]["ack_status"] == "ACK"
    [waiting] = callbacks(receiver, 1)
    spec.request("/on-disburse", waiting)
    assert statuses(waiting) == {"F-1": ("pdng", None), "F-2": ("pdng", None)}
    assert world.budget() == 1_000_000, "nothing is paid before an official approves"
    assert balance_won(world.app.uow, world.wallet_id, now=datetime.now(UTC)) == 0

    request = waiting_request(world)
    assert (request.kind, request.requested_by_user_id) == ("allowance_disbursement", OFFICIAL_ID)
    with pytest.raises(OwnApprovalRequest):
        approvals.approve_request(
            world.app.uow,
            official(world, OFFICIAL_ID),
            request_id=request.id,
            reason=None,
            idempotency_key=unique_key(),
            now=datetime.now(UTC),
        )
    approvals.approve_request(
        world.app.uow,
        official(world, SECOND_OFFICIAL_ID),
        request_id=request.id,
        reason="명단 확인 (list checked)",
        idempotency_key=unique_key(),
        now=datetime.now(UTC),
    )
    deliver(world)
    paid = callbacks(receiver, 2)[1]
    spec.request("/on-disburse", paid)
    assert statuses(paid) == {"F-1": ("succ", None), "F-2": ("pdng", None)}
    assert world.budget() == 1_000_000 - 250_000 - 100_000
    assert balance_won(world.app.uow, world.wallet_id, now=datetime.now(UTC)) == 250_000
    grants = [
        m
        for m in approval_audit.who_allowed(world.app.uow, region_id=_region_of(world))
        if m.transaction_kind == "allowance_grant"
    ]
    assert {(m.requested_by_user_id, m.approved_by_user_id, m.key_matches) for m in grants} == {
        (OFFICIAL_ID, SECOND_OFFICIAL_ID, True)
    }
    assert_ledger_sound(world.app.uow)


def test_a_rejected_disbursement_is_answered_rjct_and_pays_nothing(
    world: G2pWorld, spec: Spec
) -> None:
    need_two(world)
    body = disburse_body(
        world, [instruction("J-1", "phone:010-1234-5678@siheung.dongne")], action="search"
    )
    answered = world.post("/disburse/sync/disburse", body, spec).json()
    [item] = answered["message"]["disbursements_status"]
    assert (item["status"], item["status_reason_message"]) == (
        "pdng",
        "awaiting a second official's approval (결재 대기)",
    )
    approvals.reject_request(
        world.app.uow,
        official(world, SECOND_OFFICIAL_ID),
        request_id=waiting_request(world).id,
        reason="중복 수급 의심 (suspected double payment)",
        now=datetime.now(UTC),
    )
    assert status_of(world, spec, ["J-1"]) == {"J-1": ("rjct", "rjct.payer_fa.invalid")}
    assert world.budget() == 1_000_000
    assert balance_won(world.app.uow, world.wallet_id, now=datetime.now(UTC)) == 0


def test_a_request_nobody_decides_is_refused_once_it_expires(world: G2pWorld, spec: Spec) -> None:
    need_two(world)
    body = disburse_body(
        world, [instruction("E-1", "phone:010-1234-5678@siheung.dongne")], action="search"
    )
    world.post("/disburse/sync/disburse", body, spec)
    g2p.process_pending(world.app.uow, now=datetime.now(UTC) + timedelta(days=1))
    assert status_of(world, spec, ["E-1"]) == {"E-1": ("pdng", None)}, "not expired yet"
    g2p.process_pending(world.app.uow, now=datetime.now(UTC) + timedelta(days=4))
    assert status_of(world, spec, ["E-1"]) == {"E-1": ("rjct", "rjct.payer_fa.invalid")}
    assert world.budget() == 1_000_000


def test_where_one_official_suffices_the_one_who_registered_the_sender_is_named(
    world: G2pWorld, spec: Spec
) -> None:
    body = disburse_body(
        world, [instruction("O-1", "phone:010-1234-5678@siheung.dongne")], action="search"
    )
    assert statuses(world.post("/disburse/sync/disburse", body, spec).json()) == {
        "O-1": ("succ", None)
    }
    grants = [
        m
        for m in approval_audit.who_allowed(world.app.uow, region_id=_region_of(world))
        if m.transaction_kind == "allowance_grant"
    ]
    assert [(m.requested_by_user_id, m.approved_by_user_id) for m in grants] == [
        (OFFICIAL_ID, OFFICIAL_ID)
    ]
