"""Bar charts for the city console, drawn on the server as SVG: no script, no library.

``bar_chart`` turns labelled values into rectangles in a fixed view box; the template draws
them (``_console_chart.html``), and the page also gives the numbers in a table, so the chart
is a picture of figures anyone can read without it. The chart's own text alternative says
what it shows and its largest bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

CHART_WIDTH = 720
CHART_HEIGHT = 220
MARGIN = 8
LABEL_HEIGHT = 18
"""Room under the bars for their labels."""
GAP_SHARE = 0.2
"""The share of each bar's slot left empty between bars."""
WIDEST_BAR = 64
"""A chart of few bars keeps them this narrow, centred in their slots, rather than slabs."""


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float
    show_label: bool

    @property
    def middle(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    baseline: float
    """Where the bars stand (y of the zero line)."""
    bars: tuple[Bar, ...]
    top: Bar | None
    """The largest bar (the first of equals), or None if every value is zero."""


def bar_chart(
    items: Sequence[tuple[str, int]],
    *,
    label_every: int = 1,
    width: int = CHART_WIDTH,
    height: int = CHART_HEIGHT,
) -> BarChart | None:
    """One bar per item, left to right, heights from zero to the largest value; None for no
    items. ``label_every``: label every n-th bar counting back from the last (which is always
    labelled, the newest day say), for charts of many bars.
    Negative values (a day of more cancellations than payments) are drawn as zero."""
    if not items:
        return None
    baseline = height - MARGIN - LABEL_HEIGHT
    inner_height = baseline - MARGIN
    slot = (width - 2 * MARGIN) / len(items)
    largest = max(max(value, 0) for _, value in items)
    bar_width = min(slot * (1 - GAP_SHARE), WIDEST_BAR)
    bars = []
    for order, (label, value) in enumerate(items):
        bar_height = inner_height * max(value, 0) / largest if largest else 0.0
        from_last = len(items) - 1 - order
        bars.append(
            Bar(
                label=label,
                value=value,
                x=round(MARGIN + slot * order + (slot - bar_width) / 2, 1),
                y=round(baseline - bar_height, 1),
                width=round(bar_width, 1),
                height=round(bar_height, 1),
                show_label=from_last % label_every == 0,
            )
        )
    top = max(bars, key=lambda bar: bar.value) if largest else None
    return BarChart(width, height, baseline, tuple(bars), top)
