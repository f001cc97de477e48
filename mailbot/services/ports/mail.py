"""Ports for mail in and out: mailboxes, mailers, OAuth tokens, and the probes of
`mailbot mailboxes check` (adapters: maildir_mailbox, imap_mailbox, microsoft, smtp_mailer,
directory_mailer, mailbox_probes, send_probes)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from mailbot.domain.errors import PermanentError

# ---------------------------------------------------------------------------------------------
# Mailboxes and mailers (adapters: maildir_mailbox, imap_mailbox, smtp_mailer, directory_mailer)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawMessage:
    """One message as it sits in a mailbox, before anything has parsed it."""

    mailbox: str  # config name of the mailbox
    uidvalidity: int  # IMAP UIDVALIDITY; for Maildir a stable number kept in the folder
    uid: str  # IMAP UID as text; the Maildir key
    data: bytes


class Mailbox(Protocol):
    """Where mail arrives. State lives in folders, so a restarted worker neither skips nor repeats.

    ``fetch_new`` returns every unprocessed message (oldest first, at most ``limit``), including
    ones returned before but not yet marked, so a message whose processing failed is offered
    again. ``mark_processed`` (``mark_all_processed`` for a batch) is called only after the
    message is stored durably (its effects are then worked from the store) and is
    idempotent; a message whose ``uidvalidity`` no longer matches the folder is left alone (it
    will be offered again under the new UIDVALIDITY and recognised by its content hash). While
    a backlog is taken, an adapter may finish a marking after the call returns (IMAP moves on
    a second session meanwhile); a marked message is never offered again all the same, and
    ``wait_for_new`` and ``close`` first wait for markings still under way.
    ``wait_for_new`` returns True at once if messages arrived since the last ``fetch_new``
    (or lie beyond its limit), else waits up to ``timeout`` seconds for one. ``interrupt``,
    called from another thread when the worker stops, ends a wait under way at once and makes
    every later wait return False at once; the mailbox is then closed.
    """

    name: str

    def fetch_new(self, limit: int = 200) -> list[RawMessage]: ...

    def mark_processed(self, message: RawMessage) -> None: ...

    def mark_all_processed(self, messages: Sequence[RawMessage]) -> None: ...  # in few round trips

    def wait_for_new(self, timeout: float) -> bool: ...

    def interrupt(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class OutgoingEmail:
    """A message ready for the wire; the mailer sends ``data`` as it is."""

    message_id: str
    envelope_from: str
    recipients: tuple[str, ...]
    data: bytes  # the complete RFC 5322 message, already built


class RecipientsRefused(PermanentError):
    """The server accepted the message for some recipients and refused the others.

    The message has been delivered to ``accepted``; resending it would duplicate it for them.
    ``refused`` maps each refused address to the server's (code, text); a 4xx code there means
    that recipient alone may be retried later.
    """

    def __init__(self, accepted: tuple[str, ...], refused: dict[str, tuple[int, str]]):
        self.accepted, self.refused = accepted, refused
        listed = ", ".join(f"{address} ({code})" for address, (code, _) in refused.items())
        super().__init__(f"recipients refused: {listed}")


class Mailer(Protocol):
    """Where mail leaves. ``send`` raises TransientError (connection refused, timeouts, 4xx)
    or PermanentError (5xx; RecipientsRefused when only some recipients were refused)."""

    def send(self, email: OutgoingEmail) -> None: ...
    # Optional, for a mailer that can tell: was this Message-ID delivered already? Asked only
    # of mail whose send pass died before marking it sent (services/sending.py).
    # def delivered(self, message_id: str) -> bool: ...


# An OAuth2 access token source (adapters.microsoft.tokens): returns a bearer token valid for
# at least the next few minutes, cached between calls; raises AuthenticationFailed with the
# exact reason when the identity platform refuses, TransientError when it cannot be reached.
# A provider that caches also offers ``invalidate()``, which adapters call when a server has
# refused its token, before trying once more with a fresh one.
TokenProvider = Callable[[], str]


# ---------------------------------------------------------------------------------------------
# Probes for `mailbot mailboxes check` (adapters: mailbox_probes, send_probes)
# ---------------------------------------------------------------------------------------------


class ReceiveProbe(Protocol):
    """Where mail arrives. Each step returns a line saying what it proved, or raises."""

    where: str  # host:port, URL or path: named when it cannot be reached

    def login(self) -> str: ...

    def open_folder(self) -> str: ...

    def fetch(self) -> str: ...

    def close(self) -> None: ...


class SendProbe(Protocol):
    """Where the mailbox's mail leaves. ``check`` proves what it can without sending."""

    where: str
    needs_login: bool  # sends through the mailbox's own account, so a failed login fails it too

    def check(self) -> str: ...

    def send_test(self, to: str) -> str: ...
