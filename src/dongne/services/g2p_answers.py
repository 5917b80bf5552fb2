"""G2P Connect answers: acknowledgements, disbursement statuses, txn status and search.

Every body built here has the shape of the specification's schemas (``docs/g2p-connect.md``
says where the file contradicts itself and what dongne sends then); the tests check each one
against the file. An async answer goes to the outbox (``g2p_callbacks``) in the transaction
that decided it; ``g2p_callbacks.deliver_due`` sends it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dongne.adapters.db.g2p_records import DisbursementRow, MessageRow
from dongne.domain import g2p
from dongne.domain.access import Principal
from dongne.domain.calendar import require_aware
from dongne.domain.g2p import Payee, PayeeKind, Rejected, Status
from dongne.services.g2p_messages import (
    Header,
    IdentityDigest,
    Instruction,
    Sender,
    ack,
    new_correlation_id,
    request_digest,
    resent,
    sender_of,
    timestamp,
)
from dongne.services.idempotency import run_in_transaction
from dongne.services.unit_of_work import UnitOfWork

SYNC_ANSWER_ACTION = "on-search"
"""The specification's sync responses allow only ``on-search`` (and ``notify`` for txn
status) as the header's action, whatever was asked; dongne sends what the file allows."""


def rejected_item(instruction: Instruction, refused: Rejected, now: datetime) -> dict[str, Any]:
    return {
        "reference_id": instruction.reference_id,
        "timestamp": timestamp(now),
        "status": Status.REJECTED.value,
        "status_reason_code": refused.reason.value,
        "status_reason_message": refused.message,
    }


def item(row: DisbursementRow) -> dict[str, Any]:
    """One disbursement's status now: an accepted one follows its grant, so a pending grant
    claimed at sign-up reads ``succ`` from then on."""
    answer: dict[str, Any] = {
        "reference_id": row.reference_id,
        "timestamp": timestamp(row.updated_at),
    }
    if row.status == Status.REJECTED.value:
        answer |= {"status": row.status, "status_reason_code": row.reason_code}
        message = row.reason_message
    elif row.grant_status is not None:
        status, message = g2p.status_of_grant(row.grant_status)
        answer["status"] = status.value
    else:
        answer["status"], message = row.status, row.reason_message
    if message:
        answer["status_reason_message"] = message
    return answer | {
        "amount": g2p.format_amount(row.amount_won),
        "payer_fa": row.payer_fa,
        "payee_fa": row.payee_fa,
        "currency_code": g2p.CURRENCY,
    }


