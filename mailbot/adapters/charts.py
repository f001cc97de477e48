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

from mailbot.domain.report_values import FEWER_THAN_5

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


def bar_chart(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float | None]],
              unit: str = "") -> bytes:
    """Horizontal bars, one group per label and one bar per series; None is not drawn and is
    labelled "fewer than 5"."""
    with _LOCK:
        height = 1.2 + 0.32 * max(len(labels), 1) * max(len(series), 1)
        figure = Figure(figsize=(7.0, min(height, 14.0)), dpi=_DPI)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        _draw_series(axes, labels, series, unit)
        axes.set_yticks([i for i in range(len(labels))], [_wrap(label, 45) for label in labels],
                        fontsize=8)
        axes.invert_yaxis()  # the first row of the table at the top
        axes.set_title(title, fontsize=11, loc="left")
        axes.spines[["top", "right"]].set_visible(False)
        if len(series) > 1:
            axes.legend(fontsize=8, loc="lower right")
        figure.tight_layout()
        return _png(figure)


def _draw_series(axes, labels: Sequence[str], series: Mapping[str, Sequence[float | None]],
                 unit: str) -> None:
    width = 0.8 / max(len(series), 1)
    largest = max([v for values in series.values() for v in values if v is not None] + [1.0])
    for i, (name, values) in enumerate(series.items()):
        offsets = [row - 0.4 + width * (i + 0.5) for row in range(len(labels))]
        drawn = [v if v is not None else 0.0 for v in values]
        bars = axes.barh(offsets, drawn, height=width, label=name,
                         color=_COLOURS[i % len(_COLOURS)])
        texts = [FEWER_THAN_5 if v is None else f"{v:g}{unit}" for v in values]
        axes.bar_label(bars, labels=texts, fontsize=7, padding=2)
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
