"""Policy allowance programs (정책수당): programs, uploaded recipient lists, grants."""

from __future__ import annotations
