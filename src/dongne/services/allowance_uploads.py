"""An allowance program's recipient list: uploading it, matched against wallets and earlier
grants into a preview, and reading the preview back with the disbursement's progress.

Nothing moves when a list is uploaded: the preview says who will be paid into a wallet, who
becomes a pending grant (no wallet yet), and which rows are duplicates or invalid, and whether
the budget covers them. Paying the list is ``allowance_disbursement``'s; the program itself is
``allowances``'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from dongne.adapters.db.allowance_records import Upload
from dongne.domain.access import Principal
from dongne.domain.allowances import (
    AllowanceAction,
    AllowanceNotValidNow,
    RecipientRow,
    authorize,
    classify,
    program_not_found,
    upload_not_found,
)
from dongne.domain.calendar import require_aware
from dongne.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class UploadSummary:
    # The API describes each field with the docstring under it: pydantic reads this plain dict
    # as the dataclass's config, so the one field list serves the response model too.
    __pydantic_config__: ClassVar[dict[str, bool]] = {"use_attribute_docstrings": True}

    upload_id: int
    program_id: int
    counts: dict[str, int]
    """matched, unmatched, duplicate, invalid rows"""
    total_won: int
    """what the matched and unmatched rows come to"""
    budget_won: int
    covered: bool
    shortfall_won: int

    @classmethod
    def against(
        cls,
        budget_won: int,
        *,
        upload_id: int,
        program_id: int,
        counts: dict[str, int],
        total_won: int,
    ) -> UploadSummary:
        """The list's totals against the program's budget now."""
        return cls(
            upload_id,
            program_id,
            counts,
            total_won,
            budget_won,
            covered=budget_won >= total_won,
            shortfall_won=max(0, total_won - budget_won),
        )


def check_may_upload(uow: UnitOfWork, caller: Principal, *, program_id: int) -> None:
    """Refuse a caller who may not upload to this program, before their file is read."""
    with uow:
        program = uow.allowances.program(program_id)
    authorize(
        caller, program.region_id, AllowanceAction.UPLOAD, missing=program_not_found(program.id)
    )


def upload_recipients(
    uow: UnitOfWork,
    caller: Principal,
    *,
    program_id: int,
    filename: str,
    rows: Sequence[RecipientRow],
    now: datetime,
) -> UploadSummary:
    """Match a read list against wallets and grants, and keep it with its preview (operators).

    Nothing moves yet: matched rows will be paid into wallets, unmatched ones become pending
    grants, duplicate and invalid rows are not paid. Changes nothing if the caller may not.
    """
    now = require_aware(now)
    with uow:
        records = uow.allowances
        program = records.program(program_id)
        authorize(
            caller, program.region_id, AllowanceAction.UPLOAD, missing=program_not_found(program.id)
        )
        if now >= program.terms.valid_until:
            raise AllowanceNotValidNow(
                "the program's validity has ended: it takes no more recipients",
                valid_until=program.terms.valid_until.isoformat(),
            )
        with_wallet, granted = records.preview_matches(
            program.region_id, program_id, {row.identity_hmac for row in rows if row.identity_hmac}
        )
        preview = classify(
            rows,
            default_amount_won=program.terms.amount_per_recipient_won,
            with_wallet=with_wallet.keys(),
            already_granted=granted,
        )
        upload_id = records.add_upload(
            program.region_id, program_id, filename, preview, now, wallets=with_wallet
        )
        budget = uow.ledger.balance(program.budget_account_id)
        uow.commit()
    return UploadSummary.against(
        budget,
        upload_id=upload_id,
        program_id=program_id,
        counts=preview.counts,
        total_won=preview.total_won,
    )


@dataclass(frozen=True)
class UploadView:
    upload: Upload
    budget_won: int
    rows: list[Any]

    @property
    def summary(self) -> UploadSummary:
        upload = self.upload
        return UploadSummary.against(
            self.budget_won,
            upload_id=upload.id,
            program_id=upload.program_id,
            counts=upload.counts,
            total_won=upload.total_won,
        )


def view_upload(
    uow: UnitOfWork,
    caller: Principal,
    *,
    upload_id: int,
    status: str | None = None,
    after_row: int = 0,
    limit: int = 100,
) -> UploadView:
    """An upload's preview and the progress of its disbursement, with a page of its rows."""
    with uow:
        records = uow.allowances
        upload = records.upload(upload_id)
        authorize(
            caller, upload.region_id, AllowanceAction.READ, missing=upload_not_found(upload.id)
        )
        program = records.program(upload.program_id)
        rows = records.rows(upload_id, status=status, after_row=after_row, limit=limit)
        return UploadView(upload, uow.ledger.balance(program.budget_account_id), rows)


def list_uploads(
    uow: UnitOfWork, caller: Principal, *, program_id: int, limit: int = 50
) -> list[Upload]:
    """A program's latest recipient lists, newest first, with their progress (its region's
    officials; anyone else gets the program's not-found)."""
    with uow:
        records = uow.allowances
        program = records.program(program_id)
        authorize(
            caller, program.region_id, AllowanceAction.READ, missing=program_not_found(program.id)
        )
        return records.uploads(program_id, limit)
