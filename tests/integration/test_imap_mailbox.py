"""The IMAP mailbox against Dovecot: what the contract suite cannot say for every adapter.

Connection security, logins (password and XOAUTH2), refusals, an absent server, batching on
the wire, IDLE renewal, and the \\Flagged fallback of servers without MOVE or UIDPLUS.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time

import pytest

from mailbot.adapters.imap_mailbox import ImapMailbox
from mailbot.adapters.imap_marking import uid_set
from mailbot.adapters.imap_mover import Mover
from mailbot.domain.errors import ConfigError, PermanentError, TransientError
from tests.integration.mailbox_worlds import ImapWorld, message
from tests.servers import free_port


@pytest.fixture
def world(dovecot):
    made = ImapWorld(dovecot)
    yield made
    made.close()


def _mailbox(server, account, **options) -> ImapMailbox:
    settings = {"security": "none", "port": server.port, "timeout": 10, **options}
    return ImapMailbox("test", server.host, username=account.username, **settings)


def _commands(caplog, pattern: str) -> int:
    """How many client commands matching ``pattern`` imapclient logged as sent."""
    sent = re.compile(rf"> b'\w+ {pattern}")
    return sum(1 for record in caplog.records if sent.search(record.getMessage()))


def _take_backlog(adapter: ImapMailbox) -> list[bytes]:
    """Fetch and mark batches of 10 until none is left; the messages offered, in order. Marking
    returns before the second session has moved them."""
    offered = []
    while batch := adapter.fetch_new(limit=10):
        offered += [raw.data for raw in batch]
        adapter.mark_all_processed(batch)
    return offered


def _backlog_taken(world, caplog, count: int) -> list[bytes]:
    """``count`` messages appended at once and taken as a backlog (``_take_backlog``) by a
    mailbox then closed, with imapclient's commands logged for ``_commands``."""
    world.server.append_many(world.account, [message(n) for n in range(count)])
    adapter = world.open()
    caplog.set_level(logging.DEBUG, logger="imapclient")
    offered = _take_backlog(adapter)
    adapter.close()
    return offered


def test_a_long_session_does_not_pile_up_untagged_responses(world):
    for number in range(30):
        world.deliver(message(number))
    mailbox = world.open()
    for raw in mailbox.fetch_new():
        mailbox.mark_processed(raw)  # each move leaves an EXPUNGE, EXISTS and COPYUID behind
    kept = mailbox._client._imap.untagged_responses
    assert sum(len(responses) for responses in kept.values()) == 0, kept


def test_tls_with_a_trusted_certificate_works(dovecot, world, tls_certificate):
    world.deliver(message(1))
    adapter = _mailbox(dovecot, world.account, password=world.account.password,
                       security="tls", port=dovecot.tls_port,
                       ssl_context=tls_certificate.client_context())
    try:
        assert [m.data for m in adapter.fetch_new()] == [message(1)]
    finally:
        adapter.close()


def test_an_interrupt_wakes_an_idle_on_tls_at_once_and_logs_no_lost_connection(
        dovecot, world, tls_certificate, caplog):
    """Exchange Online and most servers speak TLS: shutting an SSL socket from the stopping
    thread must wake the IDLE as it does a plain one, and is not a connection lost."""
    adapter = _mailbox(dovecot, world.account, password=world.account.password,
                       security="tls", port=dovecot.tls_port,
                       ssl_context=tls_certificate.client_context())
    assert adapter.fetch_new() == []
    outcome: dict = {}
    waiter = threading.Thread(target=lambda: outcome.update(arrived=adapter.wait_for_new(60)))
    waiter.start()
    time.sleep(1.5)  # past the IDLE's first look
    started = time.monotonic()
    adapter.interrupt()
    waiter.join(10)
    assert not waiter.is_alive() and outcome == {"arrived": False}
    assert time.monotonic() - started < 2
    adapter.close()
    assert "connection lost" not in caplog.text


def test_starttls_upgrades_the_plain_port_before_logging_in(dovecot, world, tls_certificate):
    world.deliver(message(1))
    adapter = _mailbox(dovecot, world.account, password=world.account.password,
                       security="starttls", ssl_context=tls_certificate.client_context())
    try:
        assert [m.data for m in adapter.fetch_new()] == [message(1)]
    finally:
        adapter.close()


def test_an_untrusted_certificate_is_a_transient_failure_not_a_silent_downgrade(dovecot, world):
    adapter = _mailbox(dovecot, world.account, password=world.account.password,
                       security="tls", port=dovecot.tls_port)
    with pytest.raises(TransientError) as caught:
        adapter.fetch_new()
    assert "CERTIFICATE_VERIFY_FAILED" in repr(caught.value.__cause__)


