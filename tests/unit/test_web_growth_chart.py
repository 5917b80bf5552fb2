"""The transparency page's growth chart: a polyline of the tree size at each checkpoint."""

from __future__ import annotations

from datetime import timedelta

from dongne.entrypoints.web.public import CHART_HEIGHT, CHART_MARGIN, CHART_WIDTH, growth_chart
from dongne.services.transparency import GrowthPoint
from tests.conftest import NOW


def test_one_checkpoint_draws_no_line() -> None:
    assert growth_chart(()) is None
    assert growth_chart((GrowthPoint(NOW, 5),)) is None


def test_the_line_spans_the_chart_from_the_oldest_to_the_newest_checkpoint() -> None:
    growth = tuple(
        GrowthPoint(NOW + timedelta(seconds=seconds), size)
        for seconds, size in [(0, 0), (1, 50), (3_600, 100)]
    )
    chart = growth_chart(growth)
    assert chart is not None
    points = [tuple(map(float, pair.split(","))) for pair in chart.points.split()]
    bottom = CHART_HEIGHT - CHART_MARGIN
    middle_x = CHART_WIDTH / 2
    assert points == [
        (CHART_MARGIN, bottom),
        (middle_x, CHART_HEIGHT / 2),
        (CHART_WIDTH - CHART_MARGIN, CHART_MARGIN),
    ]
    assert (chart.first_size, chart.last_size) == (0, 100)
