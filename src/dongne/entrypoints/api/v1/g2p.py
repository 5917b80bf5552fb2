"""G2P Connect "G2P Disbursements" v1.0.0 over HTTP, under ``/g2p`` (``docs/g2p-connect.md``).

Senders are partner apps with the ``g2p`` scope (``Authorization: Bearer <API key>``). Async
routes answer an acknowledgement at once and POST the answer to ``header.sender_uri`` (or the
partner's webhook URL) afterwards; sync routes answer it in the response. A message that
cannot be taken at all is a problem+json 4xx; each instruction's own refusal is an ``rjct``
status with the specification's reason code, inside the answer. A resent ``message_id``
answers the first answer and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from fastapi import APIRouter, BackgroundTasks
from pydantic import AliasChoices, Field

from dongne.adapters.webhook_sender import HttpWebhookSender
from dongne.bootstrap import App
from dongne.domain.errors import DongneError
from dongne.domain.g2p import MAX_ITEMS, PROTOCOL_VERSION, G2pEnvelopeInvalid, G2pMessageIdReused
from dongne.entrypoints.api.deps import AppDep, CallerDep, now
from dongne.entrypoints.api.fields import RequestModel
from dongne.entrypoints.api.v1.problems import PROBLEMS
from dongne.services import g2p, g2p_answers, g2p_callbacks
from dongne.services.g2p_answers import SYNC_ANSWER_ACTION
from dongne.services.g2p_messages import Header, Instruction

router = APIRouter(tags=["G2P Connect"])
log = logging.getLogger("dongne.g2p")

Short = Field(min_length=1, max_length=99)


class HeaderIn(RequestModel):
    version: str = Field(default=PROTOCOL_VERSION, max_length=20)
    message_id: str = Field(min_length=1, max_length=99)
    message_ts: datetime
    action: str = Field(max_length=40, description="recorded; the path says what is asked")
    sender_id: str = Field(min_length=1, max_length=99)
    sender_uri: str | None = Field(default=None, max_length=500)
    receiver_id: str | None = Field(default=None, max_length=99)
    total_count: int = Field(ge=0, le=MAX_ITEMS)
    is_msg_encrypted: bool = False

    def read(self) -> Header:
        if self.version != PROTOCOL_VERSION:
            raise G2pEnvelopeInvalid(
                f"dongne speaks G2P Connect {PROTOCOL_VERSION}",
                g2p_error="err.version.not_supported",
                header_reason="rjct.version.invalid",
            )
        if self.is_msg_encrypted:
            raise G2pEnvelopeInvalid(
                "encrypted messages are not taken: TLS protects the transport",
                g2p_error="err.encryption.invalid",
            )
        return Header(self.message_id, self.sender_id, self.sender_uri, self.total_count)


class DisbursementIn(RequestModel):
    reference_id: str = Field(max_length=200)
    payer_fa: str = Field(max_length=300, examples=["program:12@siheung.dongne"])
    payee_fa: str = Field(max_length=300, examples=["phone:01012345678@siheung.dongne"])
    amount: str = Field(max_length=40, examples=["250000.00"])
    scheduled_timestamp: datetime | None = None
    payer_name: str | None = Field(default=None, max_length=200)
    payee_name: str | None = Field(default=None, max_length=200)
    currency_code: str | None = Field(default=None, max_length=10, examples=["KRW"])

    def read(self) -> Instruction:
        return Instruction(
            reference_id=self.reference_id,
            payer_fa=self.payer_fa,
            payee_fa=self.payee_fa,
            amount=self.amount,
            currency_code=self.currency_code,
            scheduled_timestamp=self.scheduled_timestamp,
            payee_name=self.payee_name,
        )


class DisburseRequestIn(RequestModel):
    transaction_id: str = Short
    disbursements: list[DisbursementIn] = Field(
        max_length=MAX_ITEMS,
        # The specification's DisburseRequest requires a misspelled ``disburemsents``.
        validation_alias=AliasChoices("disbursements", "disburemsents"),
    )


class DisburseIn(RequestModel):
    signature: str | None = Field(default=None, max_length=2000)
    header: HeaderIn
    message: DisburseRequestIn


class StatusQueryIn(RequestModel):
    reference_id: str = Field(max_length=99)
    txn_type: str = Field(max_length=20, examples=["disburse"])
    attribute_type: str = Field(max_length=40, examples=["reference_id_list"])
    attribute_value: str | list[str] = Field(max_length=MAX_ITEMS)


class TxnStatusRequestIn(RequestModel):
    transaction_id: str = Short
    txnstatus_request: StatusQueryIn


class TxnStatusIn(RequestModel):
    signature: str | None = Field(default=None, max_length=2000)
    header: HeaderIn
    message: TxnStatusRequestIn


class CriterionIn(RequestModel):
    reference_id: str = Field(max_length=99)
    request_type: str = Field(max_length=20, examples=["disburse"])
    attribute_type: str = Field(max_length=20, examples=["payee_fa"])
    attribute_value: str = Field(max_length=300)


class SearchRequestIn(RequestModel):
    transaction_id: str = Short
    search_criteria: list[CriterionIn] = Field(max_length=20)


class SearchIn(RequestModel):
    signature: str | None = Field(default=None, max_length=2000)
    header: HeaderIn
    message: SearchRequestIn


@contextmanager
def _refusals_with_header(header: HeaderIn) -> Iterator[None]:
    """A message refused whole is a problem+json 4xx whose body also carries the
    specification's answer ``header`` (status ``rjct`` and, where it has one, the header
    reason code), so a G2P client reading the sync answer's schema finds what it expects."""
    try:
        yield
    except (G2pEnvelopeInvalid, G2pMessageIdReused) as refused:
        reason = (
            "rjct.message_id.duplicate"
            if isinstance(refused, G2pMessageIdReused)
            else refused.details.get("header_reason")
        )
        refused.details["header"] = {
            "version": PROTOCOL_VERSION,
            "message_id": header.message_id,
            "message_ts": now().isoformat(timespec="seconds"),
            "action": SYNC_ANSWER_ACTION,
            "status": "rjct",
            "status_reason_message": refused.message,
        } | ({"status_reason_code": reason} if reason else {})
        raise