def test_xoauth2_logs_in_with_a_fresh_token_per_connection(dovecot, world, tls_certificate):
    # The test Dovecot checks an XOAUTH2 token as it would a password.
    calls = []

    def token() -> str:
        calls.append(time.monotonic())
        return world.account.password

    world.deliver(message(1))
    adapter = _mailbox(dovecot, world.account, token_provider=token, security="tls",
                       port=dovecot.tls_port, ssl_context=tls_certificate.client_context())
    try:
        assert [m.data for m in adapter.fetch_new()] == [message(1)]
        assert len(calls) == 1
        dovecot.restart()
        assert [m.data for m in adapter.fetch_new()] == [message(1)]
        assert len(calls) == 2
    finally:
        adapter.close()


def test_a_refused_login_is_permanent_and_does_not_echo_the_password(dovecot, world):
    adapter = _mailbox(dovecot, world.account, password="not-the-password-123")
    with pytest.raises(PermanentError) as caught:
        adapter.fetch_new()
    assert "not-the-password-123" not in str(caught.value)


def test_plain_text_to_a_remote_host_is_refused_at_configuration():
    with pytest.raises(ConfigError, match="plain-text"):
        ImapMailbox("bury", "imap.example.org", 143, "none", "bsp", password="x")
    with pytest.raises(ConfigError, match="unknown security"):
        ImapMailbox("bury", "127.0.0.1", 143, "ssl", "bsp", password="x")
    with pytest.raises(ConfigError, match="no password or token"):
        ImapMailbox("bury", "127.0.0.1", 143, "none", "bsp")


def test_no_server_listening_is_transient_and_a_wait_just_returns_false():
    adapter = ImapMailbox("test", "127.0.0.1", free_port(), "none", "bsp", password="x",
                          timeout=2)
    with pytest.raises(TransientError):
        adapter.fetch_new()
    started = time.monotonic()
    assert adapter.wait_for_new(1.5) is False
    assert 1.4 <= time.monotonic() - started < 5


def test_a_batch_is_fetched_with_one_command_not_one_per_message(dovecot, world, caplog):
    world.server.append_many(world.account, [message(n) for n in range(50)])
    adapter = world.open()
    caplog.set_level(logging.DEBUG, logger="imapclient")
    fetched = adapter.fetch_new(limit=200)
    assert len(fetched) == 50
    assert _commands(caplog, r"UID FETCH .*BODY\.PEEK\[\]") == 1
    assert _commands(caplog, r"UID FETCH .*RFC822\.SIZE") == 0, "small mail needs no size check"


def test_a_batch_is_moved_with_one_short_command(dovecot, world, caplog):
    world.server.append_many(world.account, [message(n) for n in range(50)])
    adapter = world.open()
    batch = adapter.fetch_new(limit=200)
    caplog.set_level(logging.DEBUG, logger="imapclient")
    adapter.mark_all_processed(batch)
    assert _commands(caplog, r"UID MOVE") == 1
    assert _commands(caplog, r"UID MOVE 1:50 ") == 1, "runs of UIDs go as first:last"
    assert world.waiting() == []


def test_a_backlog_is_moved_on_a_second_session_and_nothing_is_offered_twice(world):
    world.server.append_many(world.account, [message(n) for n in range(25)])
    adapter = world.open()
    assert _take_backlog(adapter) == [message(n) for n in range(25)]
    assert adapter.batches_moved_aside == 3  # from the first full batch on
    adapter.close()  # waits for the moves
    assert world.waiting() == []
    assert sorted(world.processed()) == sorted(message(n) for n in range(25))


def test_a_second_session_refused_at_login_costs_no_message(world, caplog):
    world.server.append_many(world.account, [message(n) for n in range(25)])
    adapter = world.open()
    assert adapter.wait_for_new(0.01) is True  # logged in
    # The second session, opened for the backlog, will be refused.
    adapter._settings = dataclasses.replace(adapter._settings, password="changed meanwhile")
    offered = _take_backlog(adapter)
    adapter.close()
    assert "second session failed" in caplog.text
    assert world.waiting() == []
    assert sorted(world.processed()) == sorted(message(n) for n in range(25))
    assert set(offered) == {message(n) for n in range(25)}  # some twice: replays, not losses


def test_a_batch_stops_at_the_byte_limit_but_always_carries_one_message(world):
    for n in range(4):
        world.deliver(message(n))
    adapter = world.open(max_batch_bytes=len(message(0)) * 2)
    assert [m.data for m in adapter.fetch_new()] == [message(0), message(1)]
    tiny = world.open(max_batch_bytes=1)
    assert [m.data for m in tiny.fetch_new()] == [message(0)]


def test_a_backlog_of_small_mail_asks_the_sizes_once_not_once_a_batch(world, caplog):
    assert _backlog_taken(world, caplog, 25) == [message(n) for n in range(25)]
    assert _commands(caplog, r"UID SEARCH UID \S+ LARGER") == 1, "one SEARCH for the backlog"
    assert _commands(caplog, "UID FETCH .*RFC822.SIZE") == 0
    assert world.waiting() == []


