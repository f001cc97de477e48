"""Configuration: the TOML file of contract section 3, validated into typed settings.

Secrets never live here: a config names the environment variable that holds each one, and
``bootstrap`` reads it. Every problem becomes a ``ConfigError`` naming the file, the key
and the fix. With no file at all the embedded default runs: SQLite, a local Maildir and
outgoing mail written to a folder, under ``var/demo/`` (where `mailbot demo` puts them).
The tables inside the file are in ``config/sections.py``; this puts them together and reads it.
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator

from mailbot.config.sections import (
    DatabaseSettings,
    DigestSettings,
    EwsSettings,
    GraphSettings,
    MailboxSettings,
    OAuthSettings,
    OutgoingSettings,
    RetentionSettings,
    Strict,
    WorkerSettings,
)
from mailbot.domain.errors import ConfigError
from mailbot.shipped import shipped_dir

EMBEDDED = "(embedded default)"
DEMO_VAR_DIR = "var/demo"  # the embedded default's folder, shared with `mailbot demo`


class Settings(Strict):
    timezone: str = "Europe/London"
    # Default: the ones shipped inside the package (mailbot.shipped).
    policies_dir: str = str(shipped_dir("policies"))
    templates_dir: str = str(shipped_dir("templates"))
    forms_dir: str = str(shipped_dir("forms"))
    var_dir: str = "var"
    database: DatabaseSettings = DatabaseSettings()
    outgoing: OutgoingSettings = OutgoingSettings()
    worker: WorkerSettings = WorkerSettings()
    retention: RetentionSettings = RetentionSettings()
    mailbox: list[MailboxSettings] = Field(min_length=1)
    source: str = EMBEDDED  # which file these came from, for error messages

    @field_validator("timezone")
    @classmethod
    def _a_real_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone name; use an IANA name such as"
                             " 'Europe/London'") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The zone deadlines, chasers, --now and every time shown to a person are in."""
        return ZoneInfo(self.timezone)

    @model_validator(mode="after")
    def _acting_fits_the_pool(self) -> Settings:
        # The send job and the deadline pass need a connection each beside the mailboxes acting.
        connections = self.database.pool_size + self.database.max_overflow
        if self.worker.acting_at_once + 2 > connections:
            raise ValueError(f"worker.acting_at_once = {self.worker.acting_at_once} needs"
                             f" {self.worker.acting_at_once + 2} database connections but"
                             f" database.pool_size + max_overflow allow {connections}; raise"
                             " pool_size or lower acting_at_once")
        return self

    @model_validator(mode="after")
    def _mailbox_names_unique(self) -> Settings:
        names = [m.name for m in self.mailbox]
        if len(names) != len(set(names)):
            raise ValueError("two [[mailbox]] tables share a name; names must be unique")
        return self


def embedded_default(var_dir: str = DEMO_VAR_DIR) -> Settings:
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
        raise ConfigError(str(path), "--config", "file not found",
                          "Pass --config with an existing file, or copy config.example.toml"
                          " to it and edit it.") from None
    except OSError as error:
        raise ConfigError(str(path), "--config", f"cannot be read ({error.strerror})",
                          "Make it readable by the user mailbot runs as.") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(str(path), "-", f"is not valid TOML ({error})",
                          "Fix the syntax at the line shown.") from error
    try:
        return Settings.model_validate({**data, "source": str(path)})
    except ValidationError as error:
        raise _config_error(str(path), error) from None


def _config_error(file: str, error: ValidationError) -> ConfigError:
    # A misspelt key shows up twice: as an unknown key and as a required one missing. The
    # unknown one names the misspelling, which is what the reader needs to see first.
    problems = error.errors()
    first = min(problems, key=lambda e: e["type"] != "extra_forbidden")
    problem = first["msg"].removeprefix("Value error, ")
    fixes = {"missing": "Add this key; config.example.toml documents it.",
             "extra_forbidden": "Remove it or check its spelling against config.example.toml.",
             "literal_error": "Use one of the values listed."}
    fix = fixes.get(first["type"], "See config.example.toml.")
    if first["type"] == "extra_forbidden":
        fix = _meant(first, problems) or fix
    return ConfigError(file, _dotted(first["loc"]), problem, fix)


def _dotted(loc: tuple) -> str:
    key = ".".join(f"[{part}]" if isinstance(part, int) else str(part) for part in loc)
    return key.replace(".[", "[") or "-"


def _meant(extra: dict, problems: list[dict]) -> str:
    """'Did you mean address?' when a required key of the same table is missing."""
    table, written = extra["loc"][:-1], str(extra["loc"][-1])
    missing = [str(p["loc"][-1]) for p in problems
               if p["type"] == "missing" and p["loc"][:-1] == table]
    close = difflib.get_close_matches(written, missing, n=1, cutoff=0.6)
    if not close:
        return ""
    return f"Did you mean {close[0]}? It is required and missing; rename {written} to {close[0]}."


def resolve_path(settings: Settings, value: str) -> Path:
    """Relative paths in a config are relative to the config file's folder."""
    path = Path(value)
    if path.is_absolute() or settings.source == EMBEDDED:
        return path
    return Path(settings.source).resolve().parent / path


__all__ = ["DEMO_VAR_DIR", "EMBEDDED", "DatabaseSettings", "DigestSettings", "EwsSettings",
           "GraphSettings", "MailboxSettings", "OAuthSettings", "OutgoingSettings",
           "RetentionSettings", "Settings", "WorkerSettings", "embedded_default", "load_settings",
           "resolve_path"]
