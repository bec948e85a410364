"""Horizontal bar charts drawn on the server as SVG: no script, nothing fetched."""

from __future__ import annotations

from dataclasses import dataclass

ROW_HEIGHT = 22
BAR_HEIGHT = 8
LABEL_WIDTH = 230
PLOT_WIDTH = 420
# Series colours, told apart by a legend as well as by colour.
COLOURS = ("#2f6db5", "#d08a1e", "#3f9b5b")


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    colour: str
    value: int


@dataclass(frozen=True)
class Row:
    label: str
    y: int
    bars: list[Bar]


@dataclass(frozen=True)
class Chart:
    rows: list[Row]
    series: list[tuple[str, str]]  # (name, colour)
    width: int
    height: int


def bar_chart(labels: list[str], series: list[tuple[str, list[int]]]) -> Chart:
    """Rows of one bar per series, scaled to the largest value (negatives drawn as 0)."""
    largest = max((v for _, values in series for v in values), default=0) or 1
    band = ROW_HEIGHT + BAR_HEIGHT * max(0, len(series) - 1)
    rows = []
    for i, label in enumerate(labels):
        top = 4 + i * band
        bars = [
            Bar(
                x=LABEL_WIDTH,
                y=top + j * BAR_HEIGHT,
                width=max(0, round(PLOT_WIDTH * values[i] / largest)),
                colour=COLOURS[j % len(COLOURS)],
                value=values[i],
            )
            for j, (_, values) in enumerate(series)
        ]
        rows.append(Row(label=label, y=top + BAR_HEIGHT, bars=bars))
    return Chart(
        rows=rows,
        series=[(name, COLOURS[j % len(COLOURS)]) for j, (name, _) in enumerate(series)],
        width=LABEL_WIDTH + PLOT_WIDTH + 10,
        height=8 + len(labels) * band,
    )
