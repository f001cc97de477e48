"""One pass of each job over every mailbox, shared by the one-shot commands and the worker."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from mailbot.bootstrap import App
from mailbot.domain.errors import MailbotError
from mailbot.entrypoints.lease_keeper import real_now
from mailbot.services.ports import Mailer, OutgoingEmail
from mailbot.services.sending import send_queued


def poll_all(app: App, now: Callable[[], datetime]) -> list[str]:
    """Polls every mailbox; returns the names of those that failed or were left with mail
    waiting at the poll's limit (the others carry on)."""
    # Imported here: `mailbot chase` and `send` never poll, and reading mail is a sixth of
    # what starting them imports (intake, classification, the form readers).
    from mailbot.services.polling import poll_mailbox

    failed = []
    for name, context in app.services.mailboxes.items():
        result = poll_mailbox(app.services, context, lambda n=name: app.open_mailbox(n), now)
        if result.failed or result.cut_short:
            failed.append(name)
    return failed


@dataclass
class SendPass:
    delivered: int = 0
    failed: int = 0  # tries the mailer refused (each kept queued, or given up and reported)


class _CountingMailer:
    """The app's mailer, counting what it could not send, so a one-shot command can say so
    in its exit code: a `poll` whose mail went nowhere has not succeeded."""

    def __init__(self, mailer: Mailer, result: SendPass):
        self._mailer, self._result = mailer, result

    def send(self, email: OutgoingEmail) -> None:
        try:
            self._mailer.send(email)
        except MailbotError:
            self._result.failed += 1
            raise

    def delivered(self, message_id: str) -> bool:
        """The inner mailer's answer, where it can tell (``sending._delivered_before``)."""
        asked = getattr(self._mailer, "delivered", None)
        return bool(asked is not None and asked(message_id))


def send_all(app: App, now: Callable[[], datetime], sender: str | None = None,
             stopping: Callable[[], bool] = lambda: False) -> SendPass:
    """Sends the due mail (only that from the ``sender`` address when given), claiming no more
    once ``stopping()`` (``sending.send_queued``)."""
    result = SendPass()
    # A claim lasts as long as a worker's lease: mail a dead worker had claimed moves on
    # to another worker as soon as its mailboxes do.
    result.delivered = send_queued(app.services, _CountingMailer(app.mailer, result), now(),
                                   redirect_all_to=app.settings.outgoing.redirect_all_to,
                                   claim_for=timedelta(seconds=app.settings.worker.lease_seconds),
                                   clock=real_now, sender=sender, stopping=stopping)
    return result


def mail_stuck(result: SendPass) -> bool:
    """True (and says so on stderr) when some mail could not go."""
    if result.failed:
        print(f"mailbot: {result.failed} message(s) could not be sent; they stay queued and are"
              " retried by the next pass (the log says why)", file=sys.stderr)
    return bool(result.failed)
