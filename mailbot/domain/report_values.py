"""The values in the thematic report's cells, and how each is shown once small numbers are
suppressed.

Published statistics about children show a count under 5 as "fewer than 5", since a small
count can point at one child; a share or a median worked out from fewer than 5 cases, or
from a count so suppressed, is suppressed with it, so the count cannot be worked back out
of the share. Zero is shown as 0: it describes nobody. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

SMALL = 5
FEWER_THAN_5 = "fewer than 5"
NONE_TO_SHOW = "-"


@dataclass(frozen=True)
class Share:
    """``part`` of ``whole``, shown as a percentage."""

    part: int
    whole: int


@dataclass(frozen=True)
class Median:
    """The median of ``count`` values, shown with its unit."""

    value: float
    count: int
    unit: str = "working days"


Value = int | Share | Median | str


def is_small(count: int) -> bool:
    return 0 < count < SMALL


def shown(value: Value) -> str:
    """The cell's text, small numbers suppressed."""
    if isinstance(value, bool):
        raise TypeError("a report cell holds a count, a share, a median or text, not a flag")
    if isinstance(value, int):
        return FEWER_THAN_5 if is_small(value) else str(value)
    if isinstance(value, Share):
        if value.whole == 0:
            return NONE_TO_SHOW
        if is_small(value.whole) or is_small(value.part):
            return FEWER_THAN_5
        return f"{100 * value.part / value.whole:.0f}%"
    if isinstance(value, Median):
        if value.count == 0:
            return NONE_TO_SHOW
        unit = value.unit.removesuffix("s") if value.value == 1 else value.unit
        return FEWER_THAN_5 if is_small(value.count) else f"{value.value:g} {unit}"
    return value


def plotted(value: Value) -> float | None:
    """The number a chart draws for the cell, or None where the cell is suppressed or text."""
    if isinstance(value, str) or shown(value) == FEWER_THAN_5:
        return None
    if isinstance(value, Share):
        return 100 * value.part / value.whole if value.whole else 0.0
    if isinstance(value, Median):
        return value.value if value.count else 0.0
    return float(value)
