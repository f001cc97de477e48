"""The routing mailer: one Mailer in front of several, choosing by the envelope sender.

A partnership mailbox configured with ``send_via = "graph"`` or ``"ews"`` sends its mail through
its own Microsoft account; every other mailbox uses the ``[outgoing]`` mailer. The envelope
sender of everything mailbot sends is the partnership address, so that address picks the way.
The outbox and the sending service see a single Mailer and need not know any of this.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

from mailbot.services.ports import Mailer, OutgoingEmail


class RoutingMailer:
    """Sends through ``by_sender[envelope_from]`` (case-insensitive), else through ``default``."""

    def __init__(self, default: Mailer, by_sender: Mapping[str, Mailer]):
        self.default = default
        self.by_sender = {address.lower(): mailer for address, mailer in by_sender.items()}

    def mailer_for(self, envelope_from: str) -> Mailer:
        return self.by_sender.get(envelope_from.strip().lower(), self.default)

    def send(self, email: OutgoingEmail) -> None:
        # Errors pass through untouched: the outbox sorts transient from permanent itself.
        self.mailer_for(email.envelope_from).send(email)

    def close(self) -> None:
        """Closes each distinct mailer once; one failing to close does not keep others open."""
        seen: set[int] = set()
        for mailer in (self.default, *self.by_sender.values()):
            if id(mailer) in seen:
                continue
            seen.add(id(mailer))
            close = getattr(mailer, "close", None)
            if callable(close):
                with contextlib.suppress(Exception):  # a failed goodbye changes nothing
                    close()
