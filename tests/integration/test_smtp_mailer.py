"""The SMTP mailer against aiosmtpd on loopback: delivery, TLS, logins, and failure classes.

The outbox decides what to do with a failure by its class alone, so each SMTP outcome must
land in the right one: 4xx and outages transient, 5xx permanent, partial refusal reported.
"""

from __future__ import annotations

import pytest

from mailbot.adapters.smtp_mailer import SmtpMailer
from mailbot.domain.errors import ConfigError, PermanentError, TransientError
from mailbot.services.ports import OutgoingEmail, RecipientsRefused


def _email(n: int = 1, recipients: tuple[str, ...] = ("referrer@school.example",)):
    data = (
        f"From: Bury Safeguarding Partnership <bsp@bury.example>\r\n"
        f"To: {', '.join(recipients)}\r\n"
        f"Subject: [BSCP-2026-000{n}] Acknowledgement\r\n"
        f"Message-ID: <ack{n}@bury.example>\r\n"
        f"Auto-Submitted: auto-replied\r\n"
        f"\r\n"
        f"Your referral has been received.\r\n"
    ).encode()
    return OutgoingEmail(f"<ack{n}@bury.example>", "bsp@bury.example", recipients, data)


def _mailer(server, **options) -> SmtpMailer:
    settings = {"security": "none", "timeout": 5, **options}
    return SmtpMailer(server.host, server.port, **settings)


def test_a_message_is_delivered_exactly_as_built(smtp_server):
    mailer = _mailer(smtp_server)
    email = _email()
    mailer.send(email)
    mailer.close()
    (received,) = smtp_server.wait_for(1)
    assert received.envelope_from == "bsp@bury.example"
    assert received.recipients == ("referrer@school.example",)
    assert received.data.replace(b"\r\n", b"\n") == email.data.replace(b"\r\n", b"\n")


def test_one_connection_carries_several_messages_and_survives_a_relay_restart(smtp_server):
    mailer = _mailer(smtp_server)
    mailer.send(_email(1))
    mailer.send(_email(2))
    smtp_server.restart()  # the relay drops the idle connection
    mailer.send(_email(3))
    mailer.close()
    assert [r.data.count(b"Subject") for r in smtp_server.wait_for(3)] == [1, 1, 1]


def test_starttls_with_a_password(start_smtp_server, tls_certificate):
    server = start_smtp_server(security="starttls", certificate=tls_certificate,
                               credentials={"bsp@bury.example": "s3cret"})
    mailer = _mailer(server, security="starttls", username="bsp@bury.example",
                     password="s3cret", ssl_context=tls_certificate.client_context())
    mailer.send(_email())
    mailer.close()
    assert server.wait_for(1)[0].authenticated_as == "bsp@bury.example"


def test_implicit_tls_with_an_xoauth2_token(start_smtp_server, tls_certificate):
    server = start_smtp_server(security="tls", certificate=tls_certificate,
                               credentials={"bsp@bury.example": "token-abc"})
    mailer = _mailer(server, security="tls", username="bsp@bury.example",
                     token_provider=lambda: "token-abc",
                     ssl_context=tls_certificate.client_context())
    mailer.send(_email())
    mailer.close()
    assert server.wait_for(1)[0].authenticated_as == "bsp@bury.example"


def test_a_wrong_password_is_permanent(start_smtp_server, tls_certificate):
    server = start_smtp_server(security="starttls", certificate=tls_certificate,
                               credentials={"bsp@bury.example": "s3cret"})
    mailer = _mailer(server, security="starttls", username="bsp@bury.example",
                     password="wrong", ssl_context=tls_certificate.client_context())
    with pytest.raises(PermanentError, match="535"):
        mailer.send(_email())
    assert server.received == []


def test_starttls_that_the_relay_does_not_offer_is_never_skipped(smtp_server):
    mailer = _mailer(smtp_server, security="starttls")
    with pytest.raises(PermanentError, match="STARTTLS"):
        mailer.send(_email())
    assert smtp_server.received == []


def test_temporary_refusals_are_transient_and_delivery_follows_recovery(flaky_smtp_server):
    mailer = _mailer(flaky_smtp_server)
    with pytest.raises(TransientError, match="421"):
        mailer.send(_email())
    with pytest.raises(TransientError, match="451"):
        mailer.send(_email())
    mailer.send(_email())
    mailer.close()
    assert len(flaky_smtp_server.wait_for(1)) == 1
    assert flaky_smtp_server.attempts == 3


def test_a_permanent_refusal_is_permanent(rejecting_smtp_server):
    with pytest.raises(PermanentError, match="550") as caught:
        _mailer(rejecting_smtp_server).send(_email())
    assert not isinstance(caught.value, RecipientsRefused)
    assert rejecting_smtp_server.received == []


def test_a_partial_refusal_names_who_got_it_and_who_did_not(smtp_server):
    smtp_server.refuse("gone@agency.example")
    email = _email(recipients=("referrer@school.example", "gone@agency.example"))
    with pytest.raises(RecipientsRefused) as caught:
        _mailer(smtp_server).send(email)
    assert caught.value.accepted == ("referrer@school.example",)
    assert caught.value.refused["gone@agency.example"][0] == 550
    assert smtp_server.wait_for(1)[0].recipients == ("referrer@school.example",)


def test_an_outage_is_transient_and_sending_resumes_when_the_relay_returns(smtp_server):
    mailer = _mailer(smtp_server)
    smtp_server.stop()
    with pytest.raises(TransientError):
        mailer.send(_email(1))
    smtp_server.start()
    mailer.send(_email(1))
    mailer.close()
    assert len(smtp_server.wait_for(1)) == 1


def test_plain_text_to_a_remote_relay_is_refused_at_configuration():
    with pytest.raises(ConfigError, match="plain-text"):
        SmtpMailer("smtp.example.org", 25, "none")
    with pytest.raises(ConfigError, match="unknown security"):
        SmtpMailer("127.0.0.1", 25, "ssl")
    SmtpMailer("localhost", 25, "none")  # loopback by name is fine
