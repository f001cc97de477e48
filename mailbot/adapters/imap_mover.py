"""Moving a backlog's stored batches on a second IMAP session while the next batch is taken.

A backlog leaves the server as fetch, store, move, batch after batch. On Dovecot the MOVE of a
batch costs the server about as much time as fetching it; a second session is a second server
process, so while it moves one stored batch, the mailbox's own session fetches the next and
this process stores it. The session is opened for a backlog and closed when it is taken, so a
quiet mailbox holds one connection, not two.

Only stored batches are handed over, so nothing leaves the watched folder before it is
stored. Until its move has finished, a handed-over message is still in the folder but is not
offered again (``in_flight``). Any failure ends this session: what it did not move is offered
again or, once the backlog is taken, handed back (``finish``) for the mailbox to move on its
own session; the store recognises whatever is offered twice. If the worker dies first, the
messages stay in the folder and the next pass does the same.

A backlog is moved in parts that shrink with it, not a batch at a time: a stored batch waits
until the batches waiting make up a quarter (``MOVE_SHARE``) of what the backlog still holds in
the folder, and the last batch moves whatever waits. On Dovecot's Maildir each MOVE that follows
another first reads the folder's whole cur/ directory again (the MOVE before changed it), so
its fixed part grows with the messages still there: 10,000 messages moved 500 at a time made
Dovecot read some 105,000 directory entries (issue 19). In parts of a quarter it makes about
half as many moves, most of them once the folder is small.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from imapclient import IMAPClient

from mailbot.adapters.imap_connection import (
    ImapSettings,
    ask_for_expunged_ranges,
    forget_unread_responses,
    log_out,
    open_session,
    shut,
)

log = logging.getLogger(__name__)

MoveUids = Callable[[IMAPClient, list[int]], None]

MOVE_SHARE = 0.25  # of the backlog left in the folder: waiting batches are moved from there on


class Mover:
    """A worker thread with its own session that moves UIDs handed to it, in order. Batches
    waiting for their part, or handed over while a move is running, are moved together, in one
    command: Dovecot's MOVE costs a fixed part per command besides its part per message, and
    each move makes the mailbox's own session take note of it before its next FETCH."""

    def __init__(self, name: str, settings: ImapSettings, folder: str, move_uids: MoveUids):
        self.name, self._settings, self._folder = name, settings, folder
        self._move_uids = move_uids
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"mover-{name}")
        self._lock = threading.Lock()
        self._waiting: list[tuple[int, list[int]]] = []  # (uidvalidity, uids) handed over
        self._moving: list[tuple[int, list[int]]] = []  # taken by the worker, being moved
        self._tasks: list[Future[None]] = []
        self._unmoved: list[tuple[int, list[int]]] = []  # (uidvalidity, uids), from the worker
        self.failed = False  # set on the worker thread; once set, the mailbox moves itself
        self._client: IMAPClient | None = None  # touched only on the worker thread
        self._uidvalidity = 0

    def move(self, uidvalidity: int, uids: list[int], left: int = 0) -> None:
        """Hand over stored messages; returns at once. ``left``: how many messages of the
        backlog are still in the folder beyond those handed over (not taken yet, or being
        fetched). The move starts once the messages waiting make up ``MOVE_SHARE`` of those and
        themselves (always, when none is left); until then they wait, still ``in_flight``."""
        with self._lock:
            self._waiting.append((uidvalidity, sorted(uids)))
            waiting = sum(len(handed) for _, handed in self._waiting)
        if waiting < MOVE_SHARE * (waiting + left):
            return
        self._start_moving()

    def _start_moving(self) -> None:
        self._tasks = [task for task in self._tasks if not task.done()]
        self._tasks.append(self._worker.submit(self._move_waiting))

    def in_flight(self) -> frozenset[int]:
        """UIDs handed over whose move has not finished yet."""
        with self._lock:
            return frozenset(uid for _, uids in self._waiting + self._moving for uid in uids)

    def finish(self, uidvalidity: int) -> list[int]:
        """Wait for the moves handed over, log out, end the thread, and hand back the UIDs not
        moved that are still of ``uidvalidity``, in order. A move stuck past the connection
        timeout is left to end by itself and handed back too: moving a message twice is
        harmless."""
        self._start_moving()  # what still waits for its part
        _, stuck = wait(self._tasks, timeout=self._settings.timeout)
        self._tasks = []
        with self._lock:
            unmoved = list(self._unmoved)
            if stuck:
                log.warning("mailbox %s: a move on the second session is stuck; leaving it",
                            self.name)
                unmoved += self._waiting + self._moving
                self._waiting, self._moving = [], []
        self._worker.submit(self._close)
        self._worker.shutdown(wait=not stuck, cancel_futures=bool(stuck))
        return sorted(uid for valid, uids in unmoved if valid == uidvalidity for uid in uids)

    # -- on the worker thread ---------------------------------------------------------------

    def _move_waiting(self) -> None:
        """Move everything handed over so far (nothing, when an earlier call took it)."""
        with self._lock:
            self._moving, self._waiting = _joined(self._waiting), []
        for uidvalidity, uids in self._moving:
            self._move(uidvalidity, uids)
        with self._lock:
            self._moving = []

    def _move(self, uidvalidity: int, uids: list[int]) -> None:
        if self.failed:
            self._unmoved.append((uidvalidity, uids))
            return
        try:
            client = self._session()
            if self._uidvalidity != uidvalidity:
                return  # the UIDs may name other messages now; the rescan offers these again
            self._move_uids(client, uids)
            forget_unread_responses(client)
        except Exception as error:  # noqa: BLE001 - a failure here costs only the second session
            log.warning("mailbox %s: second session failed (%s: %s); moving on the first",
                        self.name, type(error).__name__, error)
            self.failed = True
            self._unmoved.append((uidvalidity, uids))
            self._close(politely=False)

    def _session(self) -> IMAPClient:
        if self._client is None:
            client = open_session(self._settings)
            try:
                ask_for_expunged_ranges(client)
                selected = client.select_folder(self._folder)
            except BaseException:
                shut(client)
                raise
            self._client, self._uidvalidity = client, int(selected[b"UIDVALIDITY"])
        return self._client

    def _close(self, politely: bool = True) -> None:
        client, self._client = self._client, None
        if client is not None:
            (log_out if politely else shut)(client)


def _joined(handed: list[tuple[int, list[int]]]) -> list[tuple[int, list[int]]]:
    """Batches of the same UIDVALIDITY as one sorted list each, in the order handed over."""
    joined: dict[int, list[int]] = {}
    for uidvalidity, uids in handed:
        joined.setdefault(uidvalidity, []).extend(uids)
    return [(uidvalidity, sorted(uids)) for uidvalidity, uids in joined.items()]
