"""Daily settlement over HTTP: settlement runs, files, statements and reconciliation."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["settlement"])
