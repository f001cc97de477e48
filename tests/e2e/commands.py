"""Running `mailbot` as an operator does, for the tests of installing and looking after it:
a subprocess in a folder of the test's own, with a config written there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

MAILDIR_CONFIG = """
[database]
url = "{database}"
[outgoing]
kind = "directory"
directory = "outbox"
[worker]
send_every_seconds = 1
[[mailbox]]
name = "bury"
address = "bsp@bury.test"
policy = "bury"
kind = "maildir"
path = "maildir/bury"
business_managers = ["Business Manager <manager@bury.test>"]
sender_trust = "none"
"""


def maildir_config(folder: Path, database: str = "sqlite:///data/mailbot.sqlite3", extra: str = "") -> Path:
    """A config for one Bury mailbox on a Maildir in ``folder``, mail out to ``folder/outbox``."""
    path = folder / "config.toml"
    path.write_text(extra + MAILDIR_CONFIG.format(database=database), encoding="utf-8")
    return path


def environment(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **extra}


def mailbot(*args: str, cwd: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mailbot", *args], cwd=cwd, env=environment(**env),
                          capture_output=True, text=True, timeout=timeout)


def start(*args: str, cwd: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mailbot", *args], cwd=cwd, env=environment(**env),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop(process: subprocess.Popen) -> tuple[int, str]:
    """SIGTERM, by PID, and what the process printed."""
    process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"mailbot did not stop on SIGTERM:\n{output}") from None
    return process.returncode, output


def wait_for(predicate: Callable[[], object], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False