def _receive(app: App, caller: Any, body: DisburseIn, *, sync: bool) -> g2p.Received:
    with _refusals_with_header(body.header):
        return _received(app, caller, body, sync=sync)


def _received(app: App, caller: Any, body: DisburseIn, *, sync: bool) -> g2p.Received:
    return g2p.receive_disbursement(
        app.unit_of_work(),
        caller,
        app.secrets.identity_digest,
        header=body.header.read(),
        transaction_id=body.message.transaction_id,
        instructions=[item.read() for item in body.message.disbursements],
        sync=sync,
        allow_private=app.settings.allow_private_webhook_addresses,
        now=now(),
    )


@router.post("/disburse", responses=PROBLEMS)
def disburse(
    body: DisburseIn, app: AppDep, caller: CallerDep, background: BackgroundTasks
) -> dict[str, Any]:
    """Disburse into allowance programs, asynchronously (partner apps with the ``g2p``
    scope): the acknowledgement now, the ``/on-disburse`` callback once paid."""
    received = _receive(app, caller, body, sync=False)
    background.add_task(_process_and_call_back, app, received.message_row_id)
    return received.ack


@router.post("/disburse/sync/disburse", responses=PROBLEMS)
def disburse_sync(body: DisburseIn, app: AppDep, caller: CallerDep) -> dict[str, Any]:
    """Disburse and answer each instruction's status in the response (``g2p`` scope)."""
    received = _receive(app, caller, body, sync=True)
    return g2p.process_disbursement(
        app.unit_of_work(), message_row_id=received.message_row_id, now=now()
    )


