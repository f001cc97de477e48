"""The EWS mailbox and mailer against a fake Exchange Server 2019 on loopback (tests/servers/ews.py).

The mailbox contract suite covers the shared semantics; these tests cover what is EWS's own:
the requests exchangelib makes, NTLM and OAuth2 logins, throttling with BackOffMilliseconds,
dropped connections, the state file, long ItemIds, TLS with a private CA, and sending our MIME.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailbot.adapters.email_builder import build_email
from mailbot.adapters.microsoft.ews_errors import ServerBusy
from mailbot.adapters.microsoft.ews_mailbox import EwsMailbox, EwsMailer
from mailbot.domain.errors import AuthenticationFailed, ConfigError, PermanentError, TransientError
from mailbot.services.ports import OutgoingEmail
from tests.integration.mailbox_worlds import message
from tests.servers import started_servers
from tests.servers.ews import EwsServer
from tests.servers.tls import Certificate


@pytest.fixture
def start_server() -> Iterator[Callable[..., EwsServer]]:
    yield from started_servers(EwsServer)


@pytest.fixture
def server(start_server) -> EwsServer:
    return start_server()


@pytest.fixture
def open_mailbox(tmp_path: Path) -> Iterator[Callable[..., EwsMailbox]]:
    opened: list[EwsMailbox] = []

    def open_(server: EwsServer, **options) -> EwsMailbox:
        settings = {"password": server.password, "state_path": tmp_path / "state.json",
                    "poll_interval": 0.1, "timeout": 10, **options}
        address = settings.pop("address", server.address)
        adapter = EwsMailbox("test", address, service_endpoint=server.url, **settings)
        opened.append(adapter)
        return adapter

    yield open_
    for adapter in opened:
        adapter.close()


def _operations_after(server: EwsServer, before: int) -> list[str]:
    return server.operations()[before:]


# -- fetching and marking ----------------------------------------------------------------------


def test_a_batch_is_one_listing_and_one_get_item_oldest_first(server, open_mailbox):
    for n in range(5):
        server.deliver(message(n))
    adapter = open_mailbox(server)
    adapter.fetch_new(limit=1)  # the first call also probes the version and finds the Inbox
    before = len(server.requests)
    fetched = adapter.fetch_new(limit=10)
    assert [m.data for m in fetched] == [message(n) for n in range(5)]
    assert _operations_after(server, before) == ["FindItem", "GetItem"]
    listing, get_item = server.requests[before:]
    assert b'FieldURI="item:DateTimeReceived"' in listing.xml and b'Order="Ascending"' in listing.xml
    assert b'MaxEntriesReturned="10"' in listing.xml
    assert b'FieldURI="item:MimeContent"' in get_item.xml and get_item.xml.count(b"<t:ItemId ") == 5


def test_exchangelib_probes_the_version_then_logs_in_with_ntlm(server, open_mailbox):
    server.deliver(message(1))
    open_mailbox(server).fetch_new()
    assert server.operations()[0] == "ConvertId"  # exchangelib's version probe
    assert {r.user for r in server.requests} == {server.address}  # proved by the NTLMv2 response


def test_a_first_pass_makes_the_requests_the_fake_server_replays(server, open_mailbox, open_mailer):
    # Recorded from exchangelib 5.6; a newer exchangelib that asks differently shows up here first.
    server.deliver(message(1))
    adapter = open_mailbox(server)
    [fetched] = adapter.fetch_new()
    adapter.mark_processed(fetched)
    adapter.wait_for_new(0)
    open_mailer(server).send(_built("<first-pass@bury.example>"))
    assert server.operations() == [
        "ConvertId",  # version probe; the ServerVersionInfo header of its answer settles it
        "GetFolder", "GetFolder",  # root, then inbox
        "FindItem", "GetItem",  # the batch: ids and sizes, then MIME content
        "GetFolder",  # the Top of Information Store, where the processed folder goes
        "FindFolder", "CreateFolder", "FindFolder", "CreateFolder",  # mailbot, then processed
        "MoveItem",
        "FindItem",  # the wait's poll
        "GetFolder", "GetFolder", "CreateItem",  # the mailer: root, Sent Items, SendAndSaveCopy
    ]


def test_a_missing_watched_folder_is_a_permanent_error_naming_it(server, open_mailbox):
    with pytest.raises(PermanentError, match="no folder 'Referrals'"):
        open_mailbox(server, folder="Referrals").fetch_new()


def test_a_folder_inside_the_inbox_is_watched(server, open_mailbox):
    server.deliver(message(1), "Inbox/Referrals")
    server.deliver(message(2))
    assert [m.data for m in open_mailbox(server, folder="INBOX/Referrals").fetch_new()] == [message(1)]


def test_marking_moves_the_item_into_a_processed_folder_made_on_first_use(server, open_mailbox):
    server.deliver(message(1))
    adapter = open_mailbox(server)
    [fetched] = adapter.fetch_new()
    assert "CreateFolder" not in server.operations()  # fetching changes nothing on the server
    adapter.mark_processed(fetched)
    assert server.messages() == [] and server.messages("mailbot/processed") == [message(1)]
    moved = server.store.items_in(server.store.path("mailbot/processed").id)[0]
    assert moved.id != fetched.uid  # EWS gives a moved item a new ItemId


def test_a_replaced_processed_folder_is_made_again(server, open_mailbox):
    server.deliver(message(1))
    server.deliver(message(2))
    adapter = open_mailbox(server)
    one, two = adapter.fetch_new()
    adapter.mark_processed(one)
    server.store.delete_folder(server.store.path("mailbot/processed").id)
    adapter.mark_processed(two)
    assert server.messages("mailbot/processed") == [message(2)]


def test_a_large_backlog_is_cut_to_the_batch_size_limit(server, open_mailbox):
    for n in range(4):
        server.deliver(message(n) + b"x" * 1000)
    adapter = open_mailbox(server, max_batch_bytes=2500)
    assert len(adapter.fetch_new()) == 2
    assert adapter.wait_for_new(0) is True  # the rest is waiting


def test_item_ids_longer_than_the_store_column_are_replaced_by_a_digest(start_server, open_mailbox):
    server = start_server(id_length=400)
    server.deliver(message(1))
    server.deliver(message(2))
    first = open_mailbox(server).fetch_new()
    assert all(m.uid.startswith("sha256:") and len(m.uid) <= 255 for m in first)
    open_mailbox(server).mark_processed(first[1])  # a fresh process marks what another fetched
    assert server.messages() == [message(1)]


# -- restarts and the state file ---------------------------------------------------------------


def test_the_state_file_holds_folder_ids_only_and_spares_lookups_after_a_restart(server, open_mailbox,
                                                                               tmp_path):
    server.deliver(message(1, subject="Child: Jane Doe"))
    server.deliver(message(2))
    before = open_mailbox(server)
    one, _ = before.fetch_new()
    before.mark_processed(one)
    before.close()
    saved = json.loads((tmp_path / "state.json").read_text())
    assert set(saved) == {"address", "folder", "folder_id", "processed_folder", "processed_folder_id"}
    assert "Jane" not in (tmp_path / "state.json").read_text()
    after = open_mailbox(server)
    count = len(server.requests)
    [two] = after.fetch_new()
    after.mark_processed(two)
    assert two.data == message(2)
    assert "FindFolder" not in _operations_after(server, count)  # the processed folder's id was kept


def test_a_lost_or_corrupt_state_file_loses_nothing(server, open_mailbox, tmp_path):
    server.deliver(message(1))
    open_mailbox(server).fetch_new()
    (tmp_path / "state.json").write_text("{not json")
    fresh = open_mailbox(server)
    [again] = fresh.fetch_new()
    fresh.mark_processed(again)
    assert server.messages("mailbot/processed") == [message(1)]


# -- logins ------------------------------------------------------------------------------------


def test_a_refused_login_is_authentication_failed_with_the_reason_and_the_fix(server, open_mailbox):
    server.refuse_logins()
    with pytest.raises(AuthenticationFailed) as refused:
        open_mailbox(server).fetch_new()
    assert "refused the login of bsp@bury.example (HTTP 401)" in refused.value.reason
    assert server.url in refused.value.reason and "password_env" in refused.value.fix


def test_a_wrong_password_fails_the_ntlm_proof(server, open_mailbox):
    server.deliver(message(1))
    with pytest.raises(AuthenticationFailed):
        open_mailbox(server, password="not-the-password").fetch_new()
    assert server.messages() == [message(1)]


def test_a_domain_account_logs_in_with_ntlm(start_server, open_mailbox):
    server = start_server(username="BURY\\svc-mailbot")
    server.deliver(message(1))
    assert len(open_mailbox(server, username="BURY\\svc-mailbot").fetch_new()) == 1


def test_a_mailbox_the_account_cannot_open_is_authentication_failed(start_server, open_mailbox):
    server = start_server(address="shared@bury.example", username="bsp@bury.example")
    with pytest.raises(AuthenticationFailed) as refused:
        open_mailbox(server, address="other@bury.example", username="bsp@bury.example").fetch_new()
    assert "no mailbox with this address" in refused.value.reason


def _oauth2(server: EwsServer, certificate: Certificate, provider: Callable[[], str]) -> dict:
    return {"auth_type": "oauth2", "password": None, "token_provider": provider,
            "ca_file": str(certificate.cert_path)}


def test_oauth2_sends_the_bearer_token_and_impersonates_the_mailbox(start_server, open_mailbox,
                                                                   tls_certificate):
    server = start_server(auth="bearer", certificate=tls_certificate)
    server.tokens.add("token-1")
    server.deliver(message(1))
    adapter = open_mailbox(server, **_oauth2(server, tls_certificate, lambda: "token-1"))
    assert [m.data for m in adapter.fetch_new()] == [message(1)]
    assert all(b"<t:ExchangeImpersonation>" in r.xml for r in server.requests)


def test_oauth2_takes_a_renewed_token_without_restarting(start_server, open_mailbox, tls_certificate):
    server = start_server(auth="bearer", certificate=tls_certificate)
    tokens = ["token-1"]
    server.tokens.add("token-1")
    adapter = open_mailbox(server, **_oauth2(server, tls_certificate, lambda: tokens[-1]))
    adapter.fetch_new()
    server.tokens.clear()  # the old token expired at the server
    server.tokens.add("token-2")
    tokens.append("token-2")
    server.deliver(message(1))
    assert [m.data for m in adapter.fetch_new()] == [message(1)]


def test_a_revoked_oauth2_token_is_authentication_failed(start_server, open_mailbox, tls_certificate):
    server = start_server(auth="bearer", certificate=tls_certificate)
    adapter = open_mailbox(server, **_oauth2(server, tls_certificate, lambda: "revoked"))
    with pytest.raises(AuthenticationFailed):
        adapter.fetch_new()


def test_a_failing_token_provider_is_reported_as_it_is(start_server, open_mailbox, tls_certificate):
    def refuse() -> str:
        raise AuthenticationFailed("the client secret expired", "make a new one")

    server = start_server(auth="bearer", certificate=tls_certificate)
    adapter = open_mailbox(server, **_oauth2(server, tls_certificate, refuse))
    with pytest.raises(AuthenticationFailed, match="client secret expired"):
        adapter.fetch_new()


# -- throttling and dropped connections --------------------------------------------------------


def test_server_busy_is_transient_honours_the_back_off_and_loses_nothing(server, open_mailbox):
    for n in range(3):
        server.deliver(message(n))
    adapter = open_mailbox(server)
    server.busy_next(1, back_off_ms=1500)  # answered to the very first request, the version probe
    with pytest.raises(ServerBusy) as busy:
        adapter.fetch_new()
    assert busy.value.back_off == 1.5
    count = len(server.requests)
    with pytest.raises(TransientError):
        adapter.fetch_new()  # still inside the back-off: Exchange is not asked again
    assert len(server.requests) == count
    time.sleep(1.6)
    fetched = adapter.fetch_new()
    assert [m.data for m in fetched] == [message(n) for n in range(3)]
    for raw in fetched:
        adapter.mark_processed(raw)
    assert adapter.fetch_new() == []
    assert server.messages("mailbot/processed") == [message(n) for n in range(3)]


def test_a_connection_dropped_once_is_retried_at_once(server, open_mailbox):
    server.deliver(message(1))
    adapter = open_mailbox(server)
    adapter.fetch_new()
    server.drop_next(1, operation="FindItem")
    assert [m.data for m in adapter.fetch_new()] == [message(1)]


def test_a_connection_that_keeps_dropping_is_transient_and_loses_nothing(server, open_mailbox):
    server.deliver(message(1))
    adapter = open_mailbox(server)
    server.drop_next(2)
    with pytest.raises(TransientError):
        adapter.fetch_new()
    assert [m.data for m in adapter.fetch_new()] == [message(1)]


def test_a_move_whose_answer_was_lost_is_not_repeated(server, open_mailbox):
    server.deliver(message(1))
    server.deliver(message(2))
    adapter = open_mailbox(server)
    one, two = adapter.fetch_new()
    adapter.mark_processed(one)  # makes the processed folder
    server.drop_next(2, when="after", operation="MoveItem")  # the move happens; both answers are lost
    with pytest.raises(TransientError):
        adapter.mark_processed(two)
    adapter.mark_processed(two)  # the worker tries again: the old ItemId is gone, which is fine
    assert server.messages() == [] and server.messages("mailbot/processed") == [message(1), message(2)]
    assert adapter.fetch_new() == []


def test_a_wait_rides_out_a_busy_server(server, open_mailbox):
    adapter = open_mailbox(server)
    adapter.fetch_new()
    server.busy_next(2, back_off_ms=200)
    server.deliver(message(1))
    assert adapter.wait_for_new(10) is True


# -- configuration and TLS ---------------------------------------------------------------------


def test_plain_http_to_a_remote_server_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="plain http"):
        EwsMailbox("test", "bsp@bury.example", service_endpoint="http://mail.bury.example/EWS/Exchange.asmx",
                   password="x", state_path=tmp_path / "s.json")


def test_oauth2_over_plain_http_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigError, match="https"):
        EwsMailbox("test", "bsp@bury.example", service_endpoint="http://127.0.0.1:1/EWS/Exchange.asmx",
                   auth_type="oauth2", token_provider=lambda: "t", state_path=tmp_path / "s.json")


def test_ntlm_without_a_password_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigError, match="password_env"):
        EwsMailbox("test", "bsp@bury.example", service_endpoint="https://mail.bury.example/EWS/Exchange.asmx",
                   state_path=tmp_path / "s.json")


def test_tls_is_verified_against_the_configured_ca_file(start_server, open_mailbox,
                                                        tls_certificate: Certificate):
    server = start_server(certificate=tls_certificate)
    server.deliver(message(1))
    assert server.url.startswith("https://")
    untrusting = open_mailbox(server)
    with pytest.raises(PermanentError, match="not trusted"):
        untrusting.fetch_new()
    trusting = open_mailbox(server, ca_file=str(tls_certificate.cert_path))
    assert [m.data for m in trusting.fetch_new()] == [message(1)]


# -- sending -----------------------------------------------------------------------------------


def _built(message_id: str, to: str = "referrer@school.example") -> OutgoingEmail:
    data = build_email(from_addr="Bury Safeguarding <bsp@bury.example>", to=[to],
                       subject="[BSCP-2026-0007] Your request for resolution", text="Received.\n",
                       html="<p>Received.</p>", message_id=message_id, auto_submitted="auto-replied",
                       date=datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    return OutgoingEmail(message_id, "bsp@bury.example", (to,), data)


@pytest.fixture
def open_mailer() -> Iterator[Callable[..., EwsMailer]]:
    opened: list[EwsMailer] = []

    def open_(server: EwsServer, **options) -> EwsMailer:
        settings = {"password": server.password, "timeout": 10, **options}
        mailer = EwsMailer(server.address, service_endpoint=server.url, **settings)
        opened.append(mailer)
        return mailer

    yield open_
    for mailer in opened:
        mailer.close()


def test_a_built_message_reaches_exchange_byte_for_byte_and_is_filed_in_sent_items(server, open_mailer):
    email = _built("<a1@bury.example>")
    open_mailer(server).send(email)
    [sent] = server.sent
    assert sent.mime == email.data
    assert sent.disposition == "SendAndSaveCopy" and sent.saved_in == "Sent Items"
    assert sent.recipients == {"referrer@school.example"}
    assert server.messages("Sent Items") == [email.data]


def test_a_redirected_envelope_is_who_receives_it(server, open_mailer):
    email = _built("<a2@bury.example>")
    redirected = OutgoingEmail(email.message_id, email.envelope_from, ("trial@bury.example",), email.data)
    open_mailer(server).send(redirected)
    [sent] = server.sent
    assert sent.recipients == {"trial@bury.example"}
    assert b"referrer@school.example" not in sent.mime


def test_a_send_whose_answer_was_lost_is_not_sent_twice(server, open_mailer):
    mailer = open_mailer(server)
    email = _built("<a3@bury.example>")
    mailer.send(_built("<warm-up@bury.example>"))  # the session and Sent Items are known now
    server.drop_next(1, when="after", operation="CreateItem")
    with pytest.raises(TransientError):
        mailer.send(email)
    mailer.send(email)  # the outbox retries; Sent Items shows it went
    assert [s.mime for s in server.sent].count(email.data) == 1
    assert server.operations()[-1] == "FindItem"


def test_a_refused_login_when_sending_is_authentication_failed(server, open_mailer):
    server.refuse_logins()
    with pytest.raises(AuthenticationFailed):
        open_mailer(server).send(_built("<a4@bury.example>"))
    assert server.sent == []
