"""One pass of each job over every mailbox, shared by the one-shot commands and the worker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from mailbot.bootstrap import App
from mailbot.entrypoints.lease_keeper import real_now
from mailbot.services.polling import poll_mailbox
from mailbot.services.sending import send_queued


def poll_all(app: App, now: Callable[[], datetime]) -> list[str]:
    """Polls every mailbox; returns the names of those that failed (the others carry on)."""
    failed = []
    for name, context in app.services.mailboxes.items():
        result = poll_mailbox(app.services, context, lambda n=name: app.open_mailbox(n), now)
        if result.failed:
            failed.append(name)
    return failed


def send_all(app: App, now: Callable[[], datetime]) -> int:
    # A claim lasts as long as a worker's lease: mail a dead worker had claimed moves on
    # to another worker as soon as its mailboxes do.
    return send_queued(app.services, app.mailer, now(),
                       redirect_all_to=app.settings.outgoing.redirect_all_to,
                       claim_for=timedelta(seconds=app.settings.worker.lease_seconds),
                       clock=real_now)
