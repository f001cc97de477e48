"""The worker's turns are handed out first come, first served, never more at once than allowed;
wait lengths are spread, so watchers started together drift apart; and logins to one server
are paced, so a restarted server is not met by every mailbox in the same instant."""

from __future__ import annotations

import random
import threading
import time

from mailbot.adapters.imap_connection import LoginPace
from mailbot.entrypoints.turns import Turns, spread


def test_turns_go_in_the_order_asked_and_never_more_at_once_than_allowed():
    turns = Turns(at_once=1)
    order, inside, most_inside = [], [0], [0]
    lock = threading.Lock()
    release_first = threading.Event()
    queued = []

    def take(name: str, hold: threading.Event | None = None) -> None:
        with turns.turn():
            with lock:
                order.append(name)
                inside[0] += 1
                most_inside[0] = max(most_inside[0], inside[0])
            if hold is not None:
                hold.wait(10)
            with lock:
                inside[0] -= 1

    first = threading.Thread(target=take, args=("first", release_first))
    first.start()
    while not order:
        threading.Event().wait(0.01)
    for name in ("second", "third", "fourth"):
        thread = threading.Thread(target=take, args=(name,))
        thread.start()
        queued.append(thread)
        while len(turns._queue) < len(queued):  # queued in this order before the next asks
            threading.Event().wait(0.01)
    release_first.set()
    for thread in [first, *queued]:
        thread.join(10)
    assert order == ["first", "second", "third", "fourth"]
    assert most_inside[0] == 1


def test_waits_are_spread_around_their_length():
    rng = random.Random(7)
    waits = [spread(5.0, rng) for _ in range(1000)]
    assert 4.0 <= min(waits) < 4.3 and 5.7 < max(waits) <= 6.0
    assert len(set(waits)) == len(waits)  # not two in the same instant


def test_logins_to_one_server_are_paced_and_other_servers_are_not_held_up():
    pace = LoginPace(per_second=50)
    started = time.monotonic()
    for _ in range(6):
        pace.wait_turn(("127.0.0.1", 143))
    paced = time.monotonic() - started
    pace.wait_turn(("127.0.0.1", 993))  # another server: no wait
    assert paced >= 5 / 50 and time.monotonic() - started - paced < 0.02