def _status(app: App, caller: Any, body: TxnStatusIn, *, sync: bool) -> g2p_answers.QueryAnswer:
    query = body.message.txnstatus_request
    with _refusals_with_header(body.header):
        return _status_answer(app, caller, body, query, sync=sync)


def _status_answer(
    app: App, caller: Any, body: TxnStatusIn, query: StatusQueryIn, *, sync: bool
) -> g2p_answers.QueryAnswer:
    return g2p_answers.txn_status(
        app.unit_of_work(),
        caller,
        header=body.header.read(),
        transaction_id=body.message.transaction_id,
        query=g2p_answers.StatusQuery(
            query.reference_id, query.txn_type, query.attribute_type, query.attribute_value
        ),
        sync=sync,
        allow_private=app.settings.allow_private_webhook_addresses,
        now=now(),
    )


@router.post("/disburse/txn/status", responses=PROBLEMS)
def txn_status(
    body: TxnStatusIn, app: AppDep, caller: CallerDep, background: BackgroundTasks
) -> dict[str, Any]:
    """The status of earlier disbursements, answered to ``/disburse/txn/on-status``."""
    answered = _status(app, caller, body, sync=False)
    background.add_task(call_back, app)
    return answered.ack


@router.post("/disburse/sync/txn/status", responses=PROBLEMS)
def txn_status_sync(body: TxnStatusIn, app: AppDep, caller: CallerDep) -> dict[str, Any]:
    """The status of earlier disbursements, in the response."""
    return _status(app, caller, body, sync=True).answer


def _search(app: App, caller: Any, body: SearchIn, *, sync: bool) -> g2p_answers.QueryAnswer:
    with _refusals_with_header(body.header):
        return _search_answer(app, caller, body, sync=sync)


def _search_answer(app: App, caller: Any, body: SearchIn, *, sync: bool) -> g2p_answers.QueryAnswer:
    return g2p_answers.search(
        app.unit_of_work(),
        caller,
        app.secrets.identity_digest,
        header=body.header.read(),
        transaction_id=body.message.transaction_id,
        criteria=[
            g2p_answers.SearchCriterion(
                c.reference_id, c.request_type, c.attribute_type, c.attribute_value
            )
            for c in body.message.search_criteria
        ],
        sync=sync,
        allow_private=app.settings.allow_private_webhook_addresses,
        now=now(),
    )


@router.post("/disburse/search", responses=PROBLEMS)
def search(
    body: SearchIn, app: AppDep, caller: CallerDep, background: BackgroundTasks
) -> dict[str, Any]:
    """The sender's disbursements by payee or payer address, answered to
    ``/disburse/on-search``."""
    answered = _search(app, caller, body, sync=False)
    background.add_task(call_back, app)
    return answered.ack


@router.post("/disburse/sync/search", responses=PROBLEMS)
def search_sync(body: SearchIn, app: AppDep, caller: CallerDep) -> dict[str, Any]:
    """The sender's disbursements by payee or payer address, in the response."""
    return _search(app, caller, body, sync=True).answer


def _process_and_call_back(app: App, message_row_id: int) -> None:
    try:
        g2p.process_disbursement(app.unit_of_work(), message_row_id=message_row_id, now=now())
    except DongneError as error:
        # The message stays unanswered; `dongne g2p process` (or the next start) resumes it.
        log.warning("G2P message %s stopped: %s", message_row_id, error.as_dict())
        return
    call_back(app)


def call_back(app: App) -> None:
    """Send the callbacks that are due now; what fails is retried by `dongne g2p deliver`."""
    sender = HttpWebhookSender(allow_private_addresses=app.settings.allow_private_webhook_addresses)
    try:
        g2p_callbacks.deliver_due(
            app.unit_of_work(), sender, now=now(), attempts_max=app.settings.webhook_retry_max
        )
    finally:
        sender.close()
