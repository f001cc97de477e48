"""The weekly digest as the business managers meet it: referrals arrive in a real Dovecot,
the digest arrives at a real SMTP server on Monday morning with its chart inline, once,
whether `mailbot digest` or the worker sends it, across a restart of the worker, and with
two workers running at once on one PostgreSQL database."""

from __future__ import annotations

import email
import mailbox
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date
from email.policy import default
from pathlib import Path

import pytest

from mailbot.adapters.migrate import migrate
from mailbot.domain.referral import AgencyType
from mailbot.entrypoints.demo import referral_email
from tests.e2e.commands import wait_for
from tests.e2e.harness import PASSWORD_ENV, ROOT, Story, at, only
from tests.integration.conftest import start_smtp_server  # noqa: F401 (fixture)
from tests.integration.db_fixtures import postgres_schema_url

BM = "business.manager@bury.test"
FORM = {
    "child_name": "Robin Digestchild", "child_dob": date(2016, 5, 9),
    "referrer_name": "Priya Shah", "referrer_email": "priya.shah@school.test",
    "referrer_agency_type": AgencyType.SCHOOL, "other_agency_type": AgencyType.HEALTH,
    "other_agency_contact_name": "Alex Morgan", "other_agency_contact_email": "alex.morgan@nhs.test",
    "summary": "The school and the health visitor disagree about the level of need.",
    "stage_reached": 1,  # without it a Bury form opens at Level 4, the partnership's own
}


def _start(args: list[str], cwd: Path, env: dict | None = None) -> subprocess.Popen:
    """A `mailbot` process logging to a file of its own (with -v, a pipe nobody reads while it
    runs would fill and stall it)."""
    env = {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    with tempfile.NamedTemporaryFile("w", dir=cwd, prefix="worker-", suffix=".log",
                                     delete=False) as log:
        process = subprocess.Popen([sys.executable, "-m", "mailbot", *args], cwd=cwd, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, text=True)
    process.log_path = Path(log.name)  # type: ignore[attr-defined]
    return process


def _stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"mailbot run did not stop on SIGTERM:\n{_log(process)}") from None
    assert process.returncode == 0, _log(process)
    return _log(process)


def _wait_started(process: subprocess.Popen) -> None:
    """Stopped before it sets up its signal handlers, a worker dies of the SIGTERM with
    nothing logged; on a loaded machine its start-up alone can take seconds."""
    assert wait_for(lambda: "worker started" in _log(process), timeout=60), _log(process)


def _log(process: subprocess.Popen) -> str:
    return process.log_path.read_text()  # type: ignore[attr-defined]


def _digests(messages) -> list:
    parsed = [(m.recipients[0], email.message_from_bytes(m.data, policy=default)) for m in messages]
    return [(to, m) for to, m in parsed if m["X-Mailbot-Template"] == "weekly_digest"]


def _run_worker(bury: Story, now, until=None, settle: float = 0.0) -> str:
    """`mailbot run --now NOW -v` until ``until()`` holds (or the digest job has had time)."""
    process = _start(["--config", str(bury.config), "--now", now.isoformat(), "-v", "run"],
                     bury.workdir, {PASSWORD_ENV: bury.account.password})
    try:
        _wait_started(process)
        if until is not None:
            assert wait_for(until, timeout=45), "the worker sent no digest: " + " ".join([
                str(email.message_from_bytes(m.data)["X-Mailbot-Template"])
                for m in bury.smtp.received])
        time.sleep(settle)
    finally:
        output = _stop(process)
    return output


