"""One pass of each job over every mailbox, shared by the one-shot commands and the worker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from mailbot.bootstrap import App
from mailbot.services.polling import poll_mailbox
from mailbot.services.sending import send_queued


def poll_all(app: App, now: Callable[[], datetime]) -> list[str]:
    """Polls every mailbox; returns the names of those that failed or were left with mail
    waiting at the poll's limit (the others carry on)."""
    failed = []
    for name, context in app.services.mailboxes.items():
        result = poll_mailbox(app.services, context, lambda n=name: app.open_mailbox(n), now)
        if result.failed or result.cut_short:
            failed.append(name)
    return failed


def send_all(app: App, now: Callable[[], datetime], sender: str | None = None) -> int:
    """Sends the due mail (only that from the ``sender`` address when given)."""
    return send_queued(app.services, app.mailer, now(),
                       redirect_all_to=app.settings.outgoing.redirect_all_to, sender=sender)
