"""The one place that builds adapters from settings and wires them into the services.

Entry points call ``bootstrap(settings)``; tests build ``Services`` with fakes instead.
Secrets are read in ``bootstrap.tokens``, from the environment variables the config names;
``bootstrap.probes`` builds the probes of `mailbot mailboxes check` with the same builders.
The Microsoft adapters (Graph, EWS, msal tokens) are imported only when a mailbox asks for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailbot.adapters.database_location import database_url
from mailbot.adapters.directory_mailer import DirectoryMailer
from mailbot.adapters.imap_mailbox import ImapMailbox
from mailbot.adapters.jinja_renderer import JinjaRenderer
from mailbot.adapters.mail_composer import MailComposer
from mailbot.adapters.maildir_mailbox import MaildirMailbox
from mailbot.adapters.migrate import migrate, require_current_schema
from mailbot.adapters.policy_files import calendar_for, load_policy, policy_paths
from mailbot.adapters.reference_marker import FILE_NAME as MARKER_FILE
from mailbot.adapters.reference_marker import FileReferenceMarker
from mailbot.adapters.routing_mailer import RoutingMailer
from mailbot.adapters.smtp_mailer import SmtpMailer
from mailbot.adapters.sqlalchemy_store import SqlAlchemyUnitOfWork, make_engine, make_session_factory
from mailbot.adapters.sqlalchemy_store.engine import PoolLimits
from mailbot.bootstrap.tokens import TokenProviders, secret, verify
from mailbot.config import MailboxSettings, Settings, resolve_path
from mailbot.domain.engine import CaseEngine
from mailbot.domain.errors import ConfigError, PolicyProblems
from mailbot.domain.notices import Partnership
from mailbot.domain.policy import Policy
from mailbot.domain.policy_checks import shared_prefixes
from mailbot.domain.referral import Person
from mailbot.intake.forms import read_form_attachment
from mailbot.services.context import MailboxContext, Services
from mailbot.services.ports import Mailbox, Mailer, TokenProvider


@dataclass
class App:
    settings: Settings
    services: Services
    mailer: Mailer
    mailbox_settings: dict[str, MailboxSettings]
    tokens: TokenProviders | None = None
    marker: FileReferenceMarker | None = None

    def __post_init__(self) -> None:
        if self.tokens is None:
            self.tokens = TokenProviders(self.settings)

    def open_mailbox(self, name: str) -> Mailbox:
        return build_mailbox(self.settings, self.mailbox_settings[name], self.tokens)


def bootstrap(settings: Settings, *, migrate_database: bool = True) -> App:
    url = database_url(settings)
    if migrate_database:
        migrate(url, settings.source, settings.database.busy_timeout_seconds)
    else:
        require_current_schema(url, settings.source, settings.database.busy_timeout_seconds)
    database = settings.database
    engine = make_engine(url, busy_timeout=database.busy_timeout_seconds,
                         pool=PoolLimits(database.pool_size, database.max_overflow,
                                         database.pool_timeout_seconds))
    session_factory = make_session_factory(engine)
    contexts = {m.name: _context(settings, m) for m in settings.mailbox}
    _refuse_shared_prefixes(settings, contexts)
    renderer = JinjaRenderer([resolve_path(settings, settings.templates_dir)],
                             resolve_path(settings, settings.forms_dir), tz=settings.zone)
    _refuse_missing_templates(settings, renderer, contexts)
    marker = reference_marker(settings)
    services = Services(
        uow_factory=lambda: SqlAlchemyUnitOfWork(session_factory, on_issued=marker.note_issued),
        composer=MailComposer(renderer),
        mailboxes=contexts,
        read_form=read_form_attachment,
        replies_per_recipient_per_hour=settings.outgoing.replies_per_recipient_per_hour,
        max_send_attempts=settings.outgoing.max_attempts,
    )
    tokens = TokenProviders(settings)
    return App(settings, services, build_mailer(settings, tokens), {m.name: m for m in settings.mailbox},
               tokens, marker)


def reference_marker(settings: Settings) -> FileReferenceMarker:
    """The marker outside the database (``var_dir/database-marker.json``)."""
    from mailbot.adapters.migrate import shown

    path = resolve_path(settings, settings.var_dir) / MARKER_FILE
    return FileReferenceMarker(path, shown(database_url(settings)))


def _context(settings: Settings, mailbox: MailboxSettings) -> MailboxContext:
    policy = mailbox_policy(settings, mailbox)
    partnership = Partnership(
        address=mailbox.address,
        business_managers=tuple(_person(a) for a in mailbox.business_managers),
        contacts={role: tuple(_person(v) for v in ([value] if isinstance(value, str) else value))
                  for role, value in mailbox.contacts.items()},
    )
    engine = CaseEngine(policy, calendar_for(policy, settings.zone), partnership)
    return MailboxContext(mailbox.name, mailbox.address, policy, engine, mailbox.sender_trust,
                          frozenset(mailbox.trusted_authserv_ids), mailbox.trusted_received_hops)


def _refuse_shared_prefixes(settings: Settings, contexts: dict[str, MailboxContext]) -> None:
    """Two partnerships with one reference prefix would hand out the same case references."""
    directory = resolve_path(settings, settings.policies_dir)
    clashes = shared_prefixes({str(directory / f"{c.policy.key}.toml"): c.policy for c in contexts.values()})
    if clashes:
        raise PolicyProblems(clashes)


def _refuse_missing_templates(settings: Settings, renderer: JinjaRenderer,
                              contexts: dict[str, MailboxContext]) -> None:
    """A template missing from the folder is found at start, not in the first email needing it."""
    for key in sorted({c.policy.key for c in contexts.values()}):
        problems = renderer.missing_templates(key)
        if problems:
            raise ConfigError(settings.source, "templates_dir", f"has no {', '.join(problems)}",
                              "Every email needs its subject, .txt and .html templates: copy the"
                              " missing ones from the shipped templates/ folder.")


def mailbox_policy(settings: Settings, mailbox: MailboxSettings) -> Policy:
    """The policy a mailbox names; a name with no file is a config error listing the names."""
    directory = resolve_path(settings, settings.policies_dir)
    if not (directory / f"{mailbox.policy}.toml").is_file():
        names = ", ".join(path.stem for path in policy_paths(directory)) or "none"
        raise ConfigError(settings.source, f"mailbox[{settings.mailbox.index(mailbox)}].policy",
                          f"{mailbox.policy!r} is not a policy in {directory} (there: {names})",
                          "Use one of those names, or add your own policy file there and set"
                          " policies_dir (see `mailbot policies new`).")
    return load_policy(mailbox.policy, directory)


def _person(value: str) -> Person:
    from email.utils import parseaddr

    name, address = parseaddr(value)
    return Person(name, address.lower())


def build_mailer(settings: Settings, tokens: TokenProviders | None = None) -> Mailer:
    """The [outgoing] mailer, behind a router when some mailboxes send through their own account.

    With ``auth = "oauth2"`` and no ``username``, SMTP logs in as each partnership address in
    turn (Exchange Online's SMTP.SendAsApp sends as the mailbox named in the XOAUTH2 login).
    """
    tokens = tokens or TokenProviders(settings)
    own = {m.address: mailbox_mailer(settings, m, tokens)
           for m in settings.mailbox if m.send_via != "outgoing"}
    out = settings.outgoing
    if out.kind == "smtp" and out.auth == "oauth2" and not out.username:
        own.update({m.address: outgoing_mailer(settings, tokens, login_as=m.address)
                    for m in settings.mailbox if m.send_via == "outgoing"})
    default = outgoing_mailer(settings, tokens)
    return RoutingMailer(default, own) if own else default


def outgoing_mailer(settings: Settings, tokens: TokenProviders, login_as: str = "") -> Mailer:
    """The [outgoing] table's mailer: a directory of .eml files, or SMTP (password or XOAUTH2)."""
    out = settings.outgoing
    if out.kind == "directory":
        return DirectoryMailer(resolve_path(settings, out.directory))
    return smtp_mailer(settings, tokens, login_as)


def smtp_mailer(settings: Settings, tokens: TokenProviders, login_as: str = "",
                mailer_class: type[SmtpMailer] = SmtpMailer) -> SmtpMailer:
    """SMTP as [outgoing] says; ``login_as`` is the XOAUTH2 user when no username is set."""
    out = settings.outgoing
    if out.auth == "oauth2" and out.oauth is not None:
        provider = tokens.get(out.oauth, out.oauth.scope, "outgoing.oauth")
        return mailer_class(out.host, out.port, out.security, username=out.username or login_as,
                            token_provider=provider, timeout=out.timeout_seconds)
    return mailer_class(out.host, out.port, out.security, username=out.username,
                        password=secret(settings, out.password_env, "outgoing.password_env"),
                        timeout=out.timeout_seconds)


def mailbox_mailer(settings: Settings, mailbox: MailboxSettings, tokens: TokenProviders) -> Mailer:
    """The mailer of a mailbox with ``send_via = "graph"`` or ``"ews"``: its own account."""
    if mailbox.send_via == "graph":
        from mailbot.adapters.microsoft.graph_mailer import GraphMailer

        return GraphMailer(**_graph_arguments(settings, mailbox, tokens))
    from mailbot.adapters.microsoft.ews_mailbox import EwsMailer

    return EwsMailer(mailbox.address, **_ews_arguments(settings, mailbox, tokens))


def build_mailbox(settings: Settings, mailbox: MailboxSettings, tokens: TokenProviders | None = None,
                  *, state_dir: Path | None = None) -> Mailbox:
    """The mailbox adapter; ``state_dir`` (default var/state) holds Graph and EWS sync state."""
    tokens = tokens or TokenProviders(settings)
    if mailbox.kind == "maildir":
        path = mailbox.path or f"{settings.var_dir}/maildir/{mailbox.name}"
        return MaildirMailbox(mailbox.name, resolve_path(settings, path))
    if mailbox.kind == "imap":
        password, provider = imap_credentials(settings, mailbox, tokens)
        return ImapMailbox(mailbox.name, mailbox.host, mailbox.port, mailbox.security,
                           mailbox.username or mailbox.address, password=password,
                           token_provider=provider, folder=mailbox.folder,
                           processed_folder=mailbox.processed_folder,
                           poll_interval=mailbox.poll_seconds, use_idle=mailbox.idle)
    state_path = state_file(settings, mailbox, state_dir)
    common = {"folder": mailbox.folder, "processed_folder": mailbox.processed_folder,
              "state_path": state_path}
    if mailbox.kind == "graph":
        from mailbot.adapters.microsoft.graph_mailbox import GraphMailbox

        arguments = _graph_arguments(settings, mailbox, tokens)
        return GraphMailbox(mailbox.name, arguments.pop("user"), arguments.pop("token_provider"),
                            **arguments, **common)
    from mailbot.adapters.microsoft.ews_mailbox import EwsMailbox

    return EwsMailbox(mailbox.name, mailbox.address, **_ews_arguments(settings, mailbox, tokens),
                      **common)


def imap_credentials(settings: Settings, mailbox: MailboxSettings,
                     tokens: TokenProviders) -> tuple[str | None, TokenProvider | None]:
    """(password, None) for auth = "password"; (None, token provider) for auth = "oauth2"."""
    provider = mailbox_token_provider(settings, mailbox, tokens)
    if provider is not None:
        return None, provider
    key = f"mailbox[{settings.mailbox.index(mailbox)}].password_env"
    return secret(settings, mailbox.password_env, key), None


def mailbox_token_provider(settings: Settings, mailbox: MailboxSettings,
                           tokens: TokenProviders) -> TokenProvider | None:
    """The mailbox's OAuth2 token source, if it uses one: Graph's scope for kind = "graph",
    the [mailbox.oauth] scope (Exchange Online's by default) for IMAP and EWS."""
    ews_oauth = mailbox.ews is not None and mailbox.ews.auth_type == "oauth2"
    uses_oauth = mailbox.kind == "graph" or mailbox.auth == "oauth2" or (mailbox.kind == "ews" and ews_oauth)
    if not uses_oauth or mailbox.oauth is None:
        return None
    scope = mailbox.graph.scope if mailbox.kind == "graph" else mailbox.oauth.scope
    return tokens.get(mailbox.oauth, scope, f"mailbox[{settings.mailbox.index(mailbox)}].oauth")


def state_file(settings: Settings, mailbox: MailboxSettings, state_dir: Path | None = None) -> Path:
    """Where a Graph or EWS mailbox remembers how far it got (named by kind: a switch starts afresh)."""
    folder = state_dir or resolve_path(settings, f"{settings.var_dir}/state")
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{mailbox.name}.{mailbox.kind}.json"


def _graph_arguments(settings: Settings, mailbox: MailboxSettings, tokens: TokenProviders) -> dict[str, Any]:
    graph = mailbox.graph
    return {"user": graph.user or mailbox.address,
            "token_provider": mailbox_token_provider(settings, mailbox, tokens),
            "base_url": graph.base_url, "max_concurrent_requests": graph.max_concurrent_requests,
            "timeout": graph.timeout_seconds, "verify": verify(settings, mailbox.oauth)}


def _ews_arguments(settings: Settings, mailbox: MailboxSettings, tokens: TokenProviders) -> dict[str, Any]:
    ews = mailbox.ews
    key = f"mailbox[{settings.mailbox.index(mailbox)}]"
    if ews is None:
        raise ConfigError(settings.source, f"{key}.ews", "missing",
                          "Add a [mailbox.ews] table with service_endpoint.")
    arguments: dict[str, Any] = {
        "service_endpoint": ews.service_endpoint, "auth_type": ews.auth_type,
        "username": mailbox.username or mailbox.address, "timeout": ews.timeout_seconds,
        "ca_file": str(resolve_path(settings, ews.ca_file)) if ews.ca_file else ""}
    provider = mailbox_token_provider(settings, mailbox, tokens)
    if provider is not None:
        arguments.update(token_provider=provider, auth_type="oauth2")
    else:
        arguments["password"] = secret(settings, mailbox.password_env, f"{key}.password_env")
    return arguments
