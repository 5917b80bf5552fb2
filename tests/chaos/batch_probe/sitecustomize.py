"""Loaded by every Python process of a server the batched crash test starts (this folder is
first on its PYTHONPATH): after each batch of payments commits together, the batch's size is
appended to the file named by ``DONGNE_TEST_BATCH_SIZES``, so the test can tell that batches of
more than one payment really formed, in every worker. Nothing else changes."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

_SIZES = os.environ.get("DONGNE_TEST_BATCH_SIZES")

if _SIZES:
    from dongne.services import payment_batches

    _committed_together = payment_batches.in_one_transaction

    def _recording(uow: Any, attempts: Sequence[Callable[[], Any]]) -> list[Any]:
        outcomes = _committed_together(uow, attempts)  # raises unless it committed
        with open(_SIZES, "a", encoding="ascii") as sizes:
            sizes.write(f"{len(attempts)}\n")
        return outcomes

    payment_batches.in_one_transaction = _recording
