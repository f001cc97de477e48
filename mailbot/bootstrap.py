"""The one place that builds adapters from settings and wires them into the services.

Entry points call ``bootstrap(settings)``; tests build ``Services`` with fakes instead.
Secrets are read here, from the environment variables the config names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mailbot.adapters.directory_mailer import DirectoryMailer
from mailbot.adapters.imap_mailbox import ImapMailbox
from mailbot.adapters.jinja_renderer import JinjaRenderer
from mailbot.adapters.mail_composer import MailComposer
from mailbot.adapters.maildir_mailbox import MaildirMailbox
from mailbot.adapters.migrate import migrate
from mailbot.adapters.policy_files import calendar_for, load_policy
from mailbot.adapters.smtp_mailer import SmtpMailer
from mailbot.adapters.sqlalchemy_store import SqlAlchemyUnitOfWork, make_engine, make_session_factory
from mailbot.config import MailboxSettings, Settings, resolve_path
from mailbot.domain.engine import CaseEngine
from mailbot.domain.errors import ConfigError
from mailbot.domain.notices import Partnership
from mailbot.domain.referral import Person
from mailbot.services.context import MailboxContext, Services
from mailbot.services.ports import Mailbox, Mailer


@dataclass
class App:
    settings: Settings
    services: Services
    mailer: Mailer
    mailbox_settings: dict[str, MailboxSettings]

    def open_mailbox(self, name: str) -> Mailbox:
        return build_mailbox(self.settings, self.mailbox_settings[name])


def bootstrap(settings: Settings, *, migrate_database: bool = True) -> App:
    url = database_url(settings)
    if migrate_database:
        migrate(url)
    engine = make_engine(url)
    session_factory = make_session_factory(engine)
    policies_dir = resolve_path(settings, settings.policies_dir)
    contexts = {m.name: _context(m, policies_dir) for m in settings.mailbox}
    renderer = JinjaRenderer([resolve_path(settings, settings.templates_dir)],
                             resolve_path(settings, settings.forms_dir))
    services = Services(
        uow_factory=lambda: SqlAlchemyUnitOfWork(session_factory),
        composer=MailComposer(renderer),
        mailboxes=contexts,
        replies_per_recipient_per_hour=settings.outgoing.replies_per_recipient_per_hour,
        max_send_attempts=settings.outgoing.max_attempts,
    )
    return App(settings, services, build_mailer(settings), {m.name: m for m in settings.mailbox})


def database_url(settings: Settings) -> str:
    """SQLite paths in a config file are relative to that file, like every other path."""
    url = settings.database.url
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        path = resolve_path(settings, url[len(prefix):])
        path.parent.mkdir(parents=True, exist_ok=True)
        return prefix + str(path)
    return url


def _context(mailbox: MailboxSettings, policies_dir: Path) -> MailboxContext:
    policy = load_policy(mailbox.policy, policies_dir)
    partnership = Partnership(
        address=mailbox.address,
        business_managers=tuple(_person(a) for a in mailbox.business_managers),
        contacts={role: tuple(_person(v) for v in ([value] if isinstance(value, str) else value))
                  for role, value in mailbox.contacts.items()},
    )
    engine = CaseEngine(policy, calendar_for(policy), partnership)
    return MailboxContext(mailbox.name, mailbox.address, policy, engine, mailbox.sender_trust,
                          frozenset(mailbox.trusted_authserv_ids))


def _person(value: str) -> Person:
    from email.utils import parseaddr

    name, address = parseaddr(value)
    return Person(name, address.lower())


def secret(settings: Settings, env_name: str, key: str) -> str | None:
    if not env_name:
        return None
    value = os.environ.get(env_name)
    if value is None:
        raise ConfigError(settings.source, key, f"names the environment variable {env_name},"
                          " which is not set", f"Set {env_name} in the worker's environment.")
    return value


def build_mailer(settings: Settings) -> Mailer:
    out = settings.outgoing
    if out.kind == "directory":
        return DirectoryMailer(resolve_path(settings, out.directory))
    return SmtpMailer(out.host, out.port, out.security, username=out.username,
                      password=secret(settings, out.password_env, "outgoing.password_env"),
                      timeout=out.timeout_seconds)


def build_mailbox(settings: Settings, mailbox: MailboxSettings) -> Mailbox:
    if mailbox.kind == "maildir":
        path = mailbox.path or f"{settings.var_dir}/maildir/{mailbox.name}"
        return MaildirMailbox(mailbox.name, resolve_path(settings, path))
    if mailbox.kind == "imap":
        index = settings.mailbox.index(mailbox)
        password = secret(settings, mailbox.password_env, f"mailbox[{index}].password_env")
        return ImapMailbox(mailbox.name, mailbox.host, mailbox.port, mailbox.security,
                           mailbox.username or mailbox.address, password=password,
                           folder=mailbox.folder, processed_folder=mailbox.processed_folder)
    raise ConfigError(settings.source, f"mailbox {mailbox.name}.kind",
                      f"kind {mailbox.kind!r} is not available in this build",
                      "Use 'imap' (Exchange and Microsoft 365 offer IMAP) or 'maildir'.")
