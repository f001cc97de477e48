"""Sleeping within a deadline, for the mailboxes that wait for mail by polling (IMAP without
IDLE, EWS): a wait never outlasts the slice the worker gave it, so the worker stops promptly.
"""

from __future__ import annotations

import time


def sleep_until(deadline: float, seconds: float) -> bool:
    """Sleep ``seconds`` unless that passes the deadline; False (after sleeping) if it would."""
    remaining = deadline - time.monotonic()
    if seconds >= remaining:
        time.sleep(max(0.0, remaining))
        return False
    time.sleep(seconds)
    return True
