"""The config's tables below the top level ([database], [outgoing], [[mailbox]], [worker] and
the rest), each validated on its own; ``mailbot.config`` puts them together into ``Settings``.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(Strict):
    url: str = "sqlite:///var/mailbot.sqlite3"
    # How long a SQLite write waits for another process's lock before the pass backs off.
    busy_timeout_seconds: float = Field(default=30, gt=0)
    # Connections one process holds: pool_size kept open, up to max_overflow more under load;
    # a thread that finds none free waits pool_timeout_seconds, then its transaction fails.
    pool_size: int = Field(default=5, ge=1, le=100)
    max_overflow: int = Field(default=5, ge=0, le=100)
    pool_timeout_seconds: float = Field(default=30, gt=0)


class OAuthSettings(Strict):
    """App-only OAuth2 (client-credentials flow) for Microsoft 365, through msal.

    The app registration's secret, or the password of its certificate's key, comes from the
    environment variable named here. Exactly one of a secret or a certificate is given.
    """

    tenant_id: str
    client_id: str
    client_secret_env: str = ""
    certificate_path: str = ""  # PEM holding the certificate and its private key
    certificate_thumbprint: str = ""  # SHA-1 thumbprint shown in the app registration
    certificate_password_env: str = ""  # only if the private key is encrypted
    authority_host: str = "https://login.microsoftonline.com"
    # A CA bundle (PEM) to trust for the identity platform and Microsoft Graph, e.g. a
    # TLS-inspecting proxy's; empty: the system's trust store.
    ca_file: str = ""
    # IMAP.AccessAsApp and SMTP.SendAsApp live under Exchange Online's resource;
    # Graph mailboxes use https://graph.microsoft.com/.default (set automatically for them).
    scope: str = "https://outlook.office365.com/.default"

    @model_validator(mode="after")
    def _one_credential(self) -> OAuthSettings:
        has_secret, has_certificate = bool(self.client_secret_env), bool(self.certificate_path)
        if has_secret == has_certificate:
            raise ValueError("give exactly one of client_secret_env or certificate_path")
        if has_certificate and not self.certificate_thumbprint:
            raise ValueError("certificate_path needs certificate_thumbprint as well")
        if not self.authority_host.startswith("https://"):
            raise ValueError("authority_host must be an https:// URL (tokens are secrets)")
        return self


class GraphSettings(Strict):
    """For kind = "graph": the Microsoft Graph endpoint and the mailbox's user."""

    base_url: str = "https://graph.microsoft.com/v1.0"
    user: str = ""  # the mailbox's user principal name; default: the mailbox address
    scope: str = "https://graph.microsoft.com/.default"
    # Exchange Online allows four concurrent requests per app and mailbox.
    max_concurrent_requests: int = Field(default=4, ge=1, le=4)
    timeout_seconds: float = Field(default=30, gt=0)


class EwsSettings(Strict):
    """For kind = "ews": an Exchange Server (on premises) reached through exchangelib."""

    service_endpoint: str  # e.g. https://mail.example.gov.uk/EWS/Exchange.asmx
    auth_type: Literal["ntlm", "oauth2"] = "ntlm"  # oauth2 uses the mailbox's [mailbox.oauth]
    # A CA bundle for a server whose certificate an internal CA signed (empty: system store).
    ca_file: str = ""
    timeout_seconds: float = Field(default=30, gt=0)


class OutgoingSettings(Strict):
    kind: Literal["smtp", "directory"] = "directory"
    host: str = "127.0.0.1"
    port: int = 587
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: str = ""
    password_env: str = ""
    directory: str = "var/outbox"
    timeout_seconds: float = 30
    # Staging: every message goes to this one address instead of its recipients.
    redirect_all_to: str = ""
    # Loop guard: at most this many replies to one person an hour (auto-responder ping-pong).
    replies_per_recipient_per_hour: int = Field(default=10, ge=1)
    max_attempts: int = Field(default=12, ge=1)
    # password: AUTH with username and password_env; oauth2: AUTH XOAUTH2 with [outgoing.oauth]
    # (Exchange Online's SMTP.SendAsApp).
    auth: Literal["password", "oauth2"] = "password"
    oauth: OAuthSettings | None = None

    @model_validator(mode="after")
    def _plain_only_to_loopback(self) -> OutgoingSettings:
        if self.kind == "smtp":
            _refuse_plain_to_remote(self.security, self.host, "outgoing")
        if self.auth == "oauth2" and self.oauth is None:
            raise ValueError("auth = 'oauth2' needs an [outgoing.oauth] table")
        return self


class DigestSettings(Strict):
    """The weekly digest to the mailbox's business managers (services/digest.py)."""

    enabled: bool = True
    # A working day; on a bank holiday the digest goes on the next working day.
    day: Literal["monday", "tuesday", "wednesday", "thursday", "friday"] = "monday"
    hour: int = Field(default=9, ge=0, le=23)  # local time (the config's timezone)

    @field_validator("day", mode="before")
    @classmethod
    def _day_in_any_case(cls, value):
        return value.strip().lower() if isinstance(value, str) else value


