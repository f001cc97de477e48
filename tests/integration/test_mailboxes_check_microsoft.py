"""`mailbot mailboxes check` for Microsoft 365 and Exchange, on the loopback servers of tests/servers.

msal fetches real tokens from the loopback identity platform (https, the documented token
endpoint); the fake Graph trusts exactly the tokens that platform signs; Dovecot and aiosmtpd
check the same tokens for IMAP and SMTP XOAUTH2; the fake Exchange Server speaks EWS with NTLM.
Each kind gets a working and a broken mailbox, built from a config file as a user writes it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from email import message_from_bytes
from pathlib import Path

import pytest

from mailbot.config import load_settings
from mailbot.entrypoints.mailbox_check import check_mailboxes
from mailbot.services.mailbox_check import MailboxReport, Outcome, render
from tests.integration.conftest import missing
from tests.servers import free_port
from tests.servers.dovecot import DovecotServer, dovecot_binary
from tests.servers.ews import EwsServer
from tests.servers.graph import GraphServer
from tests.servers.identity import IdentityPlatform

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.fromisoformat("2026-03-02T10:00:00+00:00")
MESSAGE = (b"From: referrer@school.example\r\nTo: chscp@hackney.example\r\nSubject: hello\r\n"
           b"Message-ID: <check-ms-1@school.example>\r\n\r\nA waiting message.\r\n")
SECRET_ENV = "CHECK_M365_SECRET"


class TrustingGraph(GraphServer):
    """The fake Graph, accepting the identity platform's tokens that carry Mail.ReadWrite."""

    def __init__(self, identity: IdentityPlatform, **options):
        super().__init__(**options)
        self.identity = identity

    def token_accepted(self, token: str) -> bool:
        if self.behaviour.refuse_all_tokens:
            return False
        return any(self.identity.check_token(token, user=address, role="Mail.ReadWrite") is None
                   for address in self.mailboxes)


@pytest.fixture(scope="module")
def identity(tls_certificate) -> Iterator[IdentityPlatform]:
    with IdentityPlatform(tls_certificate) as started:
        yield started


@pytest.fixture
def graph(identity) -> Iterator[TrustingGraph]:
    server = TrustingGraph(identity)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def ews() -> Iterator[EwsServer]:
    server = EwsServer("bscp@bromley.example")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def oauth_dovecot(tls_certificate, identity) -> Iterator[DovecotServer]:
    if dovecot_binary() is None:
        missing("Dovecot (dovecot-imapd)")
    server = DovecotServer(tls_certificate, oauth2_keys={identity.key_id: identity.signing_key})
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


def _oauth(identity, app, tls_certificate) -> str:
    return (f'tenant_id = "{identity.tenant_id}"\nclient_id = "{app.client_id}"\n'
            f'client_secret_env = "{SECRET_ENV}"\nauthority_host = "{identity.authority_host}"\n'
            f'ca_file = "{tls_certificate.cert_path}"\n')


def _graph_mailbox(graph, identity, app, tls_certificate) -> str:
    return ('[[mailbox]]\nname = "hackney"\naddress = "chscp@hackney.example"\npolicy = "hackney"\n'
            'kind = "graph"\nsend_via = "graph"\nbusiness_managers = ["bm@hackney.example"]\n'
            f'sender_trust = "none"\n[mailbox.oauth]\n{_oauth(identity, app, tls_certificate)}'
            f'[mailbox.graph]\nbase_url = "{graph.base_url}"\ntimeout_seconds = 10\n')


def _ews_mailbox(ews, *, password_env: str, endpoint: str = "") -> str:
    return ('[[mailbox]]\nname = "bromley"\naddress = "bscp@bromley.example"\npolicy = "bromley"\n'
            f'kind = "ews"\nsend_via = "ews"\nusername = "{ews.username}"\n'
            f'password_env = "{password_env}"\nbusiness_managers = ["bm@bromley.example"]\n'
            f'sender_trust = "none"\n[mailbox.ews]\nservice_endpoint = "{endpoint or ews.url}"\n'
            'timeout_seconds = 10\n')


def _config(tmp_path: Path, *parts: str, outgoing: str = 'kind = "directory"\n') -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'var_dir = "var"\n[outgoing]\n{outgoing}' + "".join(parts))
    return path


def _check(config: Path, **options) -> MailboxReport:
    [report] = check_mailboxes(load_settings(config), NOW, out=lambda line: None, **options)
    return report


def _step(report: MailboxReport, name: str):
    return next(step for step in report.steps if step.step == name)


def _inbox(store) -> list[bytes]:
    return [m.mime for m in store.in_folder(store.folder("inbox").id)]


# -- Microsoft Graph ---------------------------------------------------------------------------


