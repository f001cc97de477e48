"""What every test leaves as it found: the root logger's handlers and level.

A test that runs ``mailbot``'s ``main()`` in this process (the report, start-up) installs
mailbot's log handler and sets the root level to INFO; left in place, they made what a later
test in the same worker logged, and where, depend on which tests ran before it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from mailbot.entrypoints.logs import HANDLER_NAME


@pytest.fixture(autouse=True)
def _root_logger_restored() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    # Only mailbot's own: pytest's capture handlers come and go with each phase of a test, and
    # are pytest's to remove.
    for handler in [h for h in root.handlers
                    if h not in handlers and h.get_name() == HANDLER_NAME]:
        root.removeHandler(handler)
    root.setLevel(level)
