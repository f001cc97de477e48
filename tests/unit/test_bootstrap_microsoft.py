"""bootstrap builds the Microsoft adapters from settings: shared tokens, routing, named errors.

Nothing here talks to a server: token providers and Graph/EWS adapters connect on first use.
"""

from __future__ import annotations

import pytest

from mailbot.adapters.microsoft.ews_mailbox import EwsMailbox
from mailbot.adapters.microsoft.ews_mailer import EwsMailer
from mailbot.adapters.microsoft.graph_mailbox import GraphMailbox
from mailbot.adapters.microsoft.graph_mailer import GraphMailer
from mailbot.adapters.routing_mailer import RoutingMailer
from mailbot.adapters.smtp_mailer import SmtpMailer
from mailbot.bootstrap import TokenProviders, build_mailbox, build_mailer, mailbox_token_provider
from mailbot.config import Settings
from mailbot.domain.errors import ConfigError

OAUTH = {"tenant_id": "contoso.onmicrosoft.com", "client_id": "app-1", "client_secret_env": "APP_SECRET"}


def _mailbox(name: str, **options) -> dict:
    return {"name": name, "address": f"{name}@council.example", "policy": "bury",
            "business_managers": ["bm@council.example"], "sender_trust": "exchange-internal",
            **options}


def _settings(*mailboxes: dict, outgoing: dict | None = None) -> Settings:
    return Settings.model_validate({"mailbox": list(mailboxes),
                                    "outgoing": outgoing or {"kind": "directory"}})


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    monkeypatch.setenv("APP_SECRET", "s3cret")
    monkeypatch.setenv("EWS_PASSWORD", "pw")


def test_imap_and_smtp_of_one_app_share_a_token_provider_and_graph_gets_its_own():
    settings = _settings(
        _mailbox("bury", kind="imap", host="outlook.office365.com", auth="oauth2", oauth=OAUTH),
        _mailbox("hackney", kind="graph", oauth=OAUTH),
        outgoing={"kind": "smtp", "host": "smtp.office365.com", "auth": "oauth2", "oauth": OAUTH})
    tokens = TokenProviders(settings)
    imap = mailbox_token_provider(settings, settings.mailbox[0], tokens)
    graph = mailbox_token_provider(settings, settings.mailbox[1], tokens)
    smtp = tokens.get(settings.outgoing.oauth, settings.outgoing.oauth.scope, "outgoing.oauth")
    assert imap is smtp and graph is not imap
    assert (imap.scope, graph.scope) == ("https://outlook.office365.com/.default",
                                         "https://graph.microsoft.com/.default")


def test_mail_of_a_graph_mailbox_leaves_through_graph_and_the_rest_through_outgoing(tmp_path):
    settings = _settings(_mailbox("hackney", kind="graph", send_via="graph", oauth=OAUTH),
                         _mailbox("bury", kind="maildir", path=str(tmp_path)))
    mailer = build_mailer(settings)
    assert isinstance(mailer, RoutingMailer)
    assert isinstance(mailer.mailer_for("hackney@council.example"), GraphMailer)
    assert mailer.mailer_for("bury@council.example") is mailer.default


def test_smtp_xoauth2_without_a_username_logs_in_as_each_partnership_address():
    settings = _settings(
        _mailbox("bury", kind="maildir", path="a"), _mailbox("hackney", kind="maildir", path="b"),
        outgoing={"kind": "smtp", "host": "smtp.office365.com", "auth": "oauth2", "oauth": OAUTH})
    mailer = build_mailer(settings)
    bury, hackney = (mailer.mailer_for(f"{n}@council.example") for n in ("bury", "hackney"))
    assert isinstance(bury, SmtpMailer) and bury._username == "bury@council.example"
    assert hackney._username == "hackney@council.example"
    assert bury._token_provider is hackney._token_provider


def test_with_nothing_sent_through_own_accounts_the_outgoing_mailer_is_used_directly(tmp_path):
    mailer = build_mailer(_settings(_mailbox("bury", kind="maildir", path=str(tmp_path))))
    assert not isinstance(mailer, RoutingMailer)


def test_graph_and_ews_mailboxes_keep_their_state_under_var_state(tmp_path):
    settings = _settings(
        _mailbox("hackney", kind="graph", oauth=OAUTH),
        _mailbox("bromley", kind="ews", send_via="ews", username="BROMLEY\\svc", password_env="EWS_PASSWORD",
                 ews={"service_endpoint": "https://mail.bromley.example/EWS/Exchange.asmx"}),
    ).model_copy(update={"var_dir": str(tmp_path)})
    graph, ews = (build_mailbox(settings, m) for m in settings.mailbox)
    assert isinstance(graph, GraphMailbox) and isinstance(ews, EwsMailbox)
    assert (tmp_path / "state").is_dir()
    assert isinstance(build_mailer(settings).mailer_for("bromley@council.example"), EwsMailer)


def test_an_unset_secret_variable_is_a_config_error_naming_the_key():
    settings = _settings(_mailbox("hackney", kind="graph",
                                  oauth={**OAUTH, "client_secret_env": "NOT_SET_ANYWHERE"}))
    with pytest.raises(ConfigError) as caught:
        build_mailbox(settings, settings.mailbox[0])
    assert caught.value.key == "mailbox[0].oauth.client_secret_env"
    assert "NOT_SET_ANYWHERE" in caught.value.fix


def test_an_unreadable_certificate_is_a_config_error_naming_the_key(tmp_path):
    oauth = {"tenant_id": "t", "client_id": "c", "certificate_path": str(tmp_path / "missing.pem"),
             "certificate_thumbprint": "AB"}
    settings = _settings(_mailbox("hackney", kind="graph", oauth=oauth))
    with pytest.raises(ConfigError) as caught:
        build_mailbox(settings, settings.mailbox[0])
    assert caught.value.key == "mailbox[0].oauth.certificate_path"