def test_a_working_graph_mailbox_passes_and_its_message_stays_in_the_inbox(
        tmp_path, graph, identity, tls_certificate, monkeypatch):
    store = graph.add_mailbox("chscp@hackney.example")
    store.deliver(MESSAGE, store.folder("inbox").id)
    app = identity.register_app("chscp@hackney.example")
    monkeypatch.setenv(SECRET_ENV, app.secret)
    report = _check(_config(tmp_path, _graph_mailbox(graph, identity, app, tls_certificate)))
    assert report.works, render(report)
    assert "Mail.ReadWrite" in _step(report, "login").detail
    assert "fetched 1 new message" in _step(report, "fetch").detail
    assert "holds the Mail.Send application permission" in _step(report, "send").detail
    assert _inbox(store) == [MESSAGE] and store.sent == []


def test_an_expired_graph_secret_fails_the_login_with_the_reason_and_the_fix(
        tmp_path, graph, identity, tls_certificate, monkeypatch):
    graph.add_mailbox("chscp@hackney.example")
    app = identity.register_app("chscp@hackney.example")
    identity.expire_secret(app.client_id)
    monkeypatch.setenv(SECRET_ENV, app.secret)
    report = _check(_config(tmp_path, _graph_mailbox(graph, identity, app, tls_certificate)))
    login = _step(report, "login")
    assert login.outcome is Outcome.FAILED
    assert "has expired" in login.detail and "AADSTS7000222" in login.detail
    assert "Certificates & secrets" in login.fix
    assert [s.outcome for s in report.steps[1:]] == [Outcome.SKIPPED] * 3


def test_graph_refusing_the_mailbox_fails_the_folder_step(
        tmp_path, graph, identity, tls_certificate, monkeypatch):
    graph.add_mailbox("chscp@hackney.example")
    graph.deny_access()
    app = identity.register_app("chscp@hackney.example")
    monkeypatch.setenv(SECRET_ENV, app.secret)
    report = _check(_config(tmp_path, _graph_mailbox(graph, identity, app, tls_certificate)))
    assert _step(report, "login").outcome is Outcome.OK
    folder = _step(report, "folder")
    assert folder.outcome is Outcome.FAILED and folder.fix
    assert not report.works


def test_a_token_without_mail_send_leaves_graph_sending_not_checked(
        tmp_path, graph, identity, tls_certificate, monkeypatch):
    graph.add_mailbox("chscp@hackney.example")
    app = identity.register_app("chscp@hackney.example", roles=("Mail.ReadWrite",))
    monkeypatch.setenv(SECRET_ENV, app.secret)
    report = _check(_config(tmp_path, _graph_mailbox(graph, identity, app, tls_certificate)))
    send = _step(report, "send")
    assert send.outcome is Outcome.NOT_CHECKED and "--send-test ADDRESS" in send.detail
    assert report.works  # nothing failed; the report says what was not proven


def test_graph_send_test_sends_one_message_through_send_mail(
        tmp_path, graph, identity, tls_certificate, monkeypatch):
    store = graph.add_mailbox("chscp@hackney.example")
    app = identity.register_app("chscp@hackney.example")
    monkeypatch.setenv(SECRET_ENV, app.secret)
    report = _check(_config(tmp_path, _graph_mailbox(graph, identity, app, tls_certificate)),
                    send_test_to="admin@hackney.example")
    assert _step(report, "send").outcome is Outcome.OK
    [sent] = store.sent
    parsed = message_from_bytes(sent)
    assert parsed["To"] == "admin@hackney.example" and parsed["Auto-Submitted"] == "auto-generated"


# -- EWS on premises ---------------------------------------------------------------------------


def test_a_working_ews_mailbox_passes_and_says_sending_was_not_checked(tmp_path, ews, monkeypatch):
    ews.deliver(MESSAGE)
    monkeypatch.setenv("CHECK_EWS_PASSWORD", ews.password)
    report = _check(_config(tmp_path, _ews_mailbox(ews, password_env="CHECK_EWS_PASSWORD")))
    assert report.works, render(report)
    assert [s.outcome for s in report.steps] == [Outcome.OK] * 3 + [Outcome.NOT_CHECKED]
    assert "fetched 1 new message" in _step(report, "fetch").detail
    assert "--send-test ADDRESS" in _step(report, "send").detail
    assert ews.messages("Inbox") == [MESSAGE] and ews.sent == []


def test_a_wrong_ews_password_fails_the_login(tmp_path, ews, monkeypatch):
    monkeypatch.setenv("CHECK_EWS_PASSWORD", "wrong")
    report = _check(_config(tmp_path, _ews_mailbox(ews, password_env="CHECK_EWS_PASSWORD")))
    login = _step(report, "login")
    assert login.outcome is Outcome.FAILED and login.fix
    assert _step(report, "send").outcome is Outcome.SKIPPED  # it would send with that login


def test_an_unreachable_ews_server_says_cannot_reach(tmp_path, ews, monkeypatch):
    monkeypatch.setenv("CHECK_EWS_PASSWORD", ews.password)
    endpoint = f"http://127.0.0.1:{free_port()}/EWS/Exchange.asmx"
    report = _check(_config(tmp_path, _ews_mailbox(ews, password_env="CHECK_EWS_PASSWORD",
                                                   endpoint=endpoint)))
    login = _step(report, "login")
    assert login.outcome is Outcome.FAILED and "cannot reach" in login.detail


