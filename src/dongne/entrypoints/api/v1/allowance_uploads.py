"""Policy allowances' recipient lists over HTTP: uploading a list into its preview, reading the
preview, disbursing the list and following its progress. The programs themselves are in
``allowances``.

Who may call what is decided in the services (``domain.allowances.authorize``): the region's
viewers read; operators upload lists; approvers disburse. A disbursement answers 202 once its
checks pass and pays in the background; the page follows it at ``.../progress``, and posting it
again resumes a run that stopped.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from dongne.adapters.recipient_files import MAX_FILE_BYTES, check_size, read_recipients
from dongne.bootstrap import App
from dongne.domain.access import Principal
from dongne.domain.allowances import RecipientFileInvalid
from dongne.domain.errors import DongneError
from dongne.domain.people import masked_phone
from dongne.entrypoints.api.deps import AppDep, CallerDep, KeyDep, now
from dongne.entrypoints.api.limits import allow_larger_body
from dongne.entrypoints.api.v1.allowances import ProgramId
from dongne.entrypoints.api.v1.problems import PROBLEMS
from dongne.services import allowance_disbursement, allowance_uploads
from dongne.services.allowance_uploads import UploadSummary
from dongne.services.idempotency import caller_scope, scoped_key
from dongne.services.ports import Upload

router = APIRouter(tags=["policy allowances"])
log = logging.getLogger(__name__)

UploadId = Path(description="The recipient upload's id", ge=1)
MULTIPART_SLACK_BYTES = 64 * 1024
"""Room for the multipart envelope around a file of the largest size allowed."""
allow_larger_body(
    r"/api/v1/allowance_programs/[0-9]+/uploads", MAX_FILE_BYTES + MULTIPART_SLACK_BYTES
)


class RowOut(BaseModel):
    row_number: int = Field(description="the line in the file (the header is line 1)")
    name: str
    phone: str = Field(description="masked")
    amount_won: int
    status: str
    reason: str | None


class ProgressOut(BaseModel):
    upload_id: int
    program_id: int
    status: str = Field(description="previewed, disbursing, disbursed")
    people_total: int
    people_done: int
    paid_count: int
    pending_count: int
    skipped_count: int
    paid_won: int
    total_won: int
    started_at: datetime | None
    finished_at: datetime | None


class UploadDetailOut(BaseModel):
    upload_id: int
    program_id: int
    filename: str
    uploaded_at: datetime
    counts: dict[str, int]
    total_won: int
    budget_won: int
    covered: bool
    shortfall_won: int
    progress: ProgressOut
    rows: list[RowOut]
    next_after_row: int | None = Field(description="pass as after_row for the next page")


class DisbursementOut(BaseModel):
    upload_id: int
    program_id: int
    people: int
    needed_won: int
    budget_won: int
    progress_url: str


def _progress_out(upload: Upload) -> ProgressOut:
    return ProgressOut(
        upload_id=upload.id,
        program_id=upload.program_id,
        status=upload.status,
        people_total=upload.people_total,
        people_done=upload.people_done,
        paid_count=upload.paid_count,
        pending_count=upload.pending_count,
        skipped_count=upload.skipped_count,
        paid_won=upload.paid_won,
        total_won=upload.total_won,
        started_at=upload.started_at,
        finished_at=upload.finished_at,
    )


_FILE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


@router.post(
    "/allowance_programs/{program_id}/uploads",
    status_code=201,
    response_model=UploadSummary,
    responses=PROBLEMS,
    openapi_extra=_FILE_BODY,
)
async def upload_recipients(
    request: Request, app: AppDep, caller: CallerDep, program_id: int = ProgramId
) -> UploadSummary:
    """Upload a recipient list (CSV in UTF-8 or CP949, or XLSX; at most 32 MiB) as the form
    field ``file`` and get its preview (operators). Columns: 주민등록번호 or ci, 이름, 전화번호,
    and optionally 금액. A file that cannot be read is refused whole; nothing is stored."""
    # Refuse a caller who may not upload, and a file over the limit, before reading it.
    await run_in_threadpool(
        allowance_uploads.check_may_upload, app.reader(), caller, program_id=program_id
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit():
        check_size(max(0, int(declared) - MULTIPART_SLACK_BYTES))
    async with request.form(max_files=1, max_fields=4) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise RecipientFileInvalid(
                "send the list as the multipart form field 'file'", reason="form"
            )
        data = await upload.read(MAX_FILE_BYTES + 1)
        filename = upload.filename or "recipients"
    return await run_in_threadpool(_upload, app, caller, program_id, filename, data)


def _upload(
    app: App, caller: Principal, program_id: int, filename: str, data: bytes
) -> UploadSummary:
    parsed = read_recipients(data, filename, app.secrets.identity_digest)
    return allowance_uploads.upload_recipients(
        app.unit_of_work(),
        caller,
        program_id=program_id,
        filename=filename,
        rows=parsed.rows,
        now=now(),
    )


@router.get("/allowance_uploads/{upload_id}", response_model=UploadDetailOut, responses=PROBLEMS)
def view_upload(
    app: AppDep,
    caller: CallerDep,
    *,
    upload_id: int = UploadId,
    status: str | None = Query(
        default=None, pattern="^(matched|unmatched|duplicate|invalid)$", description="only these"
    ),
    after_row: int = Query(default=0, ge=0, le=2**31 - 1),
    limit: int = Query(default=100, ge=1, le=1000),
) -> UploadDetailOut:
    """An upload's preview, a page of its rows with the reason per row, and its progress."""
    view = allowance_uploads.view_upload(
        app.reader(), caller, upload_id=upload_id, status=status, after_row=after_row, limit=limit
    )
    upload = view.upload
    rows = [
        RowOut(
            row_number=row.row_number,
            name=row.name,
            phone=masked_phone(row.phone),
            amount_won=row.amount_won,
            status=row.status,
            reason=row.reason,
        )
        for row in view.rows
    ]
    return UploadDetailOut(
        **vars(view.summary),
        filename=upload.filename,
        uploaded_at=upload.uploaded_at,
        progress=_progress_out(upload),
        rows=rows,
        next_after_row=rows[-1].row_number if len(rows) == limit else None,
    )


