"""Issue 14, as an operator meets it: `mailbot status` says what needs a person (exit 1),
`mailbot quarantine list|show|release` puts a set-aside referral through intake once, and
`mailbot outbox list|retry` sends given-up mail once more."""

from __future__ import annotations

import email
import mailbox
import re
import shutil
from datetime import datetime
from email.policy import default
from pathlib import Path

from mailbot.domain.working_days import LONDON
from mailbot.entrypoints.demo import SAMPLE, referral_email
from mailbot.shipped import shipped_dir
from tests.e2e.commands import mailbot, maildir_config

NOW = "2026-12-01T10:00"


def _deliver(folder: Path) -> None:
    (folder / "maildir").mkdir(exist_ok=True)
    maildir = mailbox.Maildir(folder / "maildir" / "bury", create=True)
    maildir.add(referral_email("bsp@bury.test", datetime(2026, 12, 1, 9, tzinfo=LONDON)))


def _templates(outbox: Path) -> list[str]:
    return [str(email.message_from_bytes(p.read_bytes(), policy=default)["X-Mailbot-Template"])
            for p in sorted(outbox.glob("*.eml"))]


def _run(config: Path, *args: str, now: str = NOW):
    return mailbot("--config", str(config), "--now", now, *args, cwd=config.parent)


def test_a_quarantined_referral_is_listed_shown_and_released_into_exactly_one_case(tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(shipped_dir("templates"), templates)
    good = (templates / "acknowledgement.txt").read_text()
    (templates / "acknowledgement.txt").write_text("{% if %}")  # a broken template: quarantined
    config = maildir_config(tmp_path, extra=f'templates_dir = "{templates}"\n')
    _deliver(tmp_path)
    assert _run(config, "poll").returncode == 0
    assert "quarantine_alert" in _templates(tmp_path / "outbox")
    listed = _run(config, "quarantine", "list")
    assert listed.returncode == 0 and "1 quarantined message(s)" in listed.stdout, listed.stdout
    record_id = re.search(r"^\s*(\d+)\s", listed.stdout, re.M).group(1)
    status = _run(config, "status")
    assert status.returncode == 1, status.stdout
    assert "quarantined:     1" in status.stdout and "1 message(s) quarantined" in status.stdout
    shown = _run(config, "quarantine", "show", record_id)
    assert shown.returncode == 0 and "Subject: Request for Resolution" in shown.stdout
    assert "Attachments: request-for-resolution.docx" in shown.stdout and "Why set aside" in shown.stdout

    (templates / "acknowledgement.txt").write_text(good)  # the fault is fixed
    released = _run(config, "quarantine", "release", record_id)
    assert released.returncode == 0, released.stderr
    assert "released: processed, case BSCP-2026-0001" in released.stdout
    again = _run(config, "quarantine", "release", record_id)
    assert again.returncode == 1 and "no quarantined message" in again.stderr
    assert _run(config, "poll").returncode == 0  # the next pass does not act on it again
    cases = _run(config, "cases").stdout
    assert cases.count("BSCP-") == 1, cases
    assert _templates(tmp_path / "outbox").count("acknowledgement") == 1
    assert _templates(tmp_path / "outbox").count("quarantine_alert") == 1
    assert _run(config, "chase").returncode == 0
    healthy = _run(config, "status")
    assert healthy.returncode == 0, healthy.stdout
    assert "quarantined:     0" in healthy.stdout and "last good poll:  2026-12-01 10:00" in healthy.stdout
    assert "deadline pass last ran: 2026-12-01 10:00" in healthy.stdout
    late = _run(config, "status", now="2026-12-01T11:01")  # [worker] chase_every_minutes = 15
    assert late.returncode == 1 and "not run for more than 0:30:00" in late.stdout, late.stdout
    for output in (listed.stdout, released.stdout, status.stdout, healthy.stdout):
        assert SAMPLE["child_name"] not in output  # only `show` prints the message


def test_mail_given_up_is_listed_and_a_retry_sends_it_once_more(tmp_path):
    config = maildir_config(tmp_path)
    config.write_text(config.read_text().replace('directory = "outbox"',
                                                 'directory = "outbox"\nmax_attempts = 1'))
    (tmp_path / "outbox").write_text("not a folder")  # the outbox cannot be written
    _deliver(tmp_path)
    assert _run(config, "chase").returncode == 0
    _run(config, "poll")
    listed = _run(config, "outbox", "list")
    assert listed.returncode == 0 and re.search(r"\d+ queued, [1-9]\d* failed", listed.stdout), listed.stdout
    status = _run(config, "status")
    assert status.returncode == 1 and "outgoing message(s) failed" in status.stdout, status.stdout
    failed = re.findall(r"^\s*(\d+)\s+failed\s+(\w+)", listed.stdout, re.M)
    acknowledgement = next(row for row, template in failed if template == "acknowledgement")

    (tmp_path / "outbox").unlink()  # the fault is fixed
    retried = _run(config, "outbox", "retry", acknowledgement)
    assert retried.returncode == 0 and f"outgoing message {acknowledgement}: sent" in retried.stdout
    assert _templates(tmp_path / "outbox").count("acknowledgement") == 1
    assert "new_case" not in _templates(tmp_path / "outbox")  # given up, not retried: still failed
    again = _run(config, "outbox", "retry", acknowledgement)
    assert again.returncode == 1 and "sent already" in again.stderr
    assert _templates(tmp_path / "outbox").count("acknowledgement") == 1
