"""Daily settlement (정산): runs, their lines per merchant, and carried-forward deductions."""

from __future__ import annotations
