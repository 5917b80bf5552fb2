"""Merchant onboarding over HTTP: a merchant applies; a region's official approves, rejects,
suspends or reinstates.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["merchant onboarding"])
