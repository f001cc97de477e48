"""Configuration: the TOML file of contract section 3, validated into typed settings.

Secrets never live here: a config names the environment variable that holds each one, and
``bootstrap`` reads it. Every problem becomes a ``ConfigError`` naming the file, the key
and the fix. With no file at all the embedded default runs: SQLite, a local Maildir and
outgoing mail written to a folder, under ``var/``.
"""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mailbot.domain.errors import ConfigError

EMBEDDED = "(embedded default)"
PROJECT_ROOT = Path(__file__).resolve().parents[1]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Strict):
    url: str = "sqlite:///var/mailbot.sqlite3"


class OutgoingSettings(_Strict):
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

    @model_validator(mode="after")
    def _plain_only_to_loopback(self) -> OutgoingSettings:
        if self.kind == "smtp":
            _refuse_plain_to_remote(self.security, self.host, "outgoing")
        return self


class MailboxSettings(_Strict):
    name: str
    address: str
    policy: str
    kind: Literal["imap", "ews", "maildir"] = "maildir"
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
    trusted_authserv_ids: list[str] = []
    contacts: dict[str, str | list[str]] = {}
    idle: bool = True
    poll_seconds: float = Field(default=60, gt=0)

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


class WorkerSettings(_Strict):
    chase_every_minutes: float = Field(default=15, gt=0)
    send_every_seconds: float = Field(default=10, gt=0)


class Settings(_Strict):
    timezone: str = "Europe/London"
    policies_dir: str = str(PROJECT_ROOT / "policies")
    templates_dir: str = str(PROJECT_ROOT / "templates")
    forms_dir: str = str(PROJECT_ROOT / "forms")
    var_dir: str = "var"
    database: DatabaseSettings = DatabaseSettings()
    outgoing: OutgoingSettings = OutgoingSettings()
    worker: WorkerSettings = WorkerSettings()
    mailbox: list[MailboxSettings] = Field(min_length=1)
    source: str = EMBEDDED  # which file these came from, for error messages

    @model_validator(mode="after")
    def _mailbox_names_unique(self) -> Settings:
        names = [m.name for m in self.mailbox]
        if len(names) != len(set(names)):
            raise ValueError("two [[mailbox]] tables share a name; names must be unique")
        return self


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


def embedded_default(var_dir: str = "var") -> Settings:
    """The zero-configuration setup: Bury's policy on a local Maildir, mail to a folder."""
    return Settings(
        var_dir=var_dir,
        database=DatabaseSettings(url=f"sqlite:///{var_dir}/mailbot.sqlite3"),
        outgoing=OutgoingSettings(kind="directory", directory=f"{var_dir}/outbox"),
        mailbox=[MailboxSettings(
            name="bury", address="bsp@bury.example", policy="bury", kind="maildir",
            path=f"{var_dir}/maildir/bury", business_managers=["business.manager@bury.example"],
            sender_trust="none")],
    )


def load_settings(path: Path | None) -> Settings:
    """Reads ``path``; ``None`` (or a missing default ./config.toml) gives the embedded default."""
    if path is None:
        return embedded_default()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), "-", "file not found",
                          "Pass --config with an existing file, or copy config.example.toml.") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(str(path), "-", f"is not valid TOML ({error})",
                          "Fix the syntax at the line shown.") from error
    try:
        return Settings.model_validate({**data, "source": str(path)})
    except ValidationError as error:
        raise _config_error(str(path), error) from None


def _config_error(file: str, error: ValidationError) -> ConfigError:
    first = error.errors()[0]
    key = ".".join(f"[{part}]" if isinstance(part, int) else str(part) for part in first["loc"])
    key = key.replace(".[", "[") or "-"
    problem = first["msg"].removeprefix("Value error, ")
    fixes = {"missing": "Add this key; config.example.toml documents it.",
             "extra_forbidden": "Remove it or check its spelling against config.example.toml.",
             "literal_error": "Use one of the values listed."}
    return ConfigError(file, key, problem, fixes.get(first["type"], "See config.example.toml."))


def resolve_path(settings: Settings, value: str) -> Path:
    """Relative paths in a config are relative to the config file's folder."""
    path = Path(value)
    if path.is_absolute() or settings.source == EMBEDDED:
        return path
    return Path(settings.source).resolve().parent / path