class RetentionSettings(Strict):
    """How long a closed case keeps its personal data (services/retention.py)."""

    # Whole years after the case closed; a mailbox's retention_years overrides it for its cases.
    years: int = Field(default=6, ge=1, le=100)
    # Days the raw text of mail linked to no case is kept (a refused referral, an automatic
    # reply, a bounce): long enough to answer "did you get my email?", then emptied.
    unlinked_mail_days: int = Field(default=90, ge=1, le=3650)


class MailboxSettings(Strict):
    name: str
    address: str
    policy: str
    kind: Literal["imap", "graph", "ews", "maildir"] = "maildir"
    host: str = "127.0.0.1"
    port: int = 993
    security: Literal["none", "starttls", "tls"] = "tls"
    username: str = ""
    password_env: str = ""
    folder: str = "INBOX"
    processed_folder: str = "mailbot/processed"
    path: str = ""  # for kind = "maildir": the Maildir folder (default var/maildir/<name>)
    business_managers: list[str] = Field(min_length=1)
    sender_trust: Literal["none", "authentication-results", "exchange-internal"] = (
        "authentication-results")
    # The receiving server's authserv-id: only its Authentication-Results header counts.
    trusted_authserv_ids: list[str] = []
    # Received lines your own servers add above that header after the check (a delivery hop).
    trusted_received_hops: int = Field(default=0, ge=0, le=10)
    contacts: dict[str, str | list[str]] = {}
    idle: bool = True
    poll_seconds: float = Field(default=60, gt=0)
    # password: username and password_env; oauth2: XOAUTH2 (IMAP) or a bearer token (Graph,
    # EWS) from the [mailbox.oauth] app registration.
    auth: Literal["password", "oauth2"] = "password"
    oauth: OAuthSettings | None = None
    graph: GraphSettings = GraphSettings()
    ews: EwsSettings | None = None
    # Which way this mailbox's mail leaves: the [outgoing] server, or its own Graph / EWS account.
    send_via: Literal["outgoing", "graph", "ews"] = "outgoing"
    digest: DigestSettings = DigestSettings()
    # Years a closed case of this partnership keeps its personal data; empty: [retention] years.
    retention_years: int | None = Field(default=None, ge=1, le=100)

    @field_validator("address", "business_managers")
    @classmethod
    def _addresses_look_like_addresses(cls, value):
        for address in value if isinstance(value, list) else [value]:
            if "@" not in address:
                raise ValueError(f"{address!r} is not an email address")
        return value

    @model_validator(mode="after")
    def _plain_only_to_loopback(self) -> MailboxSettings:
        if self.kind == "imap":
            _refuse_plain_to_remote(self.security, self.host, f"mailbox {self.name}")
        return self

    @model_validator(mode="after")
    def _trusted_server_named(self) -> MailboxSettings:
        # Any sender can write an Authentication-Results header; only one in the name of the
        # server that received the message proves anything, so that server must be named.
        if self.sender_trust == "authentication-results" and not self.trusted_authserv_ids:
            raise ValueError(f"mailbox {self.name} has sender_trust = 'authentication-results' but"
                             " no trusted_authserv_ids: name the authserv-id your receiving mail"
                             " server writes in its Authentication-Results headers")
        return self

    @model_validator(mode="after")
    def _microsoft_settings_complete(self) -> MailboxSettings:
        if (self.auth == "oauth2" or self.kind == "graph") and self.oauth is None:
            raise ValueError(f"mailbox {self.name} needs a [mailbox.oauth] table (tenant_id,"
                             " client_id and a secret or certificate)")
        if self.kind == "ews" and self.ews is None:
            raise ValueError(f"mailbox {self.name} has kind = 'ews' but no [mailbox.ews] table"
                             " with service_endpoint")
        if self.kind == "ews" and self.ews.auth_type == "oauth2" and self.oauth is None:
            raise ValueError(f"mailbox {self.name} has ews.auth_type = 'oauth2' but no"
                             " [mailbox.oauth] table")
        if self.send_via != "outgoing" and self.send_via != self.kind:
            raise ValueError(f"send_via = {self.send_via!r} needs kind = {self.send_via!r}")
        return self


class WorkerSettings(Strict):
    chase_every_minutes: float = Field(default=15, gt=0)
    send_every_seconds: float = Field(default=10, gt=0)
    # Workers sharing one PostgreSQL database: a dead worker's mailboxes, deadline pass and
    # claimed mail are taken over by another within this many seconds.
    lease_seconds: float = Field(default=60, ge=1)
    # Mailboxes acting on their mail at once, and how many messages each acts on per turn
    # before the next mailbox waiting has its turn: a backlog cannot hold up a referral
    # elsewhere for more than a few slices.
    acting_at_once: int = Field(default=2, ge=1, le=100)
    slice_messages: int = Field(default=20, ge=1, le=10_000)


def _refuse_plain_to_remote(security: str, host: str, what: str) -> None:
    if security == "none" and not _is_loopback(host):
        raise ValueError(f"security = 'none' for {what} would send passwords and children's"
                         f" data in clear text to {host}; use 'tls' or 'starttls' (plain text"
                         " is allowed only to a loopback host)")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