def test_a_large_message_in_a_backlog_still_cuts_its_batch(world):
    small = len(message(0))
    world.server.append_many(world.account, [message(0), message(1) + b"x" * small * 3,
                                             message(2), message(3)])
    adapter = world.open(max_batch_bytes=small * 3)
    sizes = []
    while batch := adapter.fetch_new(limit=2):
        sizes.append(len(batch))
        adapter.mark_all_processed(batch)
    adapter.close()
    assert sizes == [1, 1, 2]
    assert world.waiting() == []


def test_uid_sets_collapse_runs():
    assert uid_set([1, 2, 3, 5, 7, 8]) == "1:3,5,7:8"
    assert uid_set([4]) == "4"


def test_idle_is_renewed_and_still_wakes_on_new_mail(world, caplog):
    adapter = world.open(idle_renew=0.5)
    adapter.fetch_new()
    caplog.set_level(logging.DEBUG, logger="imapclient")
    threading.Timer(2.2, world.deliver, args=(message(1),)).start()
    started = time.monotonic()
    assert adapter.wait_for_new(20) is True
    assert time.monotonic() - started < 10
    assert _commands(caplog, "IDLE") >= 3  # renewed at least twice before the mail came


def test_without_move_or_uidplus_processed_mail_is_flagged_and_skipped(dovecot_minimal):
    world = ImapWorld(dovecot_minimal, flags_instead_of_moving=True)
    try:
        world.deliver(message(1))
        world.deliver(message(2))
        adapter = world.open()
        first, _ = adapter.fetch_new()
        adapter.mark_processed(first)
        assert [m.data for m in adapter.fetch_new()] == [message(2)]
        assert world.processed() == [message(1)]
        assert not dovecot_minimal.folder_exists(world.account, "mailbot.processed")
    finally:
        world.close()


def test_a_backlog_moved_aside_is_heard_as_ranges_not_a_line_per_message(world, caplog):
    _backlog_taken(world, caplog, 25)
    assert _commands(caplog, "ENABLE QRESYNC") == 2, "both sessions ask for ranges"
    heard = [record.getMessage() for record in caplog.records]
    assert any(re.search(r"< b'\* VANISHED \d+", line) for line in heard)
    assert not any(re.search(r"< b'\* \d+ EXPUNGE", line) for line in heard)
    assert world.waiting() == []


def test_a_server_without_qresync_is_not_asked_for_it(dovecot_exchange_like, caplog):
    world = ImapWorld(dovecot_exchange_like)
    try:
        _backlog_taken(world, caplog, 25)
        assert _commands(caplog, "ENABLE") == 0
        assert world.waiting() == []
        assert sorted(world.processed()) == sorted(message(n) for n in range(25))
    finally:
        world.close()


def test_a_backlog_is_searched_once_and_taken_batch_by_batch(world, caplog):
    """Issue 19: every batch re-ran SEARCH NOT DELETED over the whole remaining backlog."""
    world.server.append_many(world.account, [message(n) for n in range(35)])
    adapter = world.open()
    caplog.set_level(logging.DEBUG, logger="imapclient")
    assert _take_backlog(adapter) == [message(n) for n in range(35)]
    # One SEARCH for the backlog, and one more that finds it empty and ends the drain.
    assert _commands(caplog, r"UID SEARCH NOT DELETED") == 2
    adapter.close()
    assert world.waiting() == []


def test_mail_that_arrives_during_a_backlog_is_taken_once_the_backlog_is(world):
    world.server.append_many(world.account, [message(n) for n in range(15)])
    adapter = world.open()
    first = adapter.fetch_new(limit=10)
    adapter.mark_all_processed(first)
    world.deliver(message(99))
    rest = _take_backlog(adapter)
    assert [m.data for m in first] + rest == [*(message(n) for n in range(15)), message(99)]


def test_a_backlog_whose_messages_went_meanwhile_is_searched_again_not_ended(world):
    world.server.append_many(world.account, [message(n) for n in range(20)])
    adapter = world.open()
    adapter.mark_all_processed(adapter.fetch_new(limit=5))  # and asks for 5 to 9 ahead
    adapter._finish_moves()  # the first five are in the processed folder before the other looks
    with world.server.connect(world.account) as other:  # another client takes 10 to 14 meanwhile
        other.create_folder("elsewhere")
        other.select_folder("INBOX")
        other.move("11:15", "elsewhere")
    second = adapter.fetch_new(limit=5)  # asked for ahead before they went: still there then
    assert [m.data for m in second] == [message(n) for n in range(5, 10)]
    adapter.mark_all_processed(second)
    # The batch asked for ahead had gone: the backlog's list is stale and searched again.
    assert [m.data for m in adapter.fetch_new(limit=5)] == [message(n) for n in range(15, 20)]


