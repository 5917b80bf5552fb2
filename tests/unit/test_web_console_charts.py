"""The console's bar charts: heights from zero to the largest value, inside the view box."""

from __future__ import annotations

from dongne.entrypoints.web.console_charts import CHART_HEIGHT, CHART_WIDTH, WIDEST_BAR, bar_chart


def test_the_largest_bar_fills_the_height_and_the_others_scale_to_it() -> None:
    chart = bar_chart([("bakery", 30_000), ("cafe", 15_000), ("mart", 0)])
    assert chart is not None
    tall, half, flat = chart.bars
    assert tall.y + tall.height == half.y + half.height == chart.baseline
    assert half.height == tall.height / 2
    assert flat.height == 0
    assert chart.top is tall
    assert all(bar.x >= 0 and bar.x + bar.width <= CHART_WIDTH for bar in chart.bars)
    assert all(0 <= bar.y <= CHART_HEIGHT for bar in chart.bars)


def test_a_chart_of_many_bars_labels_every_nth_back_from_the_last() -> None:
    chart = bar_chart([(f"11-{day:02d}", day) for day in range(1, 31)], label_every=7)
    assert chart is not None
    labelled = [bar.label for bar in chart.bars if bar.show_label]
    assert labelled == ["11-02", "11-09", "11-16", "11-23", "11-30"]


def test_no_items_is_no_chart_and_all_zeros_have_no_top() -> None:
    assert bar_chart([]) is None
    chart = bar_chart([("a", 0), ("b", -5)])
    assert chart is not None
    assert chart.top is None
    assert {bar.height for bar in chart.bars} == {0}


def test_a_few_bars_stay_narrow_and_centred() -> None:
    chart = bar_chart([("bakery", 1)])
    assert chart is not None
    [bar] = chart.bars
    assert bar.width == WIDEST_BAR
    assert bar.middle == CHART_WIDTH / 2
