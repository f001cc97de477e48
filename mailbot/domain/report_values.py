"""The values in the thematic report's cells, and how each is shown once small numbers are
suppressed.

Published statistics about children show a count under 5 as "fewer than 5", since a small
count can point at one child; a share or a median worked out from fewer than 5 cases, or
from a count so suppressed, is suppressed with it, so the count cannot be worked back out
of the share. Zero is shown as 0: it describes nobody.

A suppressed count beside others that add up to a published total could be worked out by
subtraction, so one more of them is withheld (secondary suppression, ``withheld_cells``):
where exactly one count of such a group is hidden, its smallest shown neighbour is withheld
too, and so is any share in that neighbour's row. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SMALL = 5
FEWER_THAN_5 = "fewer than 5"
WITHHELD = "withheld"
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


@dataclass(frozen=True)
class Withheld:
    """A value big enough to show, withheld so that a suppressed count beside it cannot be
    worked out from a total."""

    value: int | Share


Value = int | Share | Median | str | Withheld


@dataclass(frozen=True)
class Summed:
    """Rows of one column whose counts add up to a total shown in the report, in this table
    or another (a table's "All" row; the cases opened, for the categories)."""

    column: int
    rows: tuple[int, ...]


def withheld_cells(rows: Sequence[Sequence[Value]], groups: Iterable[Summed]) -> set[tuple[int, int]]:
    """The (row, column) cells to withhold so that no group has exactly one count hidden:
    each such group gives up its smallest shown non-zero count (ties: the first)."""
    withheld: set[tuple[int, int]] = set()
    for group in groups:
        cells = [(row, group.column) for row in group.rows]
        hidden = [cell for cell in cells if cell in withheld or _suppressed(rows, cell)]
        if len(hidden) != 1:
            continue
        showing = [cell for cell in cells if cell not in hidden and _count(rows, cell) > 0]
        if showing:
            withheld.add(min(showing, key=lambda cell: (_count(rows, cell), cell)))
    return withheld


def _count(rows: Sequence[Sequence[Value]], cell: tuple[int, int]) -> int:
    value = rows[cell[0]][cell[1]]
    return value if isinstance(value, int) else 0


def _suppressed(rows: Sequence[Sequence[Value]], cell: tuple[int, int]) -> bool:
    value = rows[cell[0]][cell[1]]
    return isinstance(value, int) and is_small(value)


def is_small(count: int) -> bool:
    return 0 < count < SMALL


def shown(value: Value) -> str:
    """The cell's text, small numbers suppressed."""
    if isinstance(value, bool):
        raise TypeError("a report cell holds a count, a share, a median or text, not a flag")
    if isinstance(value, Withheld):
        return WITHHELD
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
    if isinstance(value, str | Withheld) or shown(value) == FEWER_THAN_5:
        return None
    if isinstance(value, Share):
        return 100 * value.part / value.whole if value.whole else 0.0
    if isinstance(value, Median):
        return value.value if value.count else 0.0
    return float(value)
