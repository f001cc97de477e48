"""The IMAP mailbox: a partnership's shared mailbox on Dovecot, Exchange Online or the like.

A backlog is searched once and taken batch by batch, the next batch asked for ahead
(imap_batches). Processed mail is moved to the processed folder (imap_marking); during a
backlog, moves run on a second session (imap_mover) while the next batch is taken, and where
QRESYNC is offered each session hears of a moved batch as one VANISHED range. New mail is
awaited with IDLE or by polling (imap_waiting); the next fetch ends an IDLE a wait left running.
A dropped connection is re-opened with jittered exponential backoff; failures surface as
TransientError, refused logins as PermanentError.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import time
from collections.abc import Callable, Sequence

from imapclient import IMAPClient

from mailbot.adapters.batch_budget import MAX_BATCH_BYTES
from mailbot.adapters.connection_security import check_security
from mailbot.adapters.imap_batches import Backlog, BatchFetch
from mailbot.adapters.imap_connection import (
    COMMAND_ERRORS,
    CONNECTION_ERRORS,
    Backoff,
    ImapSettings,
    ask_for_expunged_ranges,
    forget_unread_responses,
    log_out,
    open_session,
    shut,
    shut_socket,
)
from mailbot.adapters.imap_marking import ProcessedFolder, current_uids
from mailbot.adapters.imap_mover import Mover
from mailbot.adapters.imap_waiting import IDLE_RENEW_SECONDS, Waiting
from mailbot.adapters.pauses import Pauses
from mailbot.domain.errors import ConfigError, PermanentError, TransientError
from mailbot.services.ports import RawMessage

log = logging.getLogger(__name__)


class ImapMailbox:
    """One IMAP folder watched for new mail; see the module docstring for the semantics."""

    def __init__(
        self, name: str, host: str, port: int, security: str, username: str,
        password: str | None = None, token_provider: Callable[[], str] | None = None,
        folder: str = "INBOX", processed_folder: str = "mailbot/processed", timeout: float = 30,
        ssl_context: ssl.SSLContext | None = None, *, poll_interval: float = 30.0,
        idle_renew: float = IDLE_RENEW_SECONDS, max_batch_bytes: int = MAX_BATCH_BYTES,
        use_idle: bool = True,
    ):
        check_security(host, security, f"mailbox.{name}.security")
        if password is None and token_provider is None:
            raise ConfigError("config", f"mailbox.{name}.password_env", "no password or token",
                              "set password_env to a variable holding the password")
        self.name, self.folder, self.processed_folder = name, folder, processed_folder
        self._settings = ImapSettings(host, port, security, username, password, token_provider,
                                      timeout, ssl_context)
        self.use_idle = use_idle  # config's idle = false: poll even where the server offers IDLE
        self._pauses = Pauses()
        self._waiting = Waiting(self._arrived, poll_interval, idle_renew, self._pauses)
        self._in_wait = False  # a wait is under way: interrupt may shut its session
        self._look_first = True  # look for mail before waiting (after a fetch that left some)
        self._client: IMAPClient | None = None
        self._backoff = Backoff()
        self._processed = ProcessedFolder(processed_folder)
        self._uidvalidity = 0
        self._offered_up_to = 0  # highest UID fetch_new has looked at, under _uidvalidity
        self._backlog = Backlog(max_batch_bytes)  # what one SEARCH found, taken batch by batch
        self._mover: Mover | None = None  # a second session, only while a backlog is taken
        self.batches_moved_aside = 0  # batches handed to the mover, for tests

    # -- the port ----------------------------------------------------------------------------

    def fetch_new(self, limit: int = 200) -> list[RawMessage]:
        return self._run(lambda client: self._fetch(client, limit))

    def mark_processed(self, message: RawMessage) -> None:
        self.mark_all_processed([message])

    def mark_all_processed(self, messages: Sequence[RawMessage]) -> None:
        if strangers := {message.mailbox for message in messages} - {self.name}:
            raise PermanentError(f"mailbox {self.name} cannot mark a message of {min(strangers)}")
        if messages:
            self._run(lambda client: self._mark(client, messages))

    def wait_for_new(self, timeout: float) -> bool:
        self._forget_ahead()
        self._finish_moves()  # the backlog is taken: back to one session
        self._backlog.forget()
        self._in_wait = True
        try:
            return self._wait(time.monotonic() + timeout)
        finally:
            self._in_wait = False

    def interrupt(self) -> None:
        """As the worker stops: ends a wait under way at once (an IDLE by shutting its socket;
        the session is closed next anyway), and any later one. A fetch or marking finishes."""
        self._pauses.interrupt()
        client = self._client
        if self._in_wait and client is not None:
            shut_socket(client)

    def _wait(self, deadline: float) -> bool:
        while not self._pauses.interrupted:
            try:
                client = self._connected()
                if not self._waiting.idling:
                    if self._look_first:
                        arrived = self._arrived(client)
                        self._backoff.succeeded()
                        self._look_first = False
                        self._waiting.looked()
                        if arrived:
                            return True
                    if not self._pushes(client):
                        return self._waiting.poll(client, deadline)
                    if self._waiting.start_idle(client):
                        return True
                return self._waiting.idle(client, deadline)
            except TransientError as error:
                log.info("mailbox %s: %s", self.name, error)
                if not self._pauses.sleep_until(deadline, self._backoff.wait()):
                    return False
            except CONNECTION_ERRORS + COMMAND_ERRORS as error:
                if self._pauses.interrupted:
                    break  # its socket was shut to end the wait: not a lost connection
                self._drop(error)
        return False

    def close(self) -> None:
        self._forget_ahead()
        self._finish_moves()
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(*CONNECTION_ERRORS, *COMMAND_ERRORS):
                self._waiting.end_idle(client)
            log_out(client)

    # -- sessions ----------------------------------------------------------------------------

    def _run(self, operation: Callable[[IMAPClient], object]):
        """Run ``operation``, re-opening the connection once if it turns out to be dead."""
        for attempt in (1, 2):
            client = self._connected()
            try:
                self._waiting.end_idle(client)
                result = operation(client)
            except CONNECTION_ERRORS as error:
                self._drop(error)
                if attempt == 2:
                    raise TransientError(f"mailbox {self.name}: connection lost") from error
                continue
            except COMMAND_ERRORS as error:
                raise TransientError(f"mailbox {self.name}: server answered {error}") from error
            self._backoff.succeeded()
            forget_unread_responses(client)
            return result
        raise AssertionError("unreachable")

    def _connected(self) -> IMAPClient:
        if self._client is not None:
            return self._client
        if (wait := self._backoff.wait()) > 0:
            raise TransientError(f"mailbox {self.name}: reconnecting in {wait:.1f}s")
        try:
            client = open_session(self._settings)
        except (TransientError, PermanentError):
            self._backoff.failed()  # also after a refused login: retries could lock the account
            raise
        try:
            self._prepare(client)
        except CONNECTION_ERRORS + COMMAND_ERRORS as error:
            shut(client)
            self._backoff.failed()
            raise TransientError(f"mailbox {self.name}: cannot open {self.folder}") from error
        self._client = client
        self._look_first = True  # mail may have come while nobody was connected
        return client

    def _prepare(self, client: IMAPClient) -> None:
        self._processed.prepare(client)
        ask_for_expunged_ranges(client)
        uidvalidity = int(client.select_folder(self.folder)[b"UIDVALIDITY"])
        if uidvalidity != self._uidvalidity:
            if self._uidvalidity:
                log.warning("mailbox %s: UIDVALIDITY of %s changed from %d to %d; rescanning",
                            self.name, self.folder, self._uidvalidity, uidvalidity)
            self._uidvalidity, self._offered_up_to = uidvalidity, 0
            self._backlog.forget()

    def _drop(self, error: BaseException) -> None:
        log.warning("mailbox %s: connection lost (%s: %s)", self.name,
                    type(error).__name__, error)
        self._backlog.forget()
        client, self._client = self._client, None
        self._waiting.idling = False
        if client is not None:
            shut(client)
        self._backoff.failed()

    def _finish_moves(self) -> None:
        """End the backlog's second session and move here whatever it did not."""
        mover, self._mover = self._mover, None
        left = mover.finish(self._uidvalidity) if mover is not None else []
        if not left:
            return
        try:
            self._run(lambda client: self._processed.move_or_recreate(client, left))
        except (TransientError, PermanentError) as error:
            # Still stored, still in the folder: offered again (a replay) and moved then.
            log.warning("mailbox %s: %d processed messages left in %s (%s)", self.name,
                        len(left), self.folder, error)
            self._offered_up_to = 0
            self._backlog.forget()

    # -- mail --------------------------------------------------------------------------------

    def _fetch(self, client: IMAPClient, limit: int) -> list[RawMessage]:
        while True:
            searched, batch = self._take_batch(client, limit)
            if batch is None:
                self._look_first = not self._pushes(client)
                return []
            self._offered_up_to = max(self._offered_up_to, batch.uids[-1])
            bodies = batch.bodies()
            messages = [RawMessage(self.name, self._uidvalidity, str(uid), bodies[uid])
                        for uid in batch.uids if bodies.get(uid) is not None]
            if messages or searched:
                self._backlog.ask_ahead(client, limit)  # read by the next fetch
                # Mail left beyond this batch is found by the next wait at once; mail that lands
                # from now on is pushed during the IDLE or found by its first look (or the poll).
                self._look_first = self._backlog.ahead is not None or not self._pushes(client)
                return messages
            self._backlog.forget()  # the whole batch had gone meanwhile: the list is stale

    def _take_batch(self, client: IMAPClient, limit: int) -> tuple[bool, BatchFetch | None]:
        """The next batch: the one asked for ahead, or the backlog's next (searched for first,
        and then True, when none is left); None when nothing is waiting."""
        ahead = self._backlog.take_ahead(limit)
        if ahead is not None:
            return False, ahead
        searched = not self._backlog.uids
        if searched:
            client.noop()  # SEARCH alone does not make Dovecot look for newly delivered mail
            being_moved = self._mover.in_flight() if self._mover else frozenset()
            self._backlog.uids = [uid for uid in sorted(client.search(self._processed.unprocessed()))
                                  if uid not in being_moved]
        uids = self._backlog.next_uids(client, limit)
        if not uids:
            return searched, None
        if self._backlog.uids and self._mover is None and self._processed.mode != "flag":
            # A backlog: move each stored batch on a second session while taking the next.
            self._mover = Mover(self.name, self._settings, self.folder,
                                 self._processed.move_or_recreate)
        # One FETCH for the whole batch: a round trip per message would dominate a backlog.
        return searched, BatchFetch(client, uids)

    def _forget_ahead(self) -> None:
        """Reads and drops the answer to a batch asked for ahead: its mail stays in the folder
        for the next look. Before anything else is said on the session."""
        try:
            self._backlog.drop_ahead()
        except CONNECTION_ERRORS + COMMAND_ERRORS as error:
            self._drop(error)

    def _mark(self, client: IMAPClient, messages: Sequence[RawMessage]) -> None:
        uids = current_uids(self.name, self._uidvalidity, messages)
        if not uids:
            return
        ahead = self._backlog.ahead
        if ahead is not None and (self._processed.mode == "flag" or self._mover is None
                                  or self._mover.failed):
            ahead.bodies()  # read (and kept) before the session is given another command
        if self._processed.mode == "flag":
            self._processed.flag(client, uids)
        elif self._mover is not None and not self._mover.failed:
            left = len(self._backlog.uids) + (len(ahead.uids) if ahead is not None else 0)
            self._mover.move(self._uidvalidity, uids, left)
            self.batches_moved_aside += 1
        else:
            self._processed.move_or_recreate(client, uids)

    # -- waiting -----------------------------------------------------------------------------

    def _arrived(self, client: IMAPClient) -> bool:
        """Anything unprocessed beyond what fetch_new has looked at (``n:*`` matches the top)."""
        criteria = ["UID", f"{self._offered_up_to + 1}:*", *self._processed.unprocessed()]
        client.noop()
        return any(uid > self._offered_up_to for uid in client.search(criteria))

    def _pushes(self, client: IMAPClient) -> bool:
        return self.use_idle and client.has_capability("IDLE")

