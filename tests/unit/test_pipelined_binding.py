"""``pipelined._bound``: rows' values as their column types bind them, a value the rows share
converted once (storing a backlog binds the batch's time on every row)."""

from __future__ import annotations

from datetime import UTC, datetime

from mailbot.adapters.sqlalchemy_store.pipelined import _bound


def test_a_value_the_rows_share_is_converted_once_and_every_other_value_each_time():
    converted: list[object] = []

    def process(value):
        converted.append(value)
        return f"bound {value:%H:%M}"

    batch_time, later = datetime(2026, 12, 5, 9, 0, tzinfo=UTC), datetime(2026, 12, 5, 9, 1, tzinfo=UTC)
    rows = [{"uid": "1", "at": batch_time}, {"uid": "2", "at": batch_time},
            {"uid": "3", "at": later}, {"uid": "4", "at": batch_time}]

    bound = _bound(rows, {"at": process})

    assert [row["at"] for row in bound] == ["bound 09:00", "bound 09:00", "bound 09:01", "bound 09:00"]
    assert [row["uid"] for row in bound] == ["1", "2", "3", "4"]
    assert converted == [batch_time, later, batch_time]
    assert rows[0]["at"] is batch_time, "the rows given are left as they were"
