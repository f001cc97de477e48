"""One IMAP session for the IMAP mailbox: connect, secure, log in, name folders, back off.

``imap_mailbox`` holds the mailbox semantics; this module holds what any IMAP session needs and
translates imapclient, imaplib and socket failures into mailbot's transient/permanent errors.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from imapclient import IMAPClient
from imapclient.exceptions import CapabilityError, LoginError

from mailbot.adapters.bearer_tokens import forget_token, token_refused
from mailbot.domain.errors import AuthenticationFailed, PermanentError, TransientError

log = logging.getLogger(__name__)


class Disconnected(Exception):
    """The server said BYE or the connection went quiet in a way only a dead one does."""


# imaplib's ``abort`` derives from its ``error``: always test for these first.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (imaplib.IMAP4.abort, OSError, EOFError,
                                                       Disconnected)
COMMAND_ERRORS = (imaplib.IMAP4.error,)


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    security: str  # none | starttls | tls, already checked
    username: str
    password: str | None
    token_provider: Callable[[], str] | None
    timeout: float
    ssl_context: ssl.SSLContext | None


# New sessions to one server from this process, at most this many a second: when a server
# restarts, every mailbox on it reconnects, and 150 logins in the same instant are what makes
# a restarted server fall over again. Paced, they take a few seconds.
LOGINS_PER_SECOND = 25.0


class LoginPace:
    """Hands out moments to connect to each server, ``1 / per_second`` apart."""

    def __init__(self, per_second: float):
        self.gap = 1.0 / per_second
        self._lock = threading.Lock()
        self._next: dict[tuple[str, int], float] = {}

    def wait_turn(self, server: tuple[str, int]) -> None:
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next.get(server, 0.0))
            self._next[server] = at + self.gap
        if at > now:
            time.sleep(at - now)


_pace = LoginPace(LOGINS_PER_SECOND)


def open_session(settings: ImapSettings) -> IMAPClient:
    """A logged-in client; raises PermanentError for refused logins, TransientError otherwise."""
    _pace.wait_turn((settings.host, settings.port))
    # Loading the system's CA certificates takes tens of milliseconds: only when TLS is used.
    context = None
    if settings.security != "none":
        context = settings.ssl_context or ssl.create_default_context()
    try:
        client = IMAPClient(settings.host, settings.port, ssl=settings.security == "tls",
                            ssl_context=context, timeout=settings.timeout)
    except CONNECTION_ERRORS as error:
        raise TransientError(f"cannot connect to {settings.host}:{settings.port}") from error
    client._imap.debug = ProtocolLogLevel()
    try:
        if settings.security == "starttls":
            client.starttls(context)
        _login(client, settings)
        return client
    except BaseException:
        shut(client)
        raise


class ProtocolLogLevel:
    """imaplib's debug level for a session: the most detail while imapclient's protocol logger
    shows DEBUG, none otherwise, looked up at each use.

    imapclient sets the level to 5 so that its logger hears every line; imaplib then formats each
    line read, and the repr of each message it holds, before that logger throws them away. That
    was a third of this process's time fetching a backlog of bare referrals (issue 19). imaplib
    only ever asks ``debug >= n``.
    """

    _logger = logging.getLogger("imapclient.imaplib")

    def __ge__(self, level: int) -> bool:
        return self._logger.isEnabledFor(logging.DEBUG)


def ask_for_expunged_ranges(client: IMAPClient) -> None:
    """Before SELECT: where the server offers QRESYNC (RFC 7162), have messages that leave the
    folder reported as one VANISHED range instead of one EXPUNGE line each.

    Every session with the folder open hears of every move. Parsing a backlog batch's 500
    EXPUNGE lines took Dovecot and this process 7 ms a session, about what fetching half the
    batch again costs; one range takes a fraction of a millisecond. Exchange does not offer
    QRESYNC and keeps the EXPUNGE lines; nothing here reads either.
    """
    if not client.has_capability("QRESYNC"):
        return
    try:
        client.enable("QRESYNC")
    except COMMAND_ERRORS as error:  # only slower without it
        log.info("IMAP server offers QRESYNC but refused to enable it: %s", error)


def _login(client: IMAPClient, settings: ImapSettings) -> None:
    where = f"{settings.username} at {settings.host}:{settings.port}"
    try:
        if settings.token_provider is not None:
            _oauth2_login(client, settings, where)
        else:
            client.login(settings.username, settings.password or "")
    except CapabilityError as error:
        # STARTTLS missing: falling back to plain text would leak the password.
        raise PermanentError(f"IMAP server for {where} does not offer {error}") from error
    except LoginError as error:
        # imapclient turns a dropped connection during login into LoginError too.
        if isinstance(error.__context__, CONNECTION_ERRORS):
            raise TransientError(f"IMAP connection to {where} dropped at login") from error
        # RFC 5530: UNAVAILABLE is a passing outage of the authentication backend.
        if "UNAVAILABLE" in str(error).upper():
            raise TransientError(f"IMAP login for {where} unavailable: {error}") from error
        raise AuthenticationFailed(f"IMAP login refused for {where}: {error}",
                                   "Check the username, and the password in the environment"
                                   " variable named by password_env") from error
    except CONNECTION_ERRORS as error:
        raise TransientError(f"IMAP connection to {where} failed during login") from error
    except COMMAND_ERRORS as error:
        raise TransientError(f"IMAP server for {where} answered: {error}") from error


def _oauth2_login(client: IMAPClient, settings: ImapSettings, where: str) -> None:
    """XOAUTH2; a refused token is replaced once by a fresh one before the refusal counts.

    IMAP allows another AUTHENTICATE on the same connection after a NO, so the retry costs one
    round trip. Connection trouble and UNAVAILABLE are left to _login to sort.
    """
    provider = settings.token_provider
    token = provider()
    try:
        client.oauth2_login(settings.username, token)
        return
    except LoginError as error:
        if not _refused(error):
            raise
        forget_token(provider)
        log.info("IMAP server refused the OAuth2 token for %s; trying a fresh one", where)
    token = provider()
    try:
        client.oauth2_login(settings.username, token)
    except LoginError as error:
        if not _refused(error):
            raise
        raise token_refused("IMAP", where, token, "IMAP.AccessAsApp", str(error)) from error


def _refused(error: LoginError) -> bool:
    """A NO to the credentials, as against a dropped connection or a passing outage."""
    return (not isinstance(error.__context__, CONNECTION_ERRORS)
            and "UNAVAILABLE" not in str(error).upper())


def shut(client: IMAPClient) -> None:
    """Close without ceremony; the connection may already be gone."""
    # Nothing useful can be done with a failed close.
    with contextlib.suppress(Exception):
        client.shutdown()


def shut_socket(client: IMAPClient) -> None:
    """From another thread: shuts the session's socket, which wakes a read blocked on it (an
    IDLE). Nothing more can be said on the session; only closing it is left."""
    with contextlib.suppress(OSError):
        client.socket().shutdown(socket.SHUT_RDWR)


def log_out(client: IMAPClient) -> None:
    """Say goodbye politely, or just close when the connection is already gone."""
    try:
        client.logout()
    except Exception:  # a failed goodbye changes nothing
        shut(client)


def server_folder_name(client: IMAPClient, path: str) -> str:
    """Translate a configured ``a/b`` path into the server's hierarchy and personal namespace.

    Dovecot's Maildir++ uses ``.`` between levels, Exchange uses ``/``; some servers put every
    personal folder under a prefix such as ``INBOX.``.
    """
    prefix, delimiter = "", None
    if client.has_capability("NAMESPACE"):
        personal = client.namespace().personal
        if personal:
            prefix, delimiter = personal[0]
    if delimiter is None:
        listed = client.list_folders("", "")
        delimiter = listed[0][1] if listed else None
    if isinstance(delimiter, bytes):
        delimiter = delimiter.decode()
    name = path.replace("/", delimiter) if delimiter else path
    if prefix and path.upper() != "INBOX" and not name.startswith(prefix):
        name = prefix + name
    return name


def ensure_folder(client: IMAPClient, name: str) -> None:
    """Create ``name`` if missing; losing a creation race to another worker is fine."""
    if client.folder_exists(name):
        return
    try:
        client.create_folder(name)
    except COMMAND_ERRORS:
        if not client.folder_exists(name):
            raise
    try:
        client.subscribe_folder(name)  # so that people see it in their mail clients
    except COMMAND_ERRORS:
        log.info("could not subscribe to IMAP folder %s", name)


class Backoff:
    """Exponential reconnect delays with full jitter: the first retry is immediate (a dropped
    connection is usually just re-opened), then each comes at a random moment up to base,
    2*base, 4*base, ... cap after the failure.

    When a server restarts, every mailbox on it loses its connection in the same instant; with
    delays of a fixed length (or jittered by a fifth) they would all come back in waves, 150
    logins at once. Drawn from the whole window, they arrive spread out (AWS Architecture
    Blog, "Exponential Backoff And Jitter", 2015).
    """

    def __init__(self, base: float = 0.5, cap: float = 60.0):
        self.base, self.cap = base, cap
        self.failures = 0
        self.retry_at = 0.0

    def failed(self) -> None:
        self.failures += 1
        window = 0.0 if self.failures == 1 else min(self.cap, self.base * 2 ** (self.failures - 2))
        self.retry_at = time.monotonic() + random.uniform(0.0, window)

    def succeeded(self) -> None:
        self.failures, self.retry_at = 0, 0.0

    def wait(self) -> float:
        """Seconds until the next attempt is allowed."""
        return max(0.0, self.retry_at - time.monotonic())


def forget_unread_responses(client: IMAPClient) -> None:
    """imaplib keeps every untagged response no command asked for (an EXPUNGE, an EXISTS and a
    COPYUID for each message moved) until the session ends; a worker that keeps one session
    for weeks would grow without bound. Call this once an operation has read what it needs."""
    client._imap.untagged_responses.clear()
