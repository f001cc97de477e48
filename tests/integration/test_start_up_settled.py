"""`mailbot poll` (and the worker) keep start-up's objects out of later garbage collections
(issue 18: each full collection walked some 130,000 of them); commands that end in a second
(a deadline pass, a look at the cases) do not pay for the collection freezing them takes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.integration.test_cli_imports import config  # noqa: F401  (the fixture)

FROZEN = """
import contextlib, gc, io, sys
from mailbot.entrypoints.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[1:])
print(code, gc.get_freeze_count())
"""


@pytest.mark.parametrize(("command", "frozen"), [(["poll"], True), (["chase"], False),
                                                 (["cases"], False)])
def test_start_up_is_frozen_by_the_commands_that_work_for_long(config, command,  # noqa: F811
                                                      frozen):
    run = subprocess.run([sys.executable, "-c", FROZEN, "--config", str(config), *command],
                         capture_output=True, text=True, timeout=120, cwd=config.parent)
    code, count = run.stdout.split()
    assert code == "0", run.stderr
    assert (int(count) > 50_000) is frozen, count
