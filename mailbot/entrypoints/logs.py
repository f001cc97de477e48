"""How mailbot's log lines look: one line per event, its time with the zone, text or JSON.

Text lines read ``2026-12-04T09:30:01.123+00:00 INFO mailbot.services.intake: message ...``;
``--log-format json`` writes one JSON object a line (time, level, logger, message) for log
shippers. Times are in the config's ``timezone`` once a config is loaded. Libraries that
narrate routine work (APScheduler every job run, Alembic every start, httpx every request)
are held to warnings. Children's names and dates of birth are never logged: callers log
references, addresses and Message-IDs only.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime
from typing import TextIO
from zoneinfo import ZoneInfo

FORMATS = ("text", "json")
# Held to warnings whatever the level: routine narration, and the protocol libraries, which
# log what passes over the wire at DEBUG: whole messages (children's names and dates of
# birth among them), Graph URLs with mailbox addresses, tokens. -v is for mailbot's own lines.
QUIET_LIBRARIES = ("apscheduler", "alembic", "httpx", "httpcore", "msal", "imapclient",
                   "exchangelib", "sqlalchemy", "urllib3", "requests_ntlm", "spnego", "mail.log")
HANDLER_NAME = "mailbot"  # the root handler configure installs, found again by this name


class _ZonedFormatter(logging.Formatter):
    zone: ZoneInfo | None = None  # None: the machine's local zone

    def when(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, self.zone)
        return (moment if self.zone else moment.astimezone()).isoformat(timespec="milliseconds")


class TextFormatter(_ZonedFormatter):
    def format(self, record: logging.LogRecord) -> str:
        line = f"{self.when(record)} {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(_ZonedFormatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.when(record), "level": record.levelname, "logger": record.name,
                 "message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class _StandardError(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stderr`` as it is at each line, as logging's own last resort does: a
    stream replaced after start-up, and the old one closed (by a test's capture, or a host
    embedding ``main()``), would otherwise get each line as a "Logging error"."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _ignored: object) -> None:
        pass  # StreamHandler sets it; the stream is always sys.stderr's of the moment


def configure(*, verbose: bool = False, log_format: str = "text") -> None:
    """Sends mailbot's log to stderr (the journal, under systemd) in the chosen format."""
    handler = _StandardError()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:  # a second main() in one process
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)


def use_zone(zone: ZoneInfo) -> None:
    """From now on, log times are in ``zone`` (the config's timezone)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, _ZonedFormatter):
            handler.formatter.zone = zone
