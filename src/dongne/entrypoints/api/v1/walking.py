"""Walking rewards over HTTP: a partner health app reports daily steps; officials set the reward
rules.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["walking rewards"])
