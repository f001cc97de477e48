"""The probes `mailbot mailboxes check` runs, built from settings with the builders the worker
uses (``bootstrap``), so a check exercises the same adapters, logins and folders.

Graph and EWS sync state goes to the ``scratch`` folder the caller gives, never the worker's.
The fixes name the settings and the Exchange cmdlets an administrator needs.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parseaddr
from pathlib import Path

from mailbot.adapters.imap_connection import ImapSettings
from mailbot.adapters.mailbox_probes import AccountProbe, ImapProbe, MaildirProbe
from mailbot.adapters.send_probes import (
    AccountSendProbe,
    DirectorySendProbe,
    EnvelopeCheckingSmtpMailer,
    SmtpSendProbe,
)
from mailbot.bootstrap import (
    build_mailbox,
    imap_credentials,
    mailbox_mailer,
    mailbox_token_provider,
    smtp_mailer,
)
from mailbot.bootstrap.tokens import TokenProviders
from mailbot.config import MailboxSettings, Settings, resolve_path
from mailbot.services.ports import ReceiveProbe, SendProbe

IMAP_TIMEOUT_SECONDS = 30
EXCHANGE_APP_SETUP = ("its service principal registered in Exchange Online (New-ServicePrincipal)"
                      " with FullAccess to {mailbox} (Add-MailboxPermission)")


def probes(settings: Settings, mailbox: MailboxSettings, tokens: TokenProviders, scratch: Path,
           now: datetime) -> tuple[ReceiveProbe, SendProbe]:
    """The receive and the send probe of one mailbox."""
    return receive_probe(settings, mailbox, tokens, scratch), send_probe(settings, mailbox, tokens, now)


def describe(settings: Settings, mailbox: MailboxSettings) -> str:
    if mailbox.kind == "maildir":
        where = str(_maildir_path(settings, mailbox))
    elif mailbox.kind == "imap":
        where = f"{mailbox.host}:{mailbox.port}, {mailbox.auth}"
    elif mailbox.kind == "graph":
        where = mailbox.graph.user or mailbox.address
    else:
        where = mailbox.ews.service_endpoint if mailbox.ews else "?"
    sends = (f"sends via {mailbox.send_via}" if mailbox.send_via != "outgoing"
             else f"sends via [outgoing] {settings.outgoing.kind}")
    return f"{mailbox.kind}, {where}; {sends}"


def receive_probe(settings: Settings, mailbox: MailboxSettings, tokens: TokenProviders,
                  scratch: Path) -> ReceiveProbe:
    def open_mailbox():
        return build_mailbox(settings, mailbox, tokens, state_dir=scratch)

    if mailbox.kind == "maildir":
        return MaildirProbe(_maildir_path(settings, mailbox), open_mailbox)
    if mailbox.kind == "imap":
        return ImapProbe(lambda: _imap_session(settings, mailbox, tokens), open_mailbox,
                         where=f"{mailbox.host}:{mailbox.port}", folder=mailbox.folder,
                         processed_folder=mailbox.processed_folder, login_fix=_imap_login_fix(mailbox))

    def provider():
        return mailbox_token_provider(settings, mailbox, tokens)

    if mailbox.kind == "graph":
        return AccountProbe(open_mailbox, where=mailbox.graph.base_url, folder=mailbox.folder,
                            token_provider=provider, token_for=mailbox.graph.scope)
    ews = mailbox.ews
    oauth = ews is not None and (ews.auth_type == "oauth2" or mailbox.auth == "oauth2")
    scope = mailbox.oauth.scope if mailbox.oauth else ""
    return AccountProbe(open_mailbox, where=ews.service_endpoint if ews else "EWS",
                        folder=mailbox.folder, token_provider=provider if oauth else None,
                        token_for=scope)


def send_probe(settings: Settings, mailbox: MailboxSettings, tokens: TokenProviders,
               now: datetime) -> SendProbe:
    def own_mailer():
        return mailbox_mailer(settings, mailbox, tokens)

    if mailbox.send_via == "graph":
        return AccountSendProbe(own_mailer, where=f"Graph sendMail at {mailbox.graph.base_url}",
                                sender=mailbox.address, now=now, permission="Mail.Send",
                                token_provider=lambda: mailbox_token_provider(settings, mailbox, tokens))
    if mailbox.send_via == "ews":
        endpoint = mailbox.ews.service_endpoint if mailbox.ews else "EWS"
        return AccountSendProbe(own_mailer, where=f"EWS at {endpoint}", sender=mailbox.address, now=now)
    out = settings.outgoing
    if out.kind == "directory":
        return DirectorySendProbe(resolve_path(settings, out.directory), sender=mailbox.address, now=now)
    login_as = mailbox.address if out.auth == "oauth2" and not out.username else ""
    login = out.username or login_as
    recipient = out.redirect_all_to or parseaddr(mailbox.business_managers[0])[1]
    return SmtpSendProbe(lambda: smtp_mailer(settings, tokens, login_as, EnvelopeCheckingSmtpMailer),
                         where=f"{out.host}:{out.port}", sender=mailbox.address, recipient=recipient,
                         login=login, login_fix=_smtp_login_fix(settings, login), now=now,
                         uses_token=out.auth == "oauth2")


def _maildir_path(settings: Settings, mailbox: MailboxSettings) -> Path:
    return resolve_path(settings, mailbox.path or f"{settings.var_dir}/maildir/{mailbox.name}")


def _imap_session(settings: Settings, mailbox: MailboxSettings, tokens: TokenProviders) -> ImapSettings:
    password, provider = imap_credentials(settings, mailbox, tokens)
    return ImapSettings(mailbox.host, mailbox.port, mailbox.security, mailbox.username or mailbox.address,
                        password, provider, IMAP_TIMEOUT_SECONDS, None)


def _imap_login_fix(mailbox: MailboxSettings) -> str:
    user = mailbox.username or mailbox.address
    if mailbox.auth == "oauth2":
        return ("Give the app registration the Office 365 Exchange Online application permission"
                " IMAP.AccessAsApp with admin consent, and " + EXCHANGE_APP_SETUP.format(mailbox=user)
                + "; check that IMAP is enabled for the mailbox (Set-CASMailbox -ImapEnabled $true).")
    return (f"Check the username ({user}) and the password in ${mailbox.password_env}. Exchange"
            " Online refuses passwords over IMAP: use auth = \"oauth2\" there.")


def _smtp_login_fix(settings: Settings, login: str) -> str:
    out = settings.outgoing
    smtp_auth = ("SMTP AUTH enabled for that mailbox"
                 " (Set-CASMailbox -SmtpClientAuthenticationDisabled $false)")
    if out.auth == "oauth2":
        return ("Give the app registration the Office 365 Exchange Online application permission"
                " SMTP.SendAsApp with admin consent, " + EXCHANGE_APP_SETUP.format(mailbox=login)
                + f" and SendAs on it (Add-RecipientPermission), and {smtp_auth}.")
    return (f"Check outgoing.username ({login}) and the password in ${out.password_env}. Exchange"
            f" Online needs {smtp_auth}, and turns passwords for SMTP off by default at the end of"
            " December 2026: use auth = \"oauth2\" there.")
