"""SQLite stays single-worker (issue 14): while `mailbot run` works a SQLite database, a second
`mailbot run` or a `mailbot poll` refuses to start with exit 1 and says who holds it and what
to do; the lock dies with the process, so after a SIGKILL a new worker starts at once."""

from __future__ import annotations

import signal
import time

from tests.e2e.many_workers import Deployment


def _started(worker, timeout: float = 60) -> str:
    deadline, lines = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        line = worker.stdout.readline()
        lines.append(line)
        if "worker started" in line or not line:
            break
    return "".join(lines)


def test_a_second_worker_on_sqlite_refuses_to_start_and_a_killed_one_leaves_no_lock(tmp_path):
    deployment = Deployment(tmp_path, f"sqlite:///{tmp_path / 'mailbot.sqlite3'}", ["bury"])
    first = deployment.start("run")
    try:
        assert "worker started" in _started(first)
        for command in ("run", "poll"):
            code, output = deployment.run(command, timeout=60)
            assert code == 1, output
            assert f"is in use by `mailbot run` (pid {first.pid})" in output, output
            assert "SQLite allows one worker at a time" in output and "PostgreSQL" in output
            assert "Traceback" not in output
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    second = deployment.start("run")
    try:
        assert "worker started" in _started(second), "a SIGKILLed worker left no stale lock"
    finally:
        second.send_signal(signal.SIGTERM)
        output, _ = second.communicate(timeout=30)
    assert second.returncode == 0, output
