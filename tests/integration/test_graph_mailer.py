"""The Graph mailer against the fake Graph server: sendMail with the MIME mailbot built.

The server decodes the base64 body as Graph does and keeps the MIME it would send, so a test
compares bytes; refusals and throttling come back as Graph's error bodies.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes

import pytest

from mailbot.adapters.email_builder import build_email
from mailbot.adapters.microsoft.graph_mailbox import GraphMailer
from mailbot.domain.errors import AuthenticationFailed, PermanentError, TransientError
from mailbot.services.ports import OutgoingEmail
from tests.servers.graph import GraphServer
from tests.servers.graph_store import GraphMailboxStore

SENDER = "bsp@bury.example"


@pytest.fixture
def server() -> Iterator[GraphServer]:
    with GraphServer() as started:
        yield started


@pytest.fixture
def store(server: GraphServer) -> GraphMailboxStore:
    return server.add_mailbox(SENDER)


@pytest.fixture
def mailer(server: GraphServer, store: GraphMailboxStore) -> GraphMailer:
    return GraphMailer(SENDER, server.token_source(), base_url=server.base_url, timeout=10,
                       max_throttle_wait=3)


def built(recipient: str = "rita@school.example") -> OutgoingEmail:
    data = build_email(
        from_addr=f"Bury Safeguarding Partnership <{SENDER}>", to=[f"Rita Head <{recipient}>"],
        subject="[BSCP-2026-0007] Request for Resolution received", text="We have your referral.\n",
        html="<p>We have your referral.</p>", message_id="ack-1@bury.example",
        auto_submitted="auto-replied", date=datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
        attachments=[("notice.docx", "application/octet-stream", b"\x00PK" * 50)],
    )
    return OutgoingEmail("ack-1@bury.example", SENDER, (recipient,), data)


def test_send_mail_hands_graph_the_exact_mime_we_built(server, store, mailer):
    email = built()
    mailer.send(email)
    assert store.sent == [email.data]
    [request] = server.requests_to("/sendMail")
    assert request.method == "POST" and request.status == 202
    assert [m.mime for m in store.in_folder(store.folder("sentitems").id)] == [email.data]


def test_a_staging_redirect_readdresses_the_message_to_the_envelope_only(store, mailer):
    email = built()
    redirected = OutgoingEmail(email.message_id, SENDER, ("staging@council.example",), email.data)
    mailer.send(redirected)
    [sent] = store.sent
    parsed = message_from_bytes(sent)
    assert parsed.get_all("To") == ["staging@council.example"]
    assert parsed["X-Mailbot-Original-To"] == "rita@school.example"
    assert sent.split(b"\r\n\r\n", 1)[1] == email.data.split(b"\r\n\r\n", 1)[1]  # body untouched


def test_an_unresolvable_recipient_is_a_permanent_error(server, store, mailer):
    server.refuse_recipient("rita@school.example")
    with pytest.raises(PermanentError, match="ErrorInvalidRecipients") as raised:
        mailer.send(built())
    assert not isinstance(raised.value, TransientError) and store.sent == []


def test_throttling_past_the_budget_and_server_failures_are_transient(server, store, mailer):
    server.throttle(1, retry_after=600)
    with pytest.raises(TransientError, match="throttling"):
        mailer.send(built())
    server.throttle(1, retry_after=1, status=503)  # a 503 with Retry-After is waited out too
    mailer.send(built())
    assert len(store.sent) == 1


def test_a_send_whose_answer_is_lost_is_transient_and_not_repeated_by_the_mailer(server, store, mailer):
    server.drop_connections(1, "sendMail")
    with pytest.raises(TransientError):
        mailer.send(built())
    assert len(store.sent) == 1  # Graph took it; the outbox decides what happens next


def test_a_missing_send_permission_names_mail_send(server, mailer):
    server.deny_access("Access is denied. Check credentials and try again.")
    with pytest.raises(AuthenticationFailed) as raised:
        mailer.send(built())
    assert "ErrorAccessDenied" in raised.value.reason and "Mail.Send" in raised.value.fix


def test_a_message_with_no_recipients_is_refused_before_any_request(server, mailer):
    email = built()
    with pytest.raises(PermanentError, match="no recipients"):
        mailer.send(OutgoingEmail(email.message_id, SENDER, (), email.data))
    assert server.exchanges == []
