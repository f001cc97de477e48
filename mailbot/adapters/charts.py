"""Charts as PNG bytes, drawn with matplotlib: the weekly digest's inline chart and the
thematic report's charts.

matplotlib is used without pyplot (a ``Figure`` on the Agg canvas), so no global figure
state is kept and no display is needed; one lock serialises drawing, because matplotlib's
font cache and text layout are not safe across the worker's threads. A bar whose figure is
suppressed in the report (under 5) is not drawn: the label says "fewer than 5" instead, so
the chart cannot give away the number its table hides.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from io import BytesIO

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

PNG = "image/png"
_LOCK = threading.Lock()
_COLOURS = ("#1d70b8", "#f47738", "#00703c", "#d4351c", "#4c2c92")  # GOV.UK palette
_DPI = 100


def open_cases_by_stage(labels: Sequence[str], counts: Sequence[int]) -> bytes:
    """The digest's chart: open cases at each stage, small enough for an email (600x240)."""
    with _LOCK:
        figure = Figure(figsize=(6.0, 2.4), dpi=_DPI)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        positions = range(len(labels))
        bars = axes.bar(positions, counts, color=_COLOURS[0])
        axes.bar_label(bars, labels=[str(c) for c in counts], fontsize=8)
        axes.set_xticks(list(positions), [_wrap(label, 18) for label in labels], fontsize=7)
        axes.set_ylabel("Open cases", fontsize=8)
        axes.tick_params(axis="y", labelsize=7)
        axes.set_ylim(0, max([*counts, 1]) * 1.25)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        return _png(figure)


Bar = tuple[float | None, str]  # the length drawn (None: not drawn) and the text beside it


def bar_chart(title: str, labels: Sequence[str], series: Mapping[str, Sequence[Bar]]) -> bytes:
    """Horizontal bars, one group per label and one bar per series, each with its text (the
    table's own, so "fewer than 5" where the bar is not drawn)."""
    wrapped = [_wrap(label, 45) for label in labels]
    with _LOCK:
        rows = sum(max(label.count("\n") + 1, len(series)) for label in wrapped)
        figure = Figure(figsize=(7.0, min(1.2 + 0.3 * max(rows, 1), 16.0)), dpi=_DPI)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        _draw_series(axes, len(labels), series)
        axes.set_yticks(list(range(len(labels))), wrapped, fontsize=8)
        axes.invert_yaxis()  # the first row of the table at the top
        axes.set_title(title, fontsize=11, loc="left")
        axes.spines[["top", "right"]].set_visible(False)
        if len(series) > 1:
            axes.legend(fontsize=8, loc="lower right")
        else:
            axes.set_xlabel(next(iter(series), ""), fontsize=8)
        figure.tight_layout()
        return _png(figure)


def _draw_series(axes, count: int, series: Mapping[str, Sequence[Bar]]) -> None:
    width = 0.8 / max(len(series), 1)
    largest = max([v for bars in series.values() for v, _ in bars if v is not None] + [1.0])
    for i, (name, bars) in enumerate(series.items()):
        offsets = [row - 0.4 + width * (i + 0.5) for row in range(count)]
        drawn = axes.barh(offsets, [v or 0.0 for v, _ in bars], height=width, label=name,
                          color=_COLOURS[i % len(_COLOURS)])
        axes.bar_label(drawn, labels=[text for _, text in bars], fontsize=7, padding=2)
    axes.set_xlim(0, largest * 1.3)
    axes.tick_params(axis="x", labelsize=7)


def _wrap(text: str, width: int) -> str:
    """Breaks a long label over lines at spaces, so it fits beside or under its bar."""
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])


def _png(figure: Figure) -> bytes:
    buffer = BytesIO()
    # No creation time in the file: the same figures make the same bytes.
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
