"""`mailbot run` and `mailbot demo` as a newcomer and an operator meet them: a referral
acknowledged within seconds, a broken mailbox reported once without stopping the working
one, a clean stop on SIGTERM, and logs that never name the child."""

from __future__ import annotations

import email
import mailbox
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from email.policy import default
from pathlib import Path

from mailbot.domain.working_days import LONDON
from mailbot.entrypoints.demo import SAMPLE, referral_email
from tests.e2e.commands import wait_for
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "mailbot", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _stop(process: subprocess.Popen, sig=signal.SIGTERM) -> tuple[int, str]:
    process.send_signal(sig)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"mailbot did not stop on {sig!r}:\n{output}") from None
    return process.returncode, output


def _templates(outbox: Path) -> list[str]:
    found = []
    for path in sorted(outbox.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=default)
        found.append(str(message["X-Mailbot-Template"]))
    return found


def _assert_no_child_data(log: str) -> None:
    assert SAMPLE["child_name"] not in log
    assert "Sam" not in log.replace("Sample", "")
    dob = SAMPLE["child_dob"]
    for written in (dob.isoformat(), dob.strftime("%d/%m/%Y")):
        assert written not in log


def test_the_worker_acknowledges_at_once_reports_a_broken_mailbox_and_stops_on_sigterm(tmp_path):
    dead_port = free_port()  # nothing listens here: this mailbox is broken from the start
    (tmp_path / "config.toml").write_text(f"""
[database]
url = "sqlite:///mailbot.sqlite3"
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
business_managers = ["manager@bury.test"]
sender_trust = "none"
[[mailbox]]
name = "hackney"
address = "chscp@hackney.test"
policy = "hackney"
kind = "imap"
host = "127.0.0.1"
port = {dead_port}
security = "none"
username = "chscp"
business_managers = ["manager@hackney.test"]
sender_trust = "none"
""")
    # Made before the worker starts: the worker makes it too, and the hackney failure can be
    # reported before it has, so making it afterwards would race the worker.
    (tmp_path / "maildir").mkdir()
    maildir = mailbox.Maildir(tmp_path / "maildir" / "bury", create=True)
    process = _start(["--config", "config.toml", "run"], tmp_path)
    try:
        outbox = tmp_path / "outbox"
        assert wait_for(lambda: "mailbox_failure" in _templates(outbox)), "failure not reported"
        maildir.add(referral_email("bsp@bury.test", datetime.now(LONDON)))
        assert wait_for(lambda: "acknowledgement" in _templates(outbox), timeout=20)
        assert wait_for(lambda: "stage_notice" in _templates(outbox), timeout=5)
        time.sleep(3)  # the broken mailbox keeps failing; it must not be reported again
        assert _templates(outbox).count("mailbox_failure") == 1
    finally:
        code, log = _stop(process)
    assert code == 0, log
    assert "worker stopped" in log
    _assert_no_child_data(log)


def test_the_demo_shows_a_case_going_through_and_stops_on_ctrl_c(tmp_path):
    process = _start(["demo"], tmp_path)
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if "press Ctrl-C" in line or not line:
            break
    code, rest = _stop(process, signal.SIGINT)
    output = "".join(lines) + rest
    assert code == 0, output
    assert "BSCP-2026-0001" in output
    templates = _templates(tmp_path / "var" / "demo" / "outbox")
    assert {"acknowledgement", "new_case", "stage_notice"} <= set(templates), output
    _assert_no_child_data(output)
