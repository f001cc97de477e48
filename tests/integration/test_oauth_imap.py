"""IMAP with OAuth2 (XOAUTH2): msal tokens from the loopback identity platform, checked by Dovecot.

Dovecot's oauth2 passdb validates each token locally (HS256 key shared with the identity
platform, login name from the ``email`` claim), so the real login code, the real msal flow
and the real token checks all run. A token the server refuses is replaced once by a fresh one;
a second refusal is an AuthenticationFailed with the reason, which reaches the mailbox's
business managers once while the other mailboxes carry on.
"""

from __future__ import annotations

import email
import email.policy
import os
import time
from datetime import datetime

import pytest

from mailbot.adapters.imap_mailbox import ImapMailbox
from mailbot.adapters.jinja_renderer import JinjaRenderer
from mailbot.adapters.mail_composer import MailComposer
from mailbot.adapters.microsoft.tokens import MsalTokenProvider
from mailbot.adapters.policy_files import calendar_for, load_policy
from mailbot.domain.engine import CaseEngine
from mailbot.domain.errors import AuthenticationFailed, TransientError
from mailbot.domain.notices import Partnership, Template
from mailbot.domain.referral import Person
from mailbot.domain.working_days import LONDON
from mailbot.services.context import MailboxContext, Services
from mailbot.services.polling import poll_mailbox
from tests.integration.mailbox_worlds import INBOX, ImapWorld, message
from tests.integration.test_mailbox_contract import (  # noqa: F401 - run here over OAuth2
    test_a_backlog_is_taken_in_batches_of_the_limit,
    test_a_fetched_message_stays_in_the_inbox_until_it_is_marked,
    test_a_recreated_folder_is_rescanned_and_stale_uids_are_not_moved,
    test_a_restarted_worker_neither_repeats_processed_mail_nor_skips_the_rest,
    test_a_wait_ends_as_soon_as_mail_arrives,
    test_an_empty_mailbox_gives_nothing,
    test_marking_moves_only_that_message_and_is_idempotent,
    test_new_mail_is_seen_oldest_first,
)
from tests.servers.dovecot import DovecotServer, dovecot_binary
from tests.servers.identity import EXCHANGE, IdentityPlatform
from tests.unit.fakes import FakeDatabase, FakeUnitOfWork

SIGNING_KEY = os.urandom(32)  # shared by the identity platform and Dovecot for this module
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=LONDON)


class Clock:
    """The provider's clock; the tokens' own times stay real, as Dovecot checks them."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture(scope="module")
def dovecot_oauth2(tls_certificate):
    if dovecot_binary() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Dovecot (dovecot-imapd) is required under CI=true")
        pytest.skip("Dovecot (dovecot-imapd) is not installed")
    probe = IdentityPlatform(tls_certificate, signing_key=SIGNING_KEY)
    server = DovecotServer(tls_certificate, oauth2_keys={probe.key_id: SIGNING_KEY})
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def platform(tls_certificate):
    with IdentityPlatform(tls_certificate, signing_key=SIGNING_KEY) as running:
        yield running


class OAuthImapWorld(ImapWorld):
    """An ImapWorld whose adapters log in with XOAUTH2 over TLS, with their own app."""

    def __init__(self, server: DovecotServer, platform: IdentityPlatform, certificate):
        super().__init__(server)
        self.platform, self.certificate = platform, certificate
        self.app = platform.register_app(self.account.username)
        self.clock = Clock()

    def provider(self, secret: str | None = None) -> MsalTokenProvider:
        return MsalTokenProvider(
            self.platform.tenant_id, self.app.client_id, scope=f"{EXCHANGE}/.default",
            client_secret=secret or self.app.secret, authority_host=self.platform.authority_host,
            verify=str(self.certificate.cert_path), clock=self.clock, timeout=5)

    def open(self, folder: str = INBOX, *, name: str = "test", token_provider=None,
             **options) -> ImapMailbox:
        adapter = ImapMailbox(
            name, self.server.host, self.server.tls_port, "tls", self.account.username,
            token_provider=token_provider or self.provider(), folder=folder, timeout=10,
            ssl_context=self.certificate.client_context(), poll_interval=0.2, **options)
        self._opened.append(adapter)
        return adapter


@pytest.fixture
def world(dovecot_oauth2, platform, tls_certificate):
    made = OAuthImapWorld(dovecot_oauth2, platform, tls_certificate)
    yield made
    made.close()


def test_a_token_refused_at_login_is_replaced_once_and_the_mailbox_carries_on(world,
                                                                                platform):
    world.deliver(message(1))
    platform.issue_expired_tokens(1)  # the first token is already dead when Dovecot sees it
    adapter = world.open()
    assert [m.data for m in adapter.fetch_new()] == [message(1)]
    assert len(platform.token_requests) == 2


def test_an_expired_token_is_refused_and_reported_with_its_reason(world, platform):
    platform.issue_expired_tokens()  # every token, the fresh one too
    with pytest.raises(AuthenticationFailed) as caught:
        world.open().fetch_new()
    reason = caught.value.reason
    assert f"IMAP server refused the OAuth2 token of app {world.app.client_id}" in reason
    assert world.account.username in reason and "had already expired" in reason
    assert "clock" in caught.value.fix
    assert len(platform.token_requests) == 2  # one fresh token was tried, no more


def test_a_wrongly_signed_token_is_refused_and_reported(world, platform):
    platform.sign_with_wrong_key()
    with pytest.raises(AuthenticationFailed) as caught:
        world.open().fetch_new()
    assert "IMAP server refused the OAuth2 token" in caught.value.reason
    assert "AUTHENTICATIONFAILED" in caught.value.reason  # what Dovecot said
    assert "New-ServicePrincipal" in caught.value.fix
    assert len(platform.token_requests) == 2


def test_an_expired_client_secret_is_reported_before_any_login(world, platform):
    platform.expire_secret(world.app.client_id)
    with pytest.raises(AuthenticationFailed) as caught:
        world.open().fetch_new()
    assert "client secret of app" in caught.value.reason
    assert "AADSTS7000222" in caught.value.reason


def test_an_unreachable_identity_platform_is_a_passing_failure(world, platform):
    platform.go_down()
    with pytest.raises(TransientError):
        world.open().fetch_new()


def test_the_token_is_refreshed_before_expiry_and_no_mail_is_lost_or_repeated(world, platform):
    for n in range(3):
        world.deliver(message(n))
    adapter = world.open()
    first = adapter.fetch_new()
    adapter.mark_processed(first[0])
    world.clock.offset = 3600 - 300 + 1  # inside the refresh margin of the first token
    world.restart_server()  # the server drops the session, as Exchange Online does now and then
    world.deliver(message(3))
    again = adapter.fetch_new()
    assert [m.data for m in again] == [message(1), message(2), message(3)]
    assert len(platform.token_requests) == 2  # the reconnection logged in with a new token
    for raw in again:
        adapter.mark_processed(raw)
    assert adapter.fetch_new() == []
    assert world.waiting() == []
    assert world.processed() == [message(n) for n in range(4)]


# -- reporting: one mailbox failing, the other carrying on ---------------------------------

REFERRAL = """\
From: Priya Shah <priya@school.example>
To: {address}
Subject: Request for resolution
Message-ID: <ref-{name}@school.example>

