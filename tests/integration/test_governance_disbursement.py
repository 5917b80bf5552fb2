"""A four-eyes disbursement: the audit names the approver of every grant transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from dongne.domain.access import Principal, UserKind
from dongne.domain.approvals import ApprovalKind, ApprovalMode, ApprovalRequired
from dongne.services import approval_audit, approvals
from dongne.services.allowance_disbursement import disburse
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key
from tests.integration.test_allowances import (
    OPERATOR,
    csv_of,
    make_program,
    resident_number,
    signed_up,
    upload,
)


def official(world: World, user_id: int) -> Principal:
    return Principal(UserKind.OFFICIAL, user_id=user_id, region_id=world.region_id, role="approver")


def test_an_approved_list_is_paid_and_each_grant_names_its_approver(
    uow: UnitOfWork, engine: Engine
) -> None:
    world = World(uow, NOW)
    program_id = make_program(world)
    alice, bob = resident_number(), resident_number()
    signed_up(world, alice)
    summary = upload(world, program_id, csv_of(alice, bob))
    approvals.set_approval_mode(
        uow,
        official(world, 401),
        region_id=world.region_id,
        kind=ApprovalKind.ALLOWANCE_DISBURSEMENT,
        mode=ApprovalMode.INITIATOR_AND_APPROVER,
        now=NOW,
    )
    with pytest.raises(ApprovalRequired):
        disburse(uow, OPERATOR, upload_id=summary.upload_id, now=NOW)
    filed = approvals.file_request(
        uow,
        official(world, 401),
        region_id=world.region_id,
        kind=ApprovalKind.ALLOWANCE_DISBURSEMENT,
        params={"upload_id": summary.upload_id},
        reason="청년수당 11월분 (youth allowance, November)",
        idempotency_key=unique_key(),
        now=NOW,
    )
    assert filed.status == "pending"
    approvals.approve_request(
        uow,
        official(world, 402),
        request_id=filed.id,
        reason="명단 확인 (list checked)",
        idempotency_key=unique_key(),
        now=NOW,
    )
    allowed = approval_audit.who_allowed(uow, region_id=world.region_id)
    grants = [m for m in allowed if m.transaction_kind == "allowance_grant"]
    assert grants, "the grants carry the approval's key"
    assert {(m.requested_by_user_id, m.approved_by_user_id, m.key_matches) for m in grants} == {
        (401, 402, True)
    }


def test_a_direct_disbursement_records_its_single_approver(uow: UnitOfWork) -> None:
    world = World(uow, NOW)
    program_id = make_program(world)
    identity = resident_number()
    signed_up(world, identity)
    summary = upload(world, program_id, csv_of(identity))
    disburse(uow, official(world, 403), upload_id=summary.upload_id, now=NOW)
    allowed = approval_audit.who_allowed(uow, region_id=world.region_id)
    assert [(m.transaction_kind, m.approved_by_user_id) for m in allowed] == [
        ("allowance_funding", OPERATOR.user_id),  # make_program's funding, by the operator
        ("allowance_grant", 403),
    ]
