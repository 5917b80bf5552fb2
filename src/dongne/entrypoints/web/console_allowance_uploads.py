"""A program's recipient lists in the console: uploading a list (CSV or XLSX), its preview with
the reason per row, disbursing it with a live progress bar, and its rows as CSV.

The pages call what the API calls: ``read_recipients`` and ``allowance_uploads`` (operators
upload), ``allowance_disbursement`` (approvers disburse, the region's officials follow it).
A refused file comes back as the program's page with the message beside the file field.

Disbursement runs as the API runs it: ``start_disbursement`` checks the budget and the validity
and marks the list as being paid, in the request, keyed by the form token's nonce (a double
submit starts it once); then ``run_disbursement`` pays the list a chunk per transaction in a
background task after the answer. Why not chunks driven by the page's polling requests: a GET
must not move money, a closed tab would stop the payment half-way, and the service's own run
already commits chunk by chunk, records where it stopped, and skips anyone granted before, so
a second run (the resume button, or a double submit) pays nobody twice. The page polls a JSON
route for the figures (``static/console_progress.js``); without script a reload shows them.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from dongne.adapters.recipient_files import MAX_FILE_BYTES, read_recipients
from dongne.bootstrap import App
from dongne.domain.access import Principal
from dongne.domain.allowances import (
    AllowanceAction,
    RecipientFileInvalid,
    RowStatus,
    permits,
    reason_code,
)
from dongne.domain.errors import DongneError
from dongne.domain.people import masked_phone
from dongne.entrypoints.api.limits import allow_larger_body
from dongne.entrypoints.web import pages
from dongne.entrypoints.web.console_allowances import program_page_of
from dongne.entrypoints.web.csrf import PageForm
from dongne.entrypoints.web.csv_download import csv_response
from dongne.entrypoints.web.i18n import Speaker
from dongne.entrypoints.web.pages import application, now, official_of, render, speaker_of
from dongne.services import allowance_disbursement, allowance_uploads
from dongne.services.allowance_uploads import UploadSummary, UploadView
from dongne.services.idempotency import caller_scope, scoped_key
from dongne.services.ports import Upload

router = APIRouter(include_in_schema=False, route_class=pages.WebRoute)
logger = logging.getLogger("dongne.web")

ROWS_SHOWN = 100
CSV_PAGE_ROWS = 1_000
MULTIPART_SLACK_BYTES = 64 * 1024
allow_larger_body(r"/console/allowances/[0-9]+/uploads", MAX_FILE_BYTES + MULTIPART_SLACK_BYTES)
STATUSES = tuple(status.value for status in RowStatus)


# Uploading a list -------------------------------------------------------------------------


@router.post("/console/allowances/{program_id}/uploads")
async def upload_list(request: Request, program_id: int) -> Response:
    """A list as the multipart field ``file``; its preview, or the program's page with the
    reason beside the file field."""
    # Async to read the file as it streams; the database calls go to the thread pool.
    caller = await run_in_threadpool(official_of, request)
    app = application(request)
    # Who may not upload is refused before their file is read, as in the API.
    await run_in_threadpool(
        allowance_uploads.check_may_upload, app.reader(), caller, program_id=program_id
    )
    async with request.form(max_files=1, max_fields=4) as form:
        token = pages.form_token(request, str(form.get("csrf_token", "")))
        upload = form.get("file")
        data = await upload.read(MAX_FILE_BYTES + 1) if isinstance(upload, UploadFile) else b""
        filename = (upload.filename if isinstance(upload, UploadFile) else None) or "recipients"
    if token is None:
        errors = pages.form_expired(request)
        return await run_in_threadpool(
            program_page_of, request, caller, program_id, errors=errors, status=400
        )
    try:
        summary = await run_in_threadpool(_upload, app, caller, program_id, filename, data)
    except DongneError as refused:
        errors = {"file": _file_error(refused, speaker_of(request))}
        status = pages.status_for(refused)
        return await run_in_threadpool(
            program_page_of, request, caller, program_id, errors=errors, status=status
        )
    return RedirectResponse(f"/console/allowances/uploads/{summary.upload_id}", status_code=303)


def _upload(
    app: App, caller: Principal, program_id: int, filename: str, data: bytes
) -> UploadSummary:
    if not data:
        raise RecipientFileInvalid("choose a file to upload", reason="no_file")
    parsed = read_recipients(data, filename, app.secrets.identity_digest)
    return allowance_uploads.upload_recipients(
        app.unit_of_work(),
        caller,
        program_id=program_id,
        filename=filename,
        rows=parsed.rows,
        now=now(),
    )


def _file_error(refused: DongneError, speaker: Speaker) -> str:
    """Why the file was refused: the catalog's words for its reason (``details['reason']``),
    else those for the error's code."""
    specific = f"file-problem:{refused.details.get('reason')}"
    if isinstance(refused, RecipientFileInvalid) and speaker.knows(specific):
        return speaker.gettext(specific)
    return pages.message_of(refused, "file", speaker)


# The preview ------------------------------------------------------------------------------


@router.get("/console/allowances/uploads/{upload_id}")
def upload_page(
    request: Request, upload_id: int, status: str | None = None, after: int = 0
) -> Response:
    caller = official_of(request)
    return _upload_page(request, caller, upload_id, status=status, after=after, errors={})


