"""mailbot's log goes to standard error as it is when each line is written."""

import io
import logging
import sys

from mailbot.entrypoints import logs


def test_a_line_goes_to_the_standard_error_of_its_moment_not_of_configure_s(monkeypatch):
    """A stream replaced after start-up (and the one it replaced closed) still gets every
    line: a handler holding the stream of ``configure``'s moment printed "Logging error"
    for each line instead, as the test suite's captured streams showed."""
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    logs.configure()
    first.close()
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("mailbot.test").warning("case ABC-2026-0001 moved")
    written = second.getvalue()
    assert "WARNING mailbot.test: case ABC-2026-0001 moved" in written
    assert "Logging error" not in written
