"""Fraud detection over HTTP: alerts, and the official's actions on them."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["fraud detection"])