Child's name: Sam Sample
Date of birth: 14/03/2015
Referrer's name: Priya Shah
Referrer's email: priya@school.example
Agency/Team: Hollins Primary School
Summary of disagreement: The threshold for assessment is met but the front door closed it.
Desired outcome: An assessment.
"""


def _context(name: str, address: str, manager: str) -> MailboxContext:
    policy = load_policy(name)
    partnership = Partnership(address, (Person("Business Manager", manager),))
    return MailboxContext(name, address, policy, CaseEngine(policy, calendar_for(policy),
                                                            partnership), sender_trust="none")


def _notices(db: FakeDatabase, template: str) -> list:
    return [row.item for row in db.outbox.values() if row.item.template == template]


def _body(item) -> str:
    parsed = email.message_from_bytes(item.data, policy=email.policy.default)
    return parsed.get_body(("plain",)).get_content()


def test_an_expired_secret_is_reported_once_and_the_other_mailbox_carries_on(
        dovecot_oauth2, platform, tls_certificate):
    failing = OAuthImapWorld(dovecot_oauth2, platform, tls_certificate)
    working = OAuthImapWorld(dovecot_oauth2, platform, tls_certificate)
    contexts = {"bury": _context("bury", "bsp@bury.example", "bm@bury.example"),
                "bromley": _context("bromley", "bscp@bromley.example", "bm@bromley.example")}
    db = FakeDatabase()
    services = Services(lambda: FakeUnitOfWork(db), MailComposer(JinjaRenderer()), contexts)
    secrets = {"bury": failing.app.secret}
    for world, name in ((failing, "bury"), (working, "bromley")):
        world.deliver(REFERRAL.format(address=contexts[name].address, name=name)
                      .replace("\n", "\r\n").encode())
    platform.expire_secret(failing.app.client_id)

    def open_failing() -> ImapMailbox:  # as bootstrap would: the secret read afresh each time
        return failing.open(name="bury", token_provider=failing.provider(secrets["bury"]))

    def poll_both():
        return (poll_mailbox(services, contexts["bury"], open_failing, lambda: MONDAY),
                poll_mailbox(services, contexts["bromley"], lambda: working.open(name="bromley"),
                             lambda: MONDAY))
    try:
        handled_by_bromley = 0
        for _ in range(3):
            bury, bromley = poll_both()
            assert bury.failed and not bromley.failed
            handled_by_bromley += bromley.handled
        assert handled_by_bromley == 1 and working.waiting() == []
        failures = _notices(db, Template.MAILBOX_FAILURE)
        assert [f.recipient for f in failures] == ["bm@bury.example"]
        text = _body(failures[0])
        assert "the client secret of app" in text and "has expired (AADSTS7000222)" in text
        assert "Create a new client secret" in text
        assert _notices(db, Template.MAILBOX_RECOVERED) == []

        secrets["bury"] = platform.new_secret(failing.app.client_id)  # the administrator's fix
        bury, _ = poll_both()
        assert not bury.failed and bury.handled == 1 and failing.waiting() == []
        recovered = _notices(db, Template.MAILBOX_RECOVERED)
        assert [r.recipient for r in recovered] == ["bm@bury.example"]
        assert len(_notices(db, Template.MAILBOX_FAILURE)) == 1
    finally:
        failing.close()
        working.close()
