"""Merchant onboarding: applications and the officials' decisions on them."""

from __future__ import annotations