def test_ews_send_test_sends_one_message(tmp_path, ews, monkeypatch):
    monkeypatch.setenv("CHECK_EWS_PASSWORD", ews.password)
    report = _check(_config(tmp_path, _ews_mailbox(ews, password_env="CHECK_EWS_PASSWORD")),
                    send_test_to="admin@bromley.example")
    assert _step(report, "send").outcome is Outcome.OK, report
    assert len(ews.sent) == 1


# -- IMAP and SMTP with XOAUTH2 (Exchange Online's way, against Dovecot and aiosmtpd) ----------


def _imap_oauth_mailbox(server, account, identity, app, tls_certificate) -> str:
    return (f'[[mailbox]]\nname = "bury"\naddress = "{account.username}@bury.example"\n'
            f'policy = "bury"\nkind = "imap"\nhost = "{server.host}"\nport = {server.port}\n'
            f'security = "none"\nauth = "oauth2"\nusername = "{account.username}"\n'
            'business_managers = ["bm@bury.example"]\nsender_trust = "none"\n'
            f'[mailbox.oauth]\n{_oauth(identity, app, tls_certificate)}')


def _smtp_oauth(server, identity, app, tls_certificate, username: str) -> str:
    return (f'kind = "smtp"\nhost = "{server.host}"\nport = {server.port}\nsecurity = "none"\n'
            f'auth = "oauth2"\nusername = "{username}"\ntimeout_seconds = 10\n'
            f'[outgoing.oauth]\n{_oauth(identity, app, tls_certificate)}')


def test_imap_and_smtp_with_xoauth2_pass_with_one_shared_token(
        tmp_path, oauth_dovecot, identity, tls_certificate, start_smtp_server, monkeypatch):
    account = oauth_dovecot.add_user()
    oauth_dovecot.append(account, MESSAGE)
    app = identity.register_app(account.username)
    smtp = start_smtp_server(token_check=lambda user, token: identity.check_token(
        token, user=user, role="SMTP.SendAsApp"))
    monkeypatch.setenv(SECRET_ENV, app.secret)
    requests_before = len(identity.token_requests)
    config = _config(tmp_path, _imap_oauth_mailbox(oauth_dovecot, account, identity, app, tls_certificate),
                     outgoing=_smtp_oauth(smtp, identity, app, tls_certificate, account.username))
    report = _check(config)
    assert report.works, render(report)
    assert "with XOAUTH2" in _step(report, "login").detail
    assert "with XOAUTH2" in _step(report, "send").detail and smtp.received == []
    assert len(identity.token_requests) - requests_before == 1  # IMAP and SMTP share the token
    assert oauth_dovecot.messages(account) == [MESSAGE]


def test_imap_refusing_the_token_fails_the_login_and_says_what_to_set_up(
        tmp_path, oauth_dovecot, identity, tls_certificate, monkeypatch):
    account = oauth_dovecot.add_user()
    app = identity.register_app(account.username)
    monkeypatch.setenv(SECRET_ENV, app.secret)
    identity.sign_with_wrong_key()  # Dovecot cannot verify the token, as Exchange could not
    try:
        report = _check(_config(tmp_path, _imap_oauth_mailbox(oauth_dovecot, account, identity, app,
                                                              tls_certificate)))
    finally:
        identity.sign_with_wrong_key(False)
    login = _step(report, "login")
    assert login.outcome is Outcome.FAILED
    assert "refused the OAuth2 token" in login.detail
    assert "New-ServicePrincipal" in login.fix and "Add-MailboxPermission" in login.fix


def test_an_expired_secret_fails_the_imap_login_before_any_connection(
        tmp_path, oauth_dovecot, identity, tls_certificate, monkeypatch):
    account = oauth_dovecot.add_user()
    app = identity.register_app(account.username)
    identity.expire_secret(app.client_id)
    monkeypatch.setenv(SECRET_ENV, app.secret)
    report = _check(_config(tmp_path, _imap_oauth_mailbox(oauth_dovecot, account, identity, app,
                                                          tls_certificate)))
    login = _step(report, "login")
    assert login.outcome is Outcome.FAILED and "AADSTS7000222" in login.detail


def test_the_command_checks_a_graph_and_an_ews_mailbox_in_one_run(
        tmp_path, graph, ews, identity, tls_certificate):
    store = graph.add_mailbox("chscp@hackney.example")
    store.deliver(MESSAGE, store.folder("inbox").id)
    app = identity.register_app("chscp@hackney.example")
    config = _config(tmp_path, _graph_mailbox(graph, identity, app, tls_certificate),
                     _ews_mailbox(ews, password_env="CHECK_EWS_PASSWORD"))
    env = {**os.environ, SECRET_ENV: app.secret, "CHECK_EWS_PASSWORD": "wrong"}
    result = subprocess.run([sys.executable, "-m", "mailbot", "--config", str(config), "mailboxes",
                             "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "hackney (graph, chscp@hackney.example; sends via graph): works" in result.stdout
    assert "bromley (ews, " in result.stdout and "2 mailboxes checked: 1 failed (bromley)." in result.stdout
    assert _inbox(store) == [MESSAGE]
