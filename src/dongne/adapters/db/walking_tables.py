"""Walking rewards (만보걷기): the region's reward settings and citizens' daily step reports."""

from __future__ import annotations
