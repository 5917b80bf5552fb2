"""Policy allowance programs over HTTP: programs, recipient uploads, previews, disbursement and
its progress, reports.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["policy allowances"])
