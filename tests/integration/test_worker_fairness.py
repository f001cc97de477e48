"""One mailbox's backlog does not hold up another's referral (issue 18).

The worker's watchers take turns, a slice of mail each; a watcher with mail left queues behind
the others, and sends what its slice queued before its next turn. Before, a mailbox took its
whole backlog in one go and sent only at the end, so by the time a referral came to another
mailbox the outbox held hundreds of the backlog's messages ahead of its acknowledgement, and
that went out only after the backlog.
"""

from __future__ import annotations

import functools
import io
import mailbox as mailboxes
import threading
import zipfile
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from mailbot.bootstrap import bootstrap
from mailbot.config import load_settings
from mailbot.domain.working_days import LONDON
from mailbot.entrypoints.demo import SAMPLE
from mailbot.entrypoints.worker import Worker
from mailbot.intake.form_builder import fill_form

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=LONDON)
BACKLOG = 600

CONFIG = """
[database]
url = "sqlite:///mailbot.sqlite3"
[outgoing]
kind = "directory"
directory = "outbox"
[worker]
slice_messages = 10
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
kind = "maildir"
path = "maildir/hackney"
business_managers = ["manager@hackney.test"]
sender_trust = "none"
"""


@functools.cache
def _form(partnership: str) -> bytes:
    return fill_form(partnership, SAMPLE)


def _with_referrer(form: bytes, referrer: str) -> bytes:
    """The filled form with another referrer's address: a rewrite, not a fresh build."""
    written = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(form)) as source, zipfile.ZipFile(written, "w") as copy:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":
                data = data.replace(SAMPLE["referrer_email"].encode(), referrer.encode())
            copy.writestr(item, data)
    return written.getvalue()


def _referral(address: str, partnership: str, n: int) -> bytes:
    """A referral with its filled form, each from its own referrer (one referrer's
    acknowledgements are capped at a few an hour, a guard against mail loops)."""
    referrer = f"referrer{n}@school.example"
    message = EmailMessage()
    message["From"], message["To"] = f"Referrer {n} <{referrer}>", address
    message["Subject"], message["Message-ID"] = "Request for Resolution", make_msgid("school.example")
    message.set_content("Please find our Request for Resolution attached.\n")
    form = _with_referrer(_form(partnership), referrer)
    message.add_attachment(form, maintype="application", filename="request-for-resolution.docx",
                           subtype="vnd.openxmlformats-officedocument.wordprocessingml.document")
    return bytes(message)


def _wait_for(predicate, what: str, timeout: float = 120.0) -> None:
    stopping = threading.Event()
    deadline = threading.Timer(timeout, stopping.set)
    deadline.start()
    try:
        while not predicate():
            if stopping.wait(0.05):
                pytest.fail(f"timed out waiting for {what}")
    finally:
        deadline.cancel()


@pytest.fixture
def worker(tmp_path: Path):
    (tmp_path / "config.toml").write_text(CONFIG)
    (tmp_path / "maildir").mkdir()
    app = bootstrap(load_settings(tmp_path / "config.toml"))
    made = Worker(app, lambda: NOW)
    yield made
    made.stop()
    made.scheduler.shutdown(wait=True)
    for thread in made.threads:
        thread.join(timeout=30)
    assert not [t.name for t in made.threads if t.is_alive()], "a watcher outlived its stop"


def test_a_referral_is_acknowledged_while_another_mailbox_still_has_its_backlog(worker, tmp_path):
    bury = mailboxes.Maildir(tmp_path / "maildir" / "bury", create=True)
    hackney = mailboxes.Maildir(tmp_path / "maildir" / "hackney", create=True)
    for n in range(BACKLOG):
        bury.add(_referral("bsp@bury.test", "bury", n))
    services = worker.app.services
    outbox = tmp_path / "outbox"

    def bury_cases() -> int:
        with services.uow_factory() as uow:
            return sum(1 for case in uow.cases.summaries() if case.policy_key == "bury")

    worker.threads = worker.start()
    _wait_for(lambda: bury_cases() >= BACKLOG // 4, "the backlog to be under way")
    hackney.add(_referral("chscp@hackney.test", "hackney", 0))
    _wait_for(lambda: outbox.exists() and any("hackney" in path.name for path in outbox.iterdir()),
              "the hackney referral's acknowledgement")
    acted_on = bury_cases()
    assert acted_on < BACKLOG, "the referral was acknowledged only after the whole backlog"