@router.post(
    "/allowance_uploads/{upload_id}/disbursement",
    status_code=202,
    response_model=DisbursementOut,
    responses=PROBLEMS,
)
def disburse(
    app: AppDep,
    caller: CallerDep,
    key: KeyDep,
    background: BackgroundTasks,
    upload_id: int = UploadId,
) -> DisbursementOut:
    """Pay the list (approvers; Idempotency-Key required). Refused, changing nothing, when the
    budget does not cover it or the program is not valid now; otherwise it pays in the
    background. Posting again resumes a run that stopped; nobody is paid twice."""
    plan = allowance_disbursement.start_disbursement(
        app.unit_of_work(),
        caller,
        upload_id=upload_id,
        now=now(),
        idempotency_key=scoped_key("allowance-disbursement", caller_scope(caller), key),
    )
    background.add_task(_run_in_background, app, upload_id)
    return DisbursementOut(
        **vars(plan), progress_url=f"/api/v1/allowance_uploads/{upload_id}/progress"
    )


def _run_in_background(app: App, upload_id: int) -> None:
    try:
        allowance_disbursement.run_disbursement(app.unit_of_work(), upload_id=upload_id, now=now())
    except DongneError as error:
        # The run stopped where its last chunk committed; posting the disbursement resumes it.
        log.warning("disbursement of upload %s stopped: %s", upload_id, error.as_dict())


@router.get(
    "/allowance_uploads/{upload_id}/progress", response_model=ProgressOut, responses=PROBLEMS
)
def disbursement_progress(app: AppDep, caller: CallerDep, upload_id: int = UploadId) -> ProgressOut:
    """How far the disbursement of an upload has come (the region's officials)."""
    return _progress_out(allowance_disbursement.progress(app.reader(), caller, upload_id=upload_id))
