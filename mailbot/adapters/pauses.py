"""The pauses of a mailbox's waits, which the worker cuts short when it stops.

A mailbox that polls (Maildir, Graph, EWS, IMAP without IDLE) sleeps between its looks; a
wait lasts until the watcher's next look, a minute or so, so the worker could not stop
promptly if only time ended a pause. ``interrupt`` (from the worker's main thread) ends the
pause under way at once, and every pause after it. An IMAP IDLE is ended by its adapter.
"""

from __future__ import annotations

import threading
import time


class Pauses:
    def __init__(self) -> None:
        self._interrupted = threading.Event()

    def interrupt(self) -> None:
        self._interrupted.set()

    @property
    def interrupted(self) -> bool:
        return self._interrupted.is_set()

    def sleep(self, seconds: float) -> bool:
        """Sleep ``seconds``; False if interrupted (before or meanwhile)."""
        return not self._interrupted.wait(max(0.0, seconds))

    def sleep_until(self, deadline: float, seconds: float) -> bool:
        """Sleep ``seconds`` unless that passes the deadline; False (after sleeping until the
        deadline) if it would, or if interrupted."""
        remaining = deadline - time.monotonic()
        if seconds >= remaining:
            self.sleep(remaining)
            return False
        return self.sleep(seconds)
