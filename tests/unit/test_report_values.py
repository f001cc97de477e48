"""Small numbers in the thematic report: under 5 is "fewer than 5", and nothing derived
from a suppressed count gives it away: not a share, a median, nor a total less the counts
shown beside it."""

from __future__ import annotations

import pytest

from mailbot.domain.report_values import (
    FEWER_THAN_5,
    WITHHELD,
    Median,
    Share,
    Summed,
    Withheld,
    plotted,
    shown,
    withheld_cells,
)


@pytest.mark.parametrize(("count", "text"), [(0, "0"), (1, FEWER_THAN_5), (4, FEWER_THAN_5),
                                              (5, "5"), (250, "250")])
def test_counts_under_five_are_shown_as_fewer_than_5(count, text):
    assert shown(count) == text


def test_a_share_of_few_or_out_of_few_is_suppressed_with_its_count():
    assert shown(Share(3, 40)) == FEWER_THAN_5  # 7.5% of 40 would give the 3 away
    assert shown(Share(2, 3)) == FEWER_THAN_5
    assert shown(Share(0, 3)) == FEWER_THAN_5  # out of fewer than 5
    assert shown(Share(0, 20)) == "0%"
    assert shown(Share(10, 40)) == "25%"
    assert shown(Share(0, 0)) == "-"


def test_a_median_of_fewer_than_five_stages_is_suppressed():
    assert shown(Median(3.0, 4)) == FEWER_THAN_5
    assert shown(Median(3.5, 12)) == "3.5 working days"
    assert shown(Median(0.0, 0)) == "-"


def test_a_chart_draws_nothing_for_a_suppressed_cell():
    assert plotted(3) is None and plotted(Share(1, 10)) is None and plotted(Median(2, 2)) is None
    assert plotted(0) == 0.0 and plotted(12) == 12.0 and plotted(Share(5, 10)) == 50.0
    assert plotted("10 working days") is None


def test_one_small_count_in_a_total_has_its_smallest_shown_neighbour_withheld():
    rows = [(40, 3), (3, 0), (12, 9), (25, 7)]  # column 0 adds up to a total shown elsewhere
    assert withheld_cells(rows, [Summed(0, (0, 1, 2, 3))]) == {(2, 0)}
    # Two hidden already (or none): neither can be worked out, nothing more goes.
    assert withheld_cells([(3,), (2,), (40,)], [Summed(0, (0, 1, 2))]) == set()
    assert withheld_cells([(30,), (20,)], [Summed(0, (0, 1))]) == set()
    # A zero describes nobody and gives nothing away: the smallest non-zero goes instead.
    assert withheld_cells([(4,), (0,), (9,)], [Summed(0, (0, 1, 2))]) == {(2, 0)}
    # Each column's group is its own; a row outside the groups (the total) is never touched.
    rows = [(2, 10), (8, 3), (10, 13)]
    assert withheld_cells(rows, [Summed(0, (0, 1)), Summed(1, (0, 1))]) == {(1, 0), (0, 1)}


def test_a_withheld_value_is_shown_as_withheld_and_not_drawn():
    assert shown(Withheld(12)) == WITHHELD and shown(Withheld(Share(6, 10))) == WITHHELD
    assert plotted(Withheld(12)) is None
