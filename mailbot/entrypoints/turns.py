"""Fair turns at acting on mail, and spread wake-up times, for the worker's watchers.

A watcher per mailbox keeps the mailboxes independent (one failing never stalls another), but
left alone each would act on its whole backlog at once: a mailbox receiving thousands would
hold the database, the CPU and the send queue while a referral elsewhere waited. Here the
watchers queue for a turn, first come first served, and act on a slice of their mail per
turn; a watcher with mail left queues again behind whoever asked meanwhile. At most
``at_once`` watchers act together, which also bounds the database connections they hold.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class Turns:
    """A first-come-first-served semaphore: turns are handed over in the order asked for."""

    def __init__(self, at_once: int):
        if at_once < 1:
            raise ValueError("at least one turn at a time")
        self._lock = threading.Lock()
        self._free = at_once
        self._queue: deque[threading.Event] = deque()

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._lock:
            if self._free and not self._queue:
                self._free -= 1
                handed = None
            else:
                handed = threading.Event()
                self._queue.append(handed)
        if handed is not None:
            handed.wait()  # set by the turn that ends before ours: it passes its place to us
        try:
            yield
        finally:
            self._hand_on()

    def _hand_on(self) -> None:
        with self._lock:
            if self._queue:
                self._queue.popleft().set()
            else:
                self._free += 1


def spread(seconds: float, rng: random.Random | None = None) -> float:
    """``seconds`` give or take a fifth, at random: watchers started together (or woken by the
    same server restart) drift apart instead of waking in the same instant for ever."""
    return seconds * (rng or random).uniform(0.8, 1.2)
