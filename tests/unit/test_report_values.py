"""Small numbers in the thematic report: under 5 is "fewer than 5", and nothing derived
from a suppressed count gives it away."""

from __future__ import annotations

import pytest

from mailbot.domain.report_values import FEWER_THAN_5, Median, Share, plotted, shown


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
