"""SMTP with OAuth2 (AUTH XOAUTH2): msal tokens from the loopback identity platform, checked by aiosmtpd.

The test server validates each token as Exchange Online would (signature, expiry, the mailbox,
the SMTP.SendAsApp role) and refuses a bad one with the XOAUTH2 error challenge and 535. The
mailer replaces a refused token once with a fresh one; a second refusal is an
AuthenticationFailed naming what is wrong.
"""

from __future__ import annotations

import time

import pytest

from mailbot.adapters.microsoft.tokens import MsalTokenProvider
from mailbot.adapters.smtp_mailer import SmtpMailer
from mailbot.domain.errors import AuthenticationFailed, PermanentError
from mailbot.services.ports import OutgoingEmail
from tests.servers.identity import EXCHANGE, IdentityPlatform

MAILBOX = "bsp@bury.example"


class Clock:
    def __init__(self):
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def platform(tls_certificate):
    with IdentityPlatform(tls_certificate) as running:
        yield running


@pytest.fixture
def app(platform):
    return platform.register_app(MAILBOX)


@pytest.fixture
def relay(start_smtp_server, tls_certificate, platform):
    """Exchange Online's SMTP AUTH endpoint, as far as tokens go."""
    return start_smtp_server(
        security="tls", certificate=tls_certificate,
        token_check=lambda user, token: platform.check_token(token, user=user,
                                                             role="SMTP.SendAsApp"))


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def mailer(relay, platform, app, tls_certificate, clock):
    provider = MsalTokenProvider(
        platform.tenant_id, app.client_id, scope=f"{EXCHANGE}/.default", client_secret=app.secret,
        authority_host=platform.authority_host, verify=str(tls_certificate.cert_path),
        clock=clock, timeout=5)
    made = SmtpMailer(relay.host, relay.port, "tls", MAILBOX, token_provider=provider,
                      timeout=10, ssl_context=tls_certificate.client_context())
    yield made
    made.close()


def _email(n: int = 1) -> OutgoingEmail:
    data = (f"From: Bury Safeguarding Partnership <{MAILBOX}>\r\nTo: referrer@school.example\r\n"
            f"Subject: [BSCP-2026-000{n}] Acknowledgement\r\nMessage-ID: <ack{n}@bury.example>\r\n"
            f"\r\nYour referral has been received.\r\n").encode()
    return OutgoingEmail(f"<ack{n}@bury.example>", MAILBOX, ("referrer@school.example",), data)


def test_a_valid_token_sends_the_mail_as_the_mailbox(mailer, relay, platform):
    mailer.send(_email())
    (received,) = relay.wait_for(1)
    assert received.authenticated_as == MAILBOX
    assert len(platform.token_requests) == 1 and relay.token_refusals == []


def test_a_refused_token_is_replaced_once_and_the_mail_goes(mailer, relay, platform):
    platform.issue_expired_tokens(1)
    mailer.send(_email())
    assert len(relay.wait_for(1)) == 1
    assert relay.token_refusals == ["token expired"]
    assert len(platform.token_requests) == 2


def test_an_expired_token_is_refused_with_535_and_reported(mailer, relay, platform, app):
    platform.issue_expired_tokens()
    with pytest.raises(AuthenticationFailed) as caught:
        mailer.send(_email())
    assert isinstance(caught.value, PermanentError)
    reason = caught.value.reason
    assert f"SMTP server refused the OAuth2 token of app {app.client_id}" in reason
    assert f"for {MAILBOX} at {relay.host}:{relay.port}" in reason
    assert "had already expired" in reason and "535" in reason
    assert relay.received == [] and len(platform.token_requests) == 2


def test_a_token_without_send_as_app_names_the_missing_permission(mailer, relay, platform, app):
    platform.withdraw_roles(app.client_id)  # admin consent revoked
    with pytest.raises(AuthenticationFailed) as caught:
        mailer.send(_email())
    assert "lacks the SMTP.SendAsApp permission (granted: none)" in caught.value.reason
    assert "API permissions" in caught.value.fix and "SMTP.SendAsApp" in caught.value.fix
    assert relay.received == []


def test_a_wrongly_signed_token_is_refused_and_reported(mailer, relay, platform):
    platform.sign_with_wrong_key()
    with pytest.raises(AuthenticationFailed) as caught:
        mailer.send(_email())
    assert "SMTP server refused the OAuth2 token" in caught.value.reason
    assert "535 5.7.3 Authentication unsuccessful" in caught.value.reason
    assert relay.received == []


def test_an_expired_client_secret_is_reported_as_such(mailer, relay, platform, app):
    platform.expire_secret(app.client_id)
    with pytest.raises(AuthenticationFailed) as caught:
        mailer.send(_email())
    assert "client secret of app" in caught.value.reason and "AADSTS7000222" in caught.value.reason


def test_a_token_refreshed_mid_run_is_used_at_the_next_connection(mailer, relay, platform,
                                                                   clock):
    mailer.send(_email(1))
    clock.offset = 3600 - 300 + 1
    mailer.send(_email(2))  # the open connection is still good: no new login, no new token
    assert len(platform.token_requests) == 1
    relay.restart()  # the relay drops the connection
    mailer.send(_email(3))
    assert len(relay.wait_for(3)) == 3
    assert len(platform.token_requests) == 2 and relay.token_refusals == []


def test_a_refused_password_is_an_authentication_failure(start_smtp_server, tls_certificate):
    server = start_smtp_server(security="tls", certificate=tls_certificate,
                               credentials={MAILBOX: "right"})
    mailer = SmtpMailer(server.host, server.port, "tls", MAILBOX, password="wrong", timeout=10,
                        ssl_context=tls_certificate.client_context())
    with pytest.raises(AuthenticationFailed) as caught:
        mailer.send(_email())
    assert f"SMTP login refused for {MAILBOX}" in caught.value.reason
    assert "password_env" in caught.value.fix
