"""Fraud detection (FDS): the alerts rules raise and what officials did about them."""

from __future__ import annotations