def _upload_page(
    request: Request,
    caller: Principal,
    upload_id: int,
    *,
    status: str | None,
    after: int,
    errors: dict[str, str],
    code: int = 200,
) -> Response:
    wanted = status if status in STATUSES else None
    view = allowance_uploads.view_upload(
        application(request).reader(),
        caller,
        upload_id=upload_id,
        status=wanted,
        after_row=max(after, 0),
        limit=ROWS_SHOWN,
    )
    speaker = speaker_of(request)
    upload = view.upload
    rows = [_row(row, speaker) for row in view.rows]
    context = {
        "section": "allowances",
        "upload": upload,
        "summary": view.summary,
        "rows": rows,
        "status": wanted,
        "statuses": STATUSES,
        "next_after": rows[-1]["row_number"] if len(rows) == ROWS_SHOWN else None,
        "progress": progress_of(upload),
        "may_upload": permits(caller, upload.region_id, AllowanceAction.UPLOAD),
        "may_disburse": permits(caller, upload.region_id, AllowanceAction.DISBURSE),
        "errors": errors,
    }
    return render(request, "console_allowance_upload.html", context, status=code, principal=caller)


def _row(row: Any, speaker: Speaker) -> dict[str, Any]:
    return {
        "row_number": row.row_number,
        "name": row.name,
        "phone": masked_phone(row.phone),
        "amount_won": row.amount_won,
        "status": row.status,
        "reason": reason_words(row.reason, speaker),
    }


def reason_words(reason: str | None, speaker: Speaker) -> str:
    """A row's reason in the reader's language, by its code (``row-reason:<code>`` in the
    catalogs); a text without a code is shown as stored."""
    if reason is None:
        return ""
    found = reason_code(reason)
    if found is None:
        return reason
    code, values = found
    return speaker.gettext(f"row-reason:{code.value}", **values)


@router.get("/console/allowances/uploads/{upload_id}/rows.csv")
def rows_csv(request: Request, upload_id: int) -> Response:
    """Every row of the list with its status and reason (in the reader's language)."""
    caller = official_of(request)
    speaker = speaker_of(request)
    rows: list[list[Any]] = []
    after = 0
    while True:
        view = _rows_after(request, caller, upload_id, after)
        rows += [list(_row(row, speaker).values()) for row in view.rows]
        if len(view.rows) < CSV_PAGE_ROWS:
            break
        after = view.rows[-1].row_number
    header = ["row_number", "name", "phone", "amount_won", "status", "reason"]
    return csv_response(f"allowance-list-{upload_id}.csv", header, rows)


def _rows_after(request: Request, caller: Principal, upload_id: int, after: int) -> UploadView:
    return allowance_uploads.view_upload(
        application(request).reader(),
        caller,
        upload_id=upload_id,
        after_row=after,
        limit=CSV_PAGE_ROWS,
    )


# Disbursing -------------------------------------------------------------------------------


@router.post("/console/allowances/uploads/{upload_id}/disbursement")
def disburse(
    request: Request,
    upload_id: int,
    form: Annotated[PageForm, Form()],
    background: BackgroundTasks,
) -> Response:
    caller = official_of(request)
    token = pages.form_token(request, form.csrf_token)
    speaker = speaker_of(request)
    if token is None:
        errors = {"form": speaker.gettext("error:FORM_EXPIRED")}
        return _upload_page(
            request, caller, upload_id, status=None, after=0, errors=errors, code=400
        )
    app = application(request)
    key = scoped_key("allowance-disbursement", caller_scope(caller), f"web:{token.nonce}")
    try:
        _start(app, caller, upload_id, key)
    except DongneError as refused:
        errors = {"form": pages.message_of(refused, "form", speaker)}
        code = pages.status_for(refused)
        return _upload_page(
            request, caller, upload_id, status=None, after=0, errors=errors, code=code
        )
    # FastAPI runs the task after the answer is sent (on a worker thread: it is not async).
    background.add_task(_run, app, upload_id)
    return RedirectResponse(f"/console/allowances/uploads/{upload_id}#progress", status_code=303)


def _start(app: App, caller: Principal, upload_id: int, key: str) -> None:
    allowance_disbursement.start_disbursement(
        app.unit_of_work(), caller, upload_id=upload_id, now=now(), idempotency_key=key
    )


def _run(app: App, upload_id: int) -> None:
    try:
        allowance_disbursement.run_disbursement(app.unit_of_work(), upload_id=upload_id, now=now())
    except DongneError:
        # The run stopped where its last chunk committed; the page offers to resume it.
        logger.exception("disbursement of upload %s stopped", upload_id)


def progress_of(upload: Upload) -> dict[str, Any]:
    """The figures the progress bar shows (the API's progress answer, less the times)."""
    return {
        "status": upload.status,
        "people_total": upload.people_total,
        "people_done": upload.people_done,
        "paid_count": upload.paid_count,
        "pending_count": upload.pending_count,
        "skipped_count": upload.skipped_count,
        "paid_won": upload.paid_won,
        "total_won": upload.total_won,
    }


@router.get("/console/allowances/uploads/{upload_id}/progress")
def progress(request: Request, upload_id: int) -> Response:
    """How far the disbursement has come, for the page's script."""
    caller = official_of(request)
    upload = allowance_disbursement.progress(
        application(request).reader(), caller, upload_id=upload_id
    )
    return JSONResponse(progress_of(upload), headers=pages.HEADERS)
