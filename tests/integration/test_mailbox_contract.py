"""One contract suite for every Mailbox adapter: Maildir, Dovecot, Exchange-like and bare IMAP.

Whatever the server offers, a worker must see new mail, be woken by it, take it in batches,
remove it from the inbox only once told it is processed, survive its own restart and the
server's, and notice when UIDs are renumbered.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from tests.integration.mailbox_worlds import EwsWorld, GraphWorld, ImapWorld, MaildirWorld, message

WORLDS = ["maildir", "dovecot", "exchange_like", "minimal_imap", "graph", "ews"]
SERVER_WORLDS = WORLDS[1:]  # those with a server that can restart under the adapter


@pytest.fixture(params=WORLDS)
def world(request: pytest.FixtureRequest, tmp_path) -> Iterator[MaildirWorld | ImapWorld]:
    if request.param == "maildir":
        made: MaildirWorld | ImapWorld = MaildirWorld(tmp_path)
    elif request.param == "dovecot":
        made = ImapWorld(request.getfixturevalue("dovecot"))
    elif request.param == "exchange_like":
        made = ImapWorld(request.getfixturevalue("dovecot_exchange_like"))
    elif request.param == "graph":
        made = GraphWorld(tmp_path)
    elif request.param == "ews":
        made = EwsWorld(tmp_path)
    else:
        made = ImapWorld(request.getfixturevalue("dovecot_minimal"),
                         flags_instead_of_moving=True)
    yield made
    made.close()


def _in_background(function, *args) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run() -> None:
        started = time.monotonic()
        try:
            outcome["value"] = function(*args)
        except BaseException as error:  # handed to the test thread to re-raise
            outcome["error"] = error
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def _result(thread: threading.Thread, outcome: dict, timeout: float):
    thread.join(timeout)
    assert not thread.is_alive(), "the wait did not end"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"], outcome["seconds"]


def test_new_mail_is_seen_oldest_first(world):
    for n in range(3):
        world.deliver(message(n))
    fetched = world.open().fetch_new()
    assert [m.data for m in fetched] == [message(n) for n in range(3)]
    assert {m.mailbox for m in fetched} == {"test"}
    assert len({m.uid for m in fetched}) == 3
    assert len({m.uidvalidity for m in fetched}) == 1 and fetched[0].uidvalidity > 0


def test_an_empty_mailbox_gives_nothing(world):
    assert world.open().fetch_new() == []


def test_a_fetched_message_stays_in_the_inbox_until_it_is_marked(world):
    world.deliver(message(1))
    adapter = world.open()
    first = adapter.fetch_new()
    assert [m.data for m in adapter.fetch_new()] == [message(1)]  # offered again, not lost
    assert world.waiting() == [message(1)] and world.processed() == []
    adapter.mark_processed(first[0])
    assert world.waiting() == [] and world.processed() == [message(1)]


def test_marking_moves_only_that_message_and_is_idempotent(world):
    world.deliver(message(1))
    world.deliver(message(2))
    adapter = world.open()
    one, two = adapter.fetch_new()
    adapter.mark_processed(two)
    adapter.mark_processed(two)
    assert world.waiting() == [message(1)]
    assert world.processed() == [message(2)]
    assert [m.data for m in adapter.fetch_new()] == [message(1)]


def test_a_batch_is_marked_in_one_call_and_again_harmlessly(world):
    for n in range(5):
        world.deliver(message(n))
    adapter = world.open()
    batch = adapter.fetch_new()
    adapter.mark_all_processed(batch[1:4])
    adapter.mark_all_processed(batch[1:4])
    adapter.mark_all_processed([])
    assert world.waiting() == [message(0), message(4)]
    assert sorted(world.processed()) == sorted(message(n) for n in (1, 2, 3))


def test_a_backlog_is_taken_in_batches_of_the_limit(world):
    for n in range(25):
        world.deliver(message(n))
    adapter = world.open()
    seen = []
    for expected in (10, 10, 5, 0):
        batch = adapter.fetch_new(limit=10)
        assert len(batch) == expected
        for raw in batch:
            seen.append(raw.data)
            adapter.mark_processed(raw)
    assert seen == [message(n) for n in range(25)]


def test_a_restarted_worker_neither_repeats_processed_mail_nor_skips_the_rest(world):
    for n in range(3):
        world.deliver(message(n))
    before = world.open()
    fetched = before.fetch_new()
    before.mark_processed(fetched[0])
    before.mark_processed(fetched[1])
    before.close()  # the worker dies before finishing the third
    after = world.open()
    assert [m.data for m in after.fetch_new()] == [message(2)]


def test_a_wait_ends_as_soon_as_mail_arrives(world):
    adapter = world.open()
    assert adapter.fetch_new() == []
    thread, outcome = _in_background(adapter.wait_for_new, 30)
    time.sleep(0.5)  # let it settle into IDLE (or its polling)
    world.deliver(message(1))
    arrived, seconds = _result(thread, outcome, 40)
    assert arrived is True
    assert seconds < 10, "woken by the arrival, not by the timeout"
    assert [m.data for m in adapter.fetch_new()] == [message(1)]


def test_an_interrupt_ends_a_wait_at_once_and_every_later_one_and_loses_nothing(world):
    """A watcher waits until its next look, a minute or so: the worker's stop interrupts the
    wait (an IDLE by shutting its socket) rather than waiting it out."""
    adapter = world.open()
    assert adapter.fetch_new() == []
    thread, outcome = _in_background(adapter.wait_for_new, 60)
    time.sleep(1.5)  # past an IDLE's first look: settled into IDLE (or its polling)
    adapter.interrupt()
    arrived, seconds = _result(thread, outcome, 20)
    assert arrived is False and seconds < 5, "the interrupt did not end the wait"
    world.deliver(message(1))
    started = time.monotonic()
    assert adapter.wait_for_new(60) is False  # stopping: not another look
    assert time.monotonic() - started < 1
    adapter.close()
    assert [m.data for m in world.open().fetch_new()] == [message(1)]


def test_a_wait_with_nothing_arriving_times_out_with_false(world):
    adapter = world.open()
    adapter.fetch_new()
    started = time.monotonic()
    assert adapter.wait_for_new(1.0) is False
    assert time.monotonic() - started >= 0.9


def test_a_wait_returns_at_once_for_mail_that_came_before_it(world):
    adapter = world.open()
    adapter.fetch_new()
    world.deliver(message(1))  # after the fetch, before the wait: must not be slept through
    started = time.monotonic()
    assert adapter.wait_for_new(20) is True
    assert time.monotonic() - started < 5


def test_a_wait_returns_at_once_when_a_batch_left_mail_behind(world):
    for n in range(3):
        world.deliver(message(n))
    adapter = world.open()
    assert len(adapter.fetch_new(limit=2)) == 2
    started = time.monotonic()
    assert adapter.wait_for_new(20) is True
    assert time.monotonic() - started < 5


def test_mail_already_offered_does_not_wake_the_waiter_again(world):
    world.deliver(message(1))
    adapter = world.open()
    assert len(adapter.fetch_new()) == 1  # its processing failed; it stays unmarked
    assert adapter.wait_for_new(1.0) is False


def test_a_recreated_folder_is_rescanned_and_stale_uids_are_not_moved(world):
    folder = "Referrals"
    world.deliver(message(1), folder)
    world.deliver(message(2), folder)
    adapter = world.open(folder)
    old = adapter.fetch_new()
    adapter.mark_processed(old[0])
    world.recreate(folder)  # UIDVALIDITY changes; old UIDs now mean nothing
    world.deliver(message(2), folder)  # restored, say, by a migration
    world.deliver(message(3), folder)
    new = adapter.fetch_new()
    assert [m.data for m in new] == [message(2), message(3)]
    assert new[0].uidvalidity != old[1].uidvalidity
    adapter.mark_processed(old[1])  # stale: must leave the folder alone
    assert world.waiting(folder) == [message(2), message(3)]
    adapter.mark_processed(new[1])
    assert world.waiting(folder) == [message(2)]


@pytest.mark.parametrize("world", SERVER_WORLDS, indirect=True)
def test_a_server_restart_during_a_wait_is_survived_and_new_mail_seen(world):
    adapter = world.open()
    assert adapter.fetch_new() == []
    thread, outcome = _in_background(adapter.wait_for_new, 30)
    time.sleep(0.5)
    world.restart_server()
    time.sleep(0.5)
    world.deliver(message(1))
    arrived, seconds = _result(thread, outcome, 40)
    assert arrived is True and seconds < 20
    assert [m.data for m in adapter.fetch_new()] == [message(1)]


@pytest.mark.parametrize("world", SERVER_WORLDS, indirect=True)
def test_a_fetch_after_a_server_restart_reconnects_on_the_spot(world):
    world.deliver(message(1))
    adapter = world.open()
    first = adapter.fetch_new()
    world.restart_server()
    world.deliver(message(2))
    again = adapter.fetch_new()
    assert [m.data for m in again] == [message(1), message(2)]
    adapter.mark_processed(first[0])
    assert world.waiting() == [message(2)]