def answer_header(
    message: MessageRow,
    action: str,
    region_code: str,
    now: datetime,
    items: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    done = sum(1 for i in items if i.get("status") in {Status.SUCCESS, Status.REJECTED})
    return {
        "version": g2p.PROTOCOL_VERSION,
        "message_id": f"{message.correlation_id}-answer",
        "message_ts": timestamp(now),
        "action": action,
        "status": Status.SUCCESS.value,
        "total_count": len(items),
        "completed_count": done,
        "sender_id": g2p.region_part(region_code),
        "receiver_id": message.sender_id,
        "is_msg_encrypted": False,
    }


def disburse_answer(
    message: MessageRow, items: list[dict[str, Any]], region_code: str, now: datetime
) -> dict[str, Any]:
    action = "on-disburse" if message.mode == "async" else SYNC_ANSWER_ACTION
    return {
        "header": answer_header(message, action, region_code, now, items),
        "message": {"transaction_id": message.transaction_id, "disbursements_status": items},
    }


def queue_callback(
    uow: UnitOfWork, message: MessageRow, body: dict[str, Any], now: datetime
) -> None:
    assert message.callback_url is not None  # noqa: S101 - async messages always have one
    uow.g2p.add_callback(
        region_id=message.region_id,
        partner_id=message.partner_id,
        message_row_id=message.id,
        url=message.callback_url,
        payload=body,
        created_at=now,
        attempts=0,
        next_attempt_at=now,
        delivered_at=None,
        last_error=None,
    )


# -- txn status and search -------------------------------------------------------------------


@dataclass(frozen=True)
class StatusQuery:
    """A ``TxnStatusRequest``'s ``txnstatus_request``."""

    reference_id: str
    txn_type: str
    attribute_type: str
    attribute_value: str | list[str]


@dataclass(frozen=True)
class SearchCriterion:
    reference_id: str
    request_type: str
    attribute_type: str
    attribute_value: str


@dataclass(frozen=True)
class QueryAnswer:
    ack: dict[str, Any]
    answer: dict[str, Any]
    """The whole answer: returned to a sync request, POSTed back to an async one."""


Build = Callable[[Sender, MessageRow], dict[str, Any]]


def _answer_query(
    uow: UnitOfWork,
    caller: Principal,
    header: Header,
    *,
    action: str,
    transaction_id: str,
    body: dict[str, Any],
    sync: bool,
    allow_private: bool,
    now: datetime,
    build: Build,
) -> QueryAnswer:
    now = require_aware(now)
    digest = request_digest(header, body)

    def attempt() -> QueryAnswer:
        sender = sender_of(uow, caller, header, sync=sync, allow_private=allow_private)
        earlier = resent(uow, sender, header, digest)
        if earlier is not None:
            assert earlier.response is not None  # noqa: S101 - a query is answered as it comes
            return QueryAnswer(earlier.ack, earlier.response)
        correlation_id = new_correlation_id()
        values = {
            "region_id": sender.region_id,
            "partner_id": sender.partner_id,
            "message_id": header.message_id,
            "request_digest": digest,
            "transaction_id": transaction_id,
            "correlation_id": correlation_id,
            "action": action,
            "mode": "sync" if sync else "async",
            "sender_id": header.sender_id,
            "callback_url": sender.callback_url,
            "status": "done",
            "ack": ack(correlation_id, now),
            "received_at": now,
            "completed_at": now,
        }
        message_row_id = uow.g2p.add_message(**values, response=None)
        message = uow.g2p.message(message_row_id)
        answer = build(sender, message)
        uow.g2p.update_message(message_row_id, response=answer)
        if not sync:
            queue_callback(uow, message, answer, now)
        return QueryAnswer(message.ack, answer)

    return run_in_transaction(uow, attempt)


def txn_status(
    uow: UnitOfWork,
    caller: Principal,
    *,
    header: Header,
    transaction_id: str,
    query: StatusQuery,
    sync: bool,
    allow_private: bool,
    now: datetime,
) -> QueryAnswer:
    """The status of earlier disbursements, by transaction_id, reference_id_list or the
    correlation_id dongne acknowledged them with (the sender's own only)."""
    if query.txn_type != "disburse":
        raise g2p.G2pEnvelopeInvalid(
            "dongne answers txn status for txn_type disburse", g2p_error="err.request.bad"
        )

    def build(sender: Sender, message: MessageRow) -> dict[str, Any]:
        looked_up, items = _status_items(uow, sender, query, transaction_id, now)
        action = SYNC_ANSWER_ACTION if sync else "on-disburse"
        region_code = sender.region_code
        return {
            "header": answer_header(message, action, region_code, now, items),
            "message": {
                "transaction_id": transaction_id,
                "correlation_id": message.correlation_id,
                "txnstatus_response": {
                    "txn_type": "on-disburse",
                    "txn_status": {"transaction_id": looked_up, "disbursements_status": items},
                },
            },
        }

    body = {"transaction_id": transaction_id, "query": vars(query)}
    return _answer_query(
        uow,
        caller,
        header,
        action="txn_status",
        transaction_id=transaction_id,
        body=body,
        sync=sync,
        allow_private=allow_private,
        now=now,
        build=build,
    )


def _status_items(
    uow: UnitOfWork, sender: Sender, query: StatusQuery, transaction_id: str, now: datetime
) -> tuple[str, list[dict[str, Any]]]:
    store, value = uow.g2p, query.attribute_value
    if query.attribute_type == "reference_id_list":
        references = [value] if isinstance(value, str) else value
        found = store.by_references(sender.partner_id, references)
        missing = g2p.Reason.REFERENCE_ID_INVALID
        return transaction_id, [
            item(found[r])
            if r in found
            else {
                "reference_id": r,
                "timestamp": timestamp(now),
                "status": Status.REJECTED.value,
                "status_reason_code": missing.value,
                "status_reason_message": "no disbursement of this sender has this reference_id",
            }
            for r in references
        ]
    if not isinstance(value, str):
        raise g2p.G2pEnvelopeInvalid(
            f"{query.attribute_type} takes one string", g2p_error="err.request.bad"
        )
    if query.attribute_type == "transaction_id":
        return value, [item(row) for row in store.of_transaction(sender.partner_id, value)]
    if query.attribute_type == "correlation_id":
        message = store.message_by_correlation(sender.partner_id, value)
        rows = store.of_message(message.id) if message is not None else []
        return (message.transaction_id if message else transaction_id), [item(r) for r in rows]
    raise g2p.G2pEnvelopeInvalid(
        "attribute_type is transaction_id, reference_id_list or correlation_id",
        g2p_error="err.request.bad",
    )


def search(
    uow: UnitOfWork,
    caller: Principal,
    identity_digest: IdentityDigest,
    *,
    header: Header,
    transaction_id: str,
    criteria: Sequence[SearchCriterion],
    sync: bool,
    allow_private: bool,
    now: datetime,
) -> QueryAnswer:
    """The sender's disbursements to a payee or from a payer (program), by address."""

    def build(sender: Sender, message: MessageRow) -> dict[str, Any]:
        items = [
            found
            for criterion in criteria
            for found in _search_items(uow, sender, identity_digest, criterion, now)
        ]
        action = SYNC_ANSWER_ACTION if sync else "on-search"
        return {
            "header": answer_header(message, action, sender.region_code, now, items),
            "message": {"transaction_id": transaction_id, "disbursements_status": items},
        }

    body = {"transaction_id": transaction_id, "criteria": [vars(c) for c in criteria]}
    return _answer_query(
        uow,
        caller,
        header,
        action="search",
        transaction_id=transaction_id,
        body=body,
        sync=sync,
        allow_private=allow_private,
        now=now,
        build=build,
    )


def _search_items(
    uow: UnitOfWork,
    sender: Sender,
    identity_digest: IdentityDigest,
    criterion: SearchCriterion,
    now: datetime,
) -> list[dict[str, Any]]:
    def refused(code: str, text: str) -> list[dict[str, Any]]:
        return [
            {
                "reference_id": criterion.reference_id,
                "timestamp": timestamp(now),
                "status": Status.REJECTED.value,
                "status_reason_code": code,
                "status_reason_message": text,
            }
        ]

    if criterion.request_type != "disburse":
        return refused("rjct.request_type.invalid", "dongne searches disbursements")
    code = sender.region_code
    try:
        if criterion.attribute_type == "payee_fa":
            payee = _payee_address(
                g2p.parse_payee(criterion.attribute_value, code), identity_digest, code
            )
            rows = uow.g2p.by_address(sender.partner_id, payee_fa=payee)
        elif criterion.attribute_type == "payer_fa":
            program_id = g2p.parse_payer(criterion.attribute_value, code)
            payer = g2p.program_address(program_id, code)
            rows = uow.g2p.by_address(sender.partner_id, payer_fa=payer)
        else:
            return refused("rjct.attribute_type.invalid", "search by payee_fa or payer_fa")
    except Rejected as error:
        return refused(f"rjct.srch_{criterion.attribute_type}.invalid", error.message)
    return [
        {key: value for key, value in item(row).items() if key in _SEARCH_FIELDS} for row in rows
    ]


_SEARCH_FIELDS = {"reference_id", "timestamp", "status", "status_reason_message"}
"""A search record's fields: its reason codes are the search's own, not the disbursement's."""


def _payee_address(payee: Payee, identity_digest: IdentityDigest, region_code: str) -> str:
    if payee.kind is PayeeKind.PHONE:
        return g2p.phone_address(payee.value, region_code)
    identity = identity_digest(payee.value) if payee.kind is PayeeKind.RRN else payee.value
    return g2p.token_address(identity, region_code)