def test_the_next_batch_is_asked_for_before_this_one_is_stored(world, caplog):
    world.server.append_many(world.account, [message(n) for n in range(25)])
    adapter = world.open()
    caplog.set_level(logging.DEBUG, logger="imapclient")
    first = adapter.fetch_new(limit=10)
    assert len(first) == 10
    assert _commands(caplog, r"UID FETCH 1:10 \(BODY\.PEEK\[\]\)") == 1
    assert _commands(caplog, r"UID FETCH 11:20 \(BODY\.PEEK\[\]\)") == 1, "sent, not yet read"
    adapter.mark_all_processed(first)
    assert [m.data for m in adapter.fetch_new(limit=10)] == [message(n) for n in range(10, 20)]
    adapter.close()


def test_a_smaller_batch_than_was_asked_for_ahead_leaves_the_rest_for_the_next(world):
    world.server.append_many(world.account, [message(n) for n in range(25)])
    adapter = world.open()
    offered = []
    for limit in (10, 3, 4, 10, 10):
        batch = adapter.fetch_new(limit=limit)
        assert len(batch) <= limit
        offered += [raw.data for raw in batch]
        adapter.mark_all_processed(batch)
    assert offered == [message(n) for n in range(25)]
    adapter.close()
    assert world.waiting() == []


def test_a_batch_asked_for_ahead_and_never_taken_stays_in_the_folder(world):
    world.server.append_many(world.account, [message(n) for n in range(15)])
    adapter = world.open()
    adapter.mark_all_processed(adapter.fetch_new(limit=5))  # 5 to 9 asked for ahead
    assert adapter.wait_for_new(1) is True, "the rest is waiting"
    assert [m.data for m in adapter.fetch_new(limit=20)] == [message(n) for n in range(5, 15)]
    adapter.close()
    assert world.waiting() == [message(n) for n in range(5, 15)]


def test_batches_handed_over_while_a_move_runs_are_moved_in_one_command(world):
    world.server.append_many(world.account, [message(n) for n in range(6)])
    adapter = world.open()
    adapter.fetch_new()
    started, release, calls = threading.Event(), threading.Event(), []

    def move(client, uids):
        calls.append(uids)
        started.set()
        release.wait(10)

    mover = Mover("test", adapter._settings, "INBOX", move)
    mover.move(adapter._uidvalidity, [2, 1])
    assert started.wait(10)
    mover.move(adapter._uidvalidity, [3, 4])
    mover.move(adapter._uidvalidity, [6, 5])
    assert mover.in_flight() == {1, 2, 3, 4, 5, 6}
    release.set()
    assert mover.finish(adapter._uidvalidity) == []
    assert calls == [[1, 2], [3, 4, 5, 6]]
    adapter.close()


def test_a_backlog_is_moved_in_parts_of_a_quarter_of_what_is_left_not_a_batch_at_a_time(world):
    """Issue 19: on Dovecot's Maildir each MOVE re-reads the folder's directory, so a backlog
    moved a batch at a time cost the server a pass over what was left per batch."""
    world.server.append_many(world.account, [message(n) for n in range(2)])
    adapter = world.open()
    adapter.fetch_new()
    calls, moved = [], threading.Semaphore(0)

    def move(client, uids):
        calls.append(uids)
        moved.release()

    mover = Mover("test", adapter._settings, "INBOX", move)
    valid = adapter._uidvalidity
    mover.move(valid, [2, 1], left=18)  # 2 of 20: waits
    mover.move(valid, [3, 4], left=16)  # 4 of 20: waits
    assert mover.in_flight() == {1, 2, 3, 4}, "not offered again while waiting"
    mover.move(valid, [5, 6], left=14)  # 6 of 20: a quarter and more, moved
    assert moved.acquire(timeout=10)
    mover.move(valid, [7, 8], left=12)  # 2 of 14: waits
    mover.move(valid, [9, 10], left=0)  # the backlog's last batch: whatever waits is moved
    assert moved.acquire(timeout=10)
    mover.move(valid, [11], left=5)  # 1 of 6: waits, until the backlog is finished
    assert calls == [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10]]
    assert mover.finish(valid) == []
    assert calls == [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10], [11]]
    adapter.close()


def test_a_backlog_moved_in_parts_leaves_nothing_behind_in_six_commands_or_fewer(world, caplog):
    assert _backlog_taken(world, caplog, 100) == [message(n) for n in range(100)]
    assert 1 <= _commands(caplog, "UID MOVE") <= 6  # 30, 20, 20, 10, 10, 10 unless merged more
    assert world.waiting() == []
    assert sorted(world.processed()) == sorted(message(n) for n in range(100))
