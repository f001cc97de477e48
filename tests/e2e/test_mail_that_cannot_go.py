"""Issue 14: `poll` and `send` exit 1 when the mail they queued could not go, rather than
0 with every acknowledgement still waiting; the mail stays queued and goes once it can."""

from __future__ import annotations

import mailbox
from datetime import datetime

from mailbot.domain.working_days import LONDON
from mailbot.entrypoints.demo import referral_email
from tests.e2e.commands import mailbot, maildir_config


def test_poll_and_send_exit_1_while_the_outbox_cannot_be_written_and_0_once_it_can(tmp_path):
    config = maildir_config(tmp_path)
    (tmp_path / "outbox").write_text("a file where the outbox folder should be\n")
    (tmp_path / "maildir").mkdir()
    maildir = mailbox.Maildir(tmp_path / "maildir" / "bury", create=True)
    maildir.add(referral_email("bsp@bury.test", datetime(2026, 12, 1, 10, tzinfo=LONDON)))
    poll = mailbot("--config", str(config), "--now", "2026-12-01T10:05", "poll", cwd=tmp_path)
    assert poll.returncode == 1, poll.stderr
    assert "could not be sent" in poll.stderr and "Traceback" not in poll.stderr
    # Each retry waits out its back-off, so each pass is a little later.
    send = mailbot("--config", str(config), "--now", "2026-12-01T11:00", "send", cwd=tmp_path)
    assert send.returncode == 1, send.stderr
    (tmp_path / "outbox").unlink()
    later = mailbot("--config", str(config), "--now", "2026-12-01T14:00", "send", cwd=tmp_path)
    assert later.returncode == 0, later.stderr
    assert list((tmp_path / "outbox").glob("*.eml")), "the queued mail went once it could"
