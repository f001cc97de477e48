"""How an IMAP mailbox waits for new mail on its session: IDLE where the server pushes, else
polling every ``poll_interval``.

``ImapMailbox.wait_for_new`` decides which; this keeps the waiting's own state. A wait lasts
until the watcher's next look (a minute or so); the worker stopping ends it sooner, through
``Pauses`` and the adapter shutting the IDLE's socket. An IDLE outlives the wait that began it:
the next wait resumes it without a command, and the mailbox's next command ends it. An IDLE is
re-issued before the 29-minute limit of RFC 2177.
"""

from __future__ import annotations

import imaplib
import math
import time
from collections.abc import Callable

from imapclient import IMAPClient
from imapclient.imapclient import _parse_untagged_response as parse_untagged

from mailbot.adapters.imap_connection import Disconnected, forget_unread_responses
from mailbot.adapters.pauses import Pauses

IDLE_RENEW_SECONDS = 25 * 60  # RFC 2177: servers may drop an IDLE after 29 minutes
# Mail that lands in the instant IDLE starts can be announced before the server's "+ idling",
# and imapclient's idle() files that EXISTS where idle_check() never sees it. One SEARCH a
# second into each IDLE finds such mail, so it waits about a second, not a whole wait slice.
IDLE_FIRST_LOOK_SECONDS = 1.0
# An IDLE wait that ends this much before its time with nothing read was woken by a closed socket.
EARLY_WAKE_SECONDS = 0.05


class Waiting:
    """The IDLE running on one session (if any) and the schedules of its looks and polls.

    ``arrived`` is the mailbox's look: anything unprocessed beyond what it has offered.
    """

    def __init__(self, arrived: Callable[[IMAPClient], bool], poll_interval: float,
                 idle_renew: float, pauses: Pauses):
        self._arrived, self._pauses = arrived, pauses
        self._poll_interval, self._idle_renew = poll_interval, idle_renew
        self.idling = False  # an IDLE is running on the session, begun by an earlier wait
        self._renew_at = self._first_look_at = self._poll_at = 0.0

    def looked(self) -> None:
        """A look was just made: the next poll is a poll_interval from now."""
        self._poll_at = time.monotonic() + self._poll_interval

    def poll(self, client: IMAPClient, deadline: float) -> bool:
        """Look every poll_interval, on a schedule kept across waits."""
        while self._pauses.sleep_until(deadline, self._poll_at - time.monotonic()):
            self.looked()
            if self._arrived(client):
                return True
        return False

    def start_idle(self, client: IMAPClient) -> bool:
        """Begin an IDLE; True if it began by announcing mail (then it is ended again)."""
        forget_unread_responses(client)
        client.idle()
        self.idling = True
        now = time.monotonic()
        self._renew_at, self._first_look_at = now + self._idle_renew, now + IDLE_FIRST_LOOK_SECONDS
        if _mentions(_already_read(client), b"EXISTS"):
            self.end_idle(client)
            return True
        return False

    def end_idle(self, client: IMAPClient) -> None:
        if self.idling:
            self.idling = False
            client.idle_done()  # what it reports is found again by the command that follows

    def idle(self, client: IMAPClient, deadline: float) -> bool:
        """Wait in the running IDLE until ``deadline``; on time out it keeps running. On an
        interrupt (its socket shut to wake it) it returns False: the session is closed next."""
        while not self._pauses.interrupted:
            until = min(deadline, self._renew_at, self._first_look_at)
            responses = client.idle_check(timeout=max(0.0, until - time.monotonic()))
            if self._pauses.interrupted:
                break
            if _mentions(responses, b"BYE"):
                raise Disconnected("server said BYE during IDLE")
            if _mentions(responses, b"EXISTS"):
                self.end_idle(client)
                return True
            now = time.monotonic()
            early = not responses and now < until - EARLY_WAKE_SECONDS
            if now >= deadline and not early:
                return False  # still idling: the next wait resumes without a command
            if now >= self._renew_at or now >= self._first_look_at or early:
                # Renewal, the first look, or an early empty wake-up, which is how a closed
                # socket shows itself: DONE, a SEARCH and IDLE again raise if it is gone.
                self._first_look_at = math.inf
                self.idling = False
                if _mentions(client.idle_done()[1], b"EXISTS") or self._arrived(client):
                    return True
                if self.start_idle(client):
                    return True
                self._first_look_at = math.inf
        return False


def _already_read(client: IMAPClient) -> list[tuple]:
    """Responses that came in the same packet as "+ idling" and wait in imaplib's read buffer,
    where idle_check, which polls the socket, would not see them until more data came: mail
    that landed between a look and the IDLE after it would otherwise wait for the next look."""
    sock = client.socket()
    sock.setblocking(False)
    lines = []
    try:
        while True:
            try:
                lines.append(parse_untagged(client._imap._get_line()))
            except (TimeoutError, OSError):
                break  # nothing buffered: the read would block
            except imaplib.IMAP4.abort as error:
                if "EOF" in str(error):
                    break  # an empty non-blocking read looks like EOF to imaplib
                raise
    finally:
        sock.setblocking(True)
        client._set_read_timeout()
    return lines


def _mentions(responses: list[tuple], word: bytes) -> bool:
    return any(isinstance(item, tuple) and word in item[:2] for item in responses)