def test_the_business_manager_gets_the_digest_once_a_week_with_its_chart_inline(story):
    bury = story("bury", address="bsp@bury.test", business_manager=BM)
    bury.deliver(bury.referral("Priya Shah <priya.shah@school.test>", FORM, at("2026-12-02")),
                 at("2026-12-02"))
    bury.deliver(bury.referral("Priya Shah <priya.shah@school.test>",
                               {**FORM, "child_name": "Sasha Digestchild"}, at("2026-12-03")),
                 at("2026-12-03"))
    before = len(bury.smtp.received)
    bury.mailbot("digest", now=at("2026-12-07", 8, 55))  # Monday, before nine
    assert len(bury.smtp.received) == before
    bury.mailbot("digest", now=at("2026-12-07", 9, 5))
    [digest] = only(bury.sent()[before:], "weekly_digest", BM)
    message = digest.message
    assert message["Subject"] == "Weekly digest 2026-W50: 2 open cases, 0 overdue"
    assert message["Auto-Submitted"] == "auto-generated" and "bsp@bury.test" in message["From"]
    text = digest.text()
    assert "Level 1: Practitioner to Practitioner" in text and "working days left" in text
    assert "Digestchild" not in str(message)  # references only
    related = next(p for p in message.walk() if p.get_content_type() == "multipart/related")
    html, image = related.get_payload()
    content_id = image["Content-ID"].strip("<>")
    assert image.get_content_type() == "image/png" and image.get_content_disposition() == "inline"
    assert f'src="cid:{content_id}"' in html.get_content()
    assert image.get_payload(decode=True).startswith(b"\x89PNG")

    # Asked again that morning, and by a worker restarted that week: no second copy.
    bury.mailbot("digest", now=at("2026-12-07", 11))
    log = _run_worker(bury, at("2026-12-09", 10), settle=6)
    assert "weekly digest 2026-W50 of bury: already done" in log
    assert len(_digests(bury.smtp.received)) == 1

    # The next Monday, the worker sends that week's.
    _run_worker(bury, at("2026-12-14", 9, 10), until=lambda: len(_digests(bury.smtp.received)) == 2)
    assert len(_digests(bury.smtp.received)) == 2
    assert "Weekly digest 2026-W51" in str(_digests(bury.smtp.received)[1][1]["Subject"])


@pytest.fixture
def postgres_url():
    yield from postgres_schema_url()


def test_two_workers_on_one_postgresql_database_send_the_digest_once(
        postgres_url, start_smtp_server, tmp_path):  # noqa: F811
    smtp = start_smtp_server()
    (tmp_path / "config.toml").write_text(f"""
[database]
url = "{postgres_url}"
[outgoing]
kind = "smtp"
host = "127.0.0.1"
port = {smtp.port}
security = "none"
[worker]
send_every_seconds = 1
[[mailbox]]
name = "bury"
address = "bsp@bury.test"
policy = "bury"
kind = "maildir"
path = "maildir"
business_managers = ["Bea <bea@bury.test>", "ben@bury.test"]
sender_trust = "none"
""")
    migrate(postgres_url)
    mailbox.Maildir(tmp_path / "maildir", create=True).add(referral_email("bsp@bury.test", at("2026-12-03")))
    poll = subprocess.run([sys.executable, "-m", "mailbot", "--config", "config.toml", "--now",
                           at("2026-12-03", 10).isoformat(), "poll"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert poll.returncode == 0, poll.stderr
    monday = at("2026-12-07", 9, 5).isoformat()
    workers = [_start(["--config", "config.toml", "--now", monday, "-v", "run"], tmp_path)
               for _ in range(2)]
    try:
        for worker in workers:
            _wait_started(worker)
        assert wait_for(lambda: len(_digests(smtp.received)) >= 2, timeout=45)
        # Both workers have run the digest job once each has logged it; a duplicate would be
        # out a send pass later.
        assert wait_for(lambda: all("weekly digest 2026-W50 of bury" in _log(worker)
                                    for worker in workers), timeout=45)
        time.sleep(2)
    finally:
        logs = [_stop(worker) for worker in workers]
    for log in logs:
        assert "weekly digest 2026-W50 of bury" in log, log
    assert sorted(to for to, _ in _digests(smtp.received)) == ["bea@bury.test", "ben@bury.test"]

    # And a worker started again that week sends nothing more.
    again = _start(["--config", "config.toml", "--now", at("2026-12-08", 9).isoformat(), "-v", "run"],
                   tmp_path)
    _wait_started(again)
    wait_for(lambda: "already done" in _log(again), timeout=30)
    assert "already done" in _stop(again)
    assert len(_digests(smtp.received)) == 2
