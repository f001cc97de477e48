"""The clock a command reads: the real one, or the moment --now names.

``--now`` without an offset is read in the config's ``timezone`` (Europe/London unless the
config says otherwise); the CLI sets ``zone`` once it has loaded the config, so the same
command line means the same moment on a server whose own clock runs in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from mailbot.domain.errors import ConfigError
from mailbot.domain.working_days import LONDON


@dataclass
class CommandClock:
    fixed: datetime | None = None  # naive: in ``zone``; aware: as given
    zone: ZoneInfo = LONDON

    @classmethod
    def parse(cls, value: str | None) -> CommandClock:
        if value is None:
            return cls()
        try:
            return cls(datetime.fromisoformat(value))
        except ValueError:
            raise ConfigError("command line", "--now", f"{value!r} is not an ISO-8601 time",
                              "Write it like 2026-12-01T09:30 or 2026-12-01T09:30+00:00.") from None

    def __call__(self) -> datetime:
        if self.fixed is None:
            return datetime.now(self.zone)
        return self.fixed if self.fixed.tzinfo else self.fixed.replace(tzinfo=self.zone)
