"""The Graph mailbox against the fake Graph server: what the contract suite cannot say for every adapter.

Throttling storms, expired and refused tokens, denied permissions, connections cut mid-answer,
delta rounds over many pages and expired delta tokens, the four-request limit, TLS, and a
referral going through the real services end to end. The server replays Graph's documented
shapes on loopback; no live tenant is used.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailbot.adapters.microsoft.graph_mailbox import GraphMailbox, GraphMailer
from mailbot.bootstrap import bootstrap
from mailbot.config import embedded_default
from mailbot.domain.errors import AuthenticationFailed, ConfigError, PermanentError, TransientError
from mailbot.entrypoints.demo import referral_email
from mailbot.services.polling import drain_mailbox
from mailbot.services.ports import OutgoingEmail
from mailbot.services.sending import send_queued
from tests.integration.mailbox_worlds import message
from tests.servers.graph import GraphServer, TokenSource
from tests.servers.graph_store import GraphMailboxStore


@pytest.fixture
def server() -> Iterator[GraphServer]:
    with GraphServer() as started:
        yield started


@pytest.fixture
def store(server: GraphServer) -> GraphMailboxStore:
    return server.add_mailbox("bsp@bury.example")


@pytest.fixture
def tokens(server: GraphServer) -> TokenSource:
    return server.token_source()


def open_mailbox(server, store, tokens, tmp_path: Path, **options) -> GraphMailbox:
    settings = {"poll_interval": 0.1, "timeout": 10, "state_path": tmp_path / "graph-state.json", **options}
    return GraphMailbox("bury", store.address, tokens, base_url=server.base_url, **settings)


def deliver(store: GraphMailboxStore, *numbers: int) -> None:
    for n in numbers:
        store.deliver(message(n), store.folder("inbox").id)


def inbox(store: GraphMailboxStore) -> list[bytes]:
    return [m.mime for m in store.in_folder(store.folder("inbox").id)]


def processed(store: GraphMailboxStore) -> list[bytes]:
    return [m.mime for m in store.in_folder(store.path("mailbot/processed", create=True).id)]


def work_through(mailbox: GraphMailbox, rounds: int = 10) -> list[bytes]:
    """What a worker does: fetch, handle, mark; a transient failure means try again later."""
    handled: list[bytes] = []
    for _ in range(rounds):
        try:
            batch = mailbox.fetch_new(limit=4)
            for raw in batch:
                handled.append(raw.data)
                mailbox.mark_processed(raw)
        except TransientError:
            continue
        if not batch:
            break
    return handled


# --- throttling ------------------------------------------------------------------------------

def test_a_429_storm_is_waited_out_as_retry_after_asks_and_nothing_is_lost_or_repeated(
        server, store, tokens, tmp_path):
    deliver(store, *range(6))
    mailbox = open_mailbox(server, store, tokens, tmp_path)
    server.throttle(3, retry_after=1)  # the first requests are sequential: folder, then delta
    handled = work_through(mailbox)
    assert handled == [message(n) for n in range(6)]
    assert inbox(store) == [] and processed(store) == [message(n) for n in range(6)]
    exchanges = server.exchanges
    throttled = [i for i, e in enumerate(exchanges) if e.status == 429]
    assert len(throttled) == 3
    for i in throttled:  # the retry came no sooner than Retry-After said
        assert exchanges[i + 1].started - exchanges[i].finished >= exchanges[i].retry_after


def test_a_storm_longer_than_the_wait_budget_is_transient_and_loses_nothing(server, store, tokens, tmp_path):
    deliver(store, 1, 2)
    mailbox = open_mailbox(server, store, tokens, tmp_path, max_throttle_wait=2)
    server.throttle(50, retry_after=1)
    with pytest.raises(TransientError, match="throttling"):
        mailbox.fetch_new()
    server.throttle(1, retry_after=600)  # far beyond the budget: given up at once, not slept
    with pytest.raises(TransientError, match="600s"):
        mailbox.fetch_new()
    server.throttle(0)
    assert work_through(mailbox) == [message(1), message(2)]
    assert processed(store) == [message(1), message(2)]


def test_no_more_than_four_requests_are_in_flight_for_one_mailbox(server, store, tokens, tmp_path):
    deliver(store, *range(12))
    mailbox = open_mailbox(server, store, tokens, tmp_path)
    mailer = GraphMailer(store.address, tokens, base_url=server.base_url, timeout=10)
    server.slow_down(0.05)
    senders = [threading.Thread(target=mailer.send, args=(_outgoing(f"bm{n}@bury.example"),))
               for n in range(3)]
    for sender in senders:
        sender.start()
    fetched = mailbox.fetch_new()
    for sender in senders:
        sender.join(30)
    assert [m.data for m in fetched] == [message(n) for n in range(12)]
    assert len(store.sent) == 3
    assert 1 < server.max_in_flight <= 4  # bodies fetched in parallel, mailbox and mailer sharing
    assert 429 not in server.statuses()


# --- tokens and permissions ------------------------------------------------------------------

def test_an_expired_token_is_refreshed_once_and_the_request_goes_through(server, store, tokens, tmp_path):
    deliver(store, 1)
    mailbox = open_mailbox(server, store, tokens, tmp_path)
    assert [m.data for m in mailbox.fetch_new()] == [message(1)]
    server.expire_tokens()
    deliver(store, 2)
    assert [m.data for m in mailbox.fetch_new()] == [message(1), message(2)]
    assert (tokens.fetched, tokens.invalidated) == (2, 1)
    assert server.statuses().count(401) == 1


def test_a_revoked_app_is_authentication_failed_with_graphs_reason_and_a_fix(server, store, tokens, tmp_path):
    deliver(store, 1)
    mailbox = open_mailbox(server, store, tokens, tmp_path)
    server.refuse_all_tokens()
    with pytest.raises(AuthenticationFailed) as raised:
        mailbox.fetch_new()
    assert "InvalidAuthenticationToken" in raised.value.reason
    assert "secret or certificate" in raised.value.fix
    assert server.statuses() == [401, 401]  # one fresh token tried, then no hammering
    assert inbox(store) == [message(1)]


def test_a_secret_refused_by_the_identity_platform_surfaces_as_it_is(server, store, tmp_path):
    class RevokedSecret(TokenSource):
        def __call__(self) -> str:
            if self.invalidated:
                raise AuthenticationFailed("AADSTS7000222: the client secret of app 1234 has expired",
                                           "Create a new client secret")
            return super().__call__()

    deliver(store, 1)
    mailbox = open_mailbox(server, store, RevokedSecret(server), tmp_path)
    assert len(mailbox.fetch_new()) == 1
    server.expire_tokens()
    with pytest.raises(AuthenticationFailed, match="AADSTS7000222"):
        mailbox.fetch_new()


def test_access_denied_names_the_permission_and_the_access_policy(server, store, tokens, tmp_path):
    mailbox = open_mailbox(server, store, tokens, tmp_path)
    server.deny_access()
    with pytest.raises(AuthenticationFailed) as raised:
        mailbox.fetch_new()
    assert "ErrorAccessDenied" in raised.value.reason and store.address in raised.value.reason
    assert "Mail.ReadWrite" in raised.value.fix and "application access policy" in raised.value.fix


# --- dropped connections ---------------------------------------------------------------------

def test_a_connection_dropped_mid_fetch_loses_nothing_and_repeats_nothing(server, store, tokens, tmp_path):
    deliver(store, 1, 2, 3)
    mailbox = open_mailbox(server, store, tokens, tmp_path)
    server.drop_connections(1, "$value")  # one cut: retried on the spot
    assert [m.data for m in mailbox.fetch_new()] == [message(1), message(2), message(3)]
    server.drop_connections(100, "$value")  # the link keeps failing: the fetch fails as a whole
    with pytest.raises(TransientError):
        mailbox.fetch_new()
    server.drop_connections(0)
    assert work_through(mailbox) == [message(1), message(2), message(3)]
    assert inbox(store) == [] and processed(store) == [message(1), message(2), message(3)]


def test_a_move_whose_answer_was_cut_off_is_not_made_twice(server, store, tokens, tmp_path):
    deliver(store, 1)
    mailbox = open_mailbox(server, store, tokens, tmp_path)
    [raw] = mailbox.fetch_new()
    mailbox.mark_processed(raw)  # creates the processed folder before the cut below
    deliver(store, 2)
    [raw] = mailbox.fetch_new()
    server.drop_connections(1, "/move")  # the move happens, its answer is lost
    mailbox.mark_processed(raw)
    assert inbox(store) == [] and processed(store) == [message(1), message(2)]
    assert mailbox.fetch_new() == []


def test_a_delta_page_cut_off_is_read_again_and_a_broken_round_changes_nothing(
        server, store, tokens, tmp_path):
    deliver(store, *range(5))
    mailbox = open_mailbox(server, store, tokens, tmp_path, page_size=2)
    server.drop_connections(1, "skiptoken")  # once: the same page is asked for again
    assert [m.data for m in mailbox.fetch_new()] == [message(n) for n in range(5)]
    deliver(store, 5)
    server.drop_connections(2, "deltatoken")  # twice: the round fails, the saved link stays
    with pytest.raises(TransientError):
        mailbox.fetch_new()
    assert [m.data for m in mailbox.fetch_new()] == [message(n) for n in range(6)]


# --- delta rounds ----------------------------------------------------------------------------

def test_a_backlog_over_many_delta_pages_is_read_whole_and_oldest_first(server, store, tokens, tmp_path):
    deliver(store, *range(20))
    mailbox = open_mailbox(server, store, tokens, tmp_path, page_size=3)
    first = mailbox.fetch_new(limit=50)
    assert [m.data for m in first] == [message(n) for n in range(20)]
    assert len(server.requests_to("$skiptoken=")) == 6  # pages 2..7 of 3 each
    for raw in first:
        mailbox.mark_processed(raw)
    deliver(store, *range(20, 27))
    # The next round holds 20 removals and 7 arrivals: nine pages, all of them read.
    assert [m.data for m in mailbox.fetch_new(limit=50)] == [message(n) for n in range(20, 27)]
    assert processed(store) == [message(n) for n in range(20)]


def test_a_restarted_worker_resumes_from_the_saved_delta_link(server, store, tokens, tmp_path):
    deliver(store, 1, 2)
    before = open_mailbox(server, store, tokens, tmp_path)
    before.mark_processed(before.fetch_new()[0])
    before.close()
    deliver(store, 3)
    after = open_mailbox(server, store, tokens, tmp_path)
    started = len(server.exchanges)
    assert [m.data for m in after.fetch_new()] == [message(2), message(3)]
    delta_calls = [e.path for e in server.exchanges[started:] if "/messages/delta" in e.path]
    assert delta_calls and all("$deltatoken=" in path for path in delta_calls)


def test_an_expired_delta_token_relists_the_folder_without_losing_or_repeating(
        server, store, tokens, tmp_path):
    deliver(store, 1, 2)
    mailbox = open_mailbox(server, store, tokens, tmp_path)
    mailbox.mark_processed(mailbox.fetch_new()[0])
    server.forget_state_tokens()
    deliver(store, 3)
    assert [m.data for m in mailbox.fetch_new()] == [message(2), message(3)]
    assert 410 in server.statuses()


def test_an_unreadable_state_file_is_rebuilt_by_listing_the_folder(server, store, tokens, tmp_path):
    deliver(store, 1, 2)
    (tmp_path / "graph-state.json").write_text("{not json")
    mailbox = open_mailbox(server, store, tokens, tmp_path)
    assert [m.data for m in mailbox.fetch_new()] == [message(1), message(2)]


def test_a_message_changed_in_place_is_not_offered_as_new(server, store, tokens, tmp_path):
    deliver(store, 1)
    mailbox = open_mailbox(server, store, tokens, tmp_path)
    [raw] = mailbox.fetch_new()
    store.touch(raw.uid)  # someone marks it read: delta reports an update
    assert mailbox.wait_for_new(0.3) is False
    assert [m.uid for m in mailbox.fetch_new()] == [raw.uid]


def test_a_watched_folder_that_does_not_exist_is_a_permanent_error(server, store, tokens, tmp_path):
    mailbox = open_mailbox(server, store, tokens, tmp_path, folder="Referals")
    with pytest.raises(PermanentError, match="'Referals' does not exist"):
        mailbox.fetch_new()


# --- connection security ---------------------------------------------------------------------

def test_tls_with_a_trusted_certificate_works_and_an_untrusted_one_is_refused(tls_certificate, tmp_path):
    with GraphServer(certificate=tls_certificate) as server:
        store = server.add_mailbox()
        deliver(store, 1)
        trusting = open_mailbox(server, store, server.token_source(), tmp_path,
                                verify=str(tls_certificate.cert_path))
        assert [m.data for m in trusting.fetch_new()] == [message(1)]
        default = open_mailbox(server, store, server.token_source(), tmp_path / "other")
        with pytest.raises(PermanentError, match="not trusted"):
            default.fetch_new()


def test_plain_http_is_refused_to_anything_but_loopback(tmp_path):
    with pytest.raises(ConfigError, match="plain http"):
        GraphMailbox("bury", "bsp@bury.example", lambda: "token", base_url="http://graph.example/v1.0",
                     state_path=tmp_path / "state.json")


# --- end to end ------------------------------------------------------------------------------

def test_referrals_go_through_the_graph_mailbox_and_replies_leave_by_send_mail(
        server, store, tokens, tmp_path):
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    app = bootstrap(embedded_default(str(tmp_path / "var")))
    context = app.services.mailboxes["bury"]
    for _ in range(2):
        store.deliver(referral_email(context.address, now), store.folder("inbox").id)
    mailbox = open_mailbox(server, store, tokens, tmp_path)
    server.throttle(3, retry_after=1)
    assert drain_mailbox(app.services, context, mailbox, lambda: now) == 2
    with app.services.uow_factory() as uow:
        cases = uow.cases.summaries()
        queued = {row.item.data for row in uow.outbox.due(now, 100)}
    assert len(cases) == 2 and inbox(store) == [] and len(processed(store)) == 2
    assert drain_mailbox(app.services, context, mailbox, lambda: now) == 0  # nothing repeated
    mailer = GraphMailer(store.address, tokens, base_url=server.base_url, timeout=10)
    assert send_queued(app.services, mailer, now) == len(queued) > 0
    assert set(store.sent) == queued  # the exact MIME mailbot built, one send each
    assert len(store.sent) == len(queued)


def _outgoing(recipient: str) -> OutgoingEmail:
    data = (f"From: BSP <bsp@bury.example>\r\nTo: {recipient}\r\nSubject: [BSCP-2026-0001] notice\r\n"
            f"Message-ID: <n-{recipient}>\r\n\r\nHello.\r\n").encode()
    return OutgoingEmail(f"n-{recipient}", "bsp@bury.example", (recipient,), data)
