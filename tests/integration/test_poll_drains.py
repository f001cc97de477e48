"""`mailbot poll` takes a whole backlog of large mail, however its batches are cut (issue 19).

A batch comes back shorter than asked for when the adapter's byte budget cuts it; a poll that
took a short batch for the end of the mailbox handled 155 of 3,000 referrals with an 8 MiB
budget and exited 0.
"""

from __future__ import annotations

import mailbox as mailboxes
from datetime import datetime

import pytest

from mailbot.adapters.imap_mailbox import ImapMailbox
from mailbot.adapters.maildir_mailbox import MaildirMailbox
from mailbot.bootstrap import bootstrap
from mailbot.config import embedded_default
from mailbot.domain.working_days import LONDON
from mailbot.services.polling import poll_mailbox

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=LONDON)
LARGE = 60_000  # bytes of body: like a referral carrying a .docx form
BUDGET = 2 * LARGE + 5_000  # two messages a batch, whatever the batch size asked for
COUNT = 13


def _large(n: int) -> bytes:
    line = f"Attachment stand-in for message {n}. ".ljust(76, "x") + "\r\n"
    return (f"From: Referrer {n} <referrer{n}@school.example>\r\nTo: bsp@bury.example\r\n"
            f"Subject: Large message {n}\r\nMessage-ID: <large{n}@school.example>\r\n\r\n"
            + line * (LARGE // len(line))).encode()


@pytest.fixture
def app(tmp_path):
    (tmp_path / "var" / "maildir").mkdir(parents=True)
    return bootstrap(embedded_default(str(tmp_path / "var")))


def test_poll_drains_a_maildir_backlog_of_large_messages(app, tmp_path):
    folder = tmp_path / "var" / "maildir" / "bury"
    delivery = mailboxes.Maildir(folder, create=True)
    for n in range(COUNT):
        delivery.add(_large(n))

    result = poll_mailbox(app.services, app.services.mailboxes["bury"],
                          lambda: MaildirMailbox("bury", folder, max_batch_bytes=BUDGET),
                          lambda: NOW)
    assert result.handled == COUNT, "the poll stopped at the first short batch"
    assert not result.failed and not result.cut_short
    assert list(delivery.keys()) == [], "mail left in the inbox"


def test_poll_drains_an_imap_backlog_of_large_messages(app, dovecot):
    account = dovecot.add_user()
    dovecot.append_many(account, (_large(n) for n in range(COUNT)))

    def open_mailbox() -> ImapMailbox:
        return ImapMailbox("bury", dovecot.host, dovecot.port, "none", account.username,
                           account.password, timeout=10, max_batch_bytes=BUDGET)

    result = poll_mailbox(app.services, app.services.mailboxes["bury"], open_mailbox,
                          lambda: NOW)
    assert result.handled == COUNT, "the poll stopped at the first short batch"
    assert not result.failed and not result.cut_short
    assert dovecot.messages(account, "INBOX", ["NOT", "DELETED"]) == []


def test_a_poll_that_reaches_its_limit_says_so_and_counts_as_failed(app, tmp_path, caplog):
    folder = tmp_path / "var" / "maildir" / "bury"
    delivery = mailboxes.Maildir(folder, create=True)
    for n in range(5):
        delivery.add(_large(n))

    result = poll_mailbox(app.services, app.services.mailboxes["bury"],
                          lambda: MaildirMailbox("bury", folder), lambda: NOW, limit=3)
    assert result.cut_short and result.handled == 3
    assert len(list(delivery.keys())) == 2
    assert "run mailbot poll again" in caplog.text
