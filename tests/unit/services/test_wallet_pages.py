"""The history filter of the wallet pages: kinds in a citizen's words, days in Seoul."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from dongne.domain.errors import InvalidInput
from dongne.services.wallet_pages import HistoryFilter


def test_a_day_filter_runs_from_seouls_midnight_to_the_next() -> None:
    since, until = HistoryFilter(first_day=date(2025, 3, 1), last_day=date(2025, 3, 31)).bounds()
    assert since == datetime(2025, 2, 28, 15, tzinfo=UTC)
    assert until == datetime(2025, 3, 31, 15, tzinfo=UTC)
    assert HistoryFilter().bounds() == (None, None)


def test_a_last_day_before_the_first_is_refused_beside_it() -> None:
    with pytest.raises(InvalidInput) as refused:
        HistoryFilter(first_day=date(2025, 3, 2), last_day=date(2025, 3, 1)).bounds()
    assert refused.value.details["field"] == "last_day"
    one_day = HistoryFilter(first_day=date(2025, 3, 1), last_day=date(2025, 3, 1))
    assert one_day.bounds()[0] is not None


def test_a_kind_names_its_cancellations_too_and_an_unknown_kind_is_refused() -> None:
    assert HistoryFilter(kind="purchase").kinds() == {"purchase", "purchase_cancellation"}
    assert HistoryFilter().kinds() is None
    with pytest.raises(InvalidInput) as refused:
        HistoryFilter(kind="budget_funding").kinds()
    assert refused.value.details["field"] == "kind"
