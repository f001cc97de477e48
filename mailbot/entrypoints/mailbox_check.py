"""`mailbot mailboxes check`: a receive probe and a send probe per configured mailbox.

``bootstrap.probes`` builds the probes from the settings with the same builders the worker
uses; this runs them one mailbox after another (printing each report as it completes), and
says whether all work. Graph and EWS sync state goes to a scratch folder removed afterwards,
so the worker's own state is never touched.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from mailbot.bootstrap.probes import describe, probes
from mailbot.bootstrap.tokens import TokenProviders
from mailbot.config import Settings
from mailbot.domain.errors import ConfigError
from mailbot.services.mailbox_check import MailboxReport, check_mailbox, render, summary


def check_mailboxes(settings: Settings, now: datetime, *, send_test_to: str | None = None,
                    only: list[str] | None = None,
                    out: Callable[[str], None] = print) -> list[MailboxReport]:
    """Checks every mailbox (or those named in ``only``), printing each report as it completes."""
    names = [m.name for m in settings.mailbox]
    unknown = sorted(set(only or ()) - set(names))
    if unknown:
        raise ConfigError("command line", "--mailbox", f"no mailbox named {', '.join(unknown)}",
                          f"Use one of: {', '.join(names)}.")
    tokens = TokenProviders(settings)
    reports: list[MailboxReport] = []
    with tempfile.TemporaryDirectory(prefix="mailbot-check-") as scratch:
        for mailbox in settings.mailbox:
            if only and mailbox.name not in only:
                continue
            receive, send = probes(settings, mailbox, tokens, Path(scratch), now)
            report = check_mailbox(mailbox.name, describe(settings, mailbox), receive, send,
                                   send_test_to)
            out(render(report) + "\n")
            reports.append(report)
    out(summary(reports))
    return reports
