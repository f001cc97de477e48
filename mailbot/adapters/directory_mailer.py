"""The directory mailer: the embedded default, writing each outgoing message as an .eml file.

Files appear whole or not at all (written to a hidden temporary name, flushed, then renamed),
so whoever collects them never reads half a message. A pass killed between the write and the
rename leaves its temporary file behind, holding a whole message (a child's details); the
next pass removes such files once they are older than any write takes, and the outbox row,
never marked sent, is written again whole. File names are built only from the clock
and a sanitised Message-ID, never from raw input.
"""

from __future__ import annotations

import datetime
import os
import re
import secrets
from pathlib import Path

from mailbot.domain.errors import TransientError
from mailbot.services.ports import OutgoingEmail

TEMPORARY_PREFIX = ".tmp-"
# A temporary file older than this was left by a pass that died: a write takes milliseconds,
# and another process sending into the same folder may be mid-write on a younger one.
STALE_AFTER = datetime.timedelta(minutes=5)
_UNSAFE = re.compile(r"[^A-Za-z0-9._@+=-]+")
_MAX_ID_LENGTH = 100


class DirectoryMailer:
    """Writes ``<UTC timestamp>-<safe message-id>.eml`` files into ``path``."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._swept_at: datetime.datetime | None = None

    def send(self, email: OutgoingEmail) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._sweep()
            self._write(email)
        except OSError as error:
            raise TransientError(f"cannot write {email.message_id} to {self.path}") from error

    def _sweep(self) -> None:
        """Removes temporary files left by a pass that died, at most every few minutes (the
        folder may hold many thousand messages)."""
        now = datetime.datetime.now(datetime.UTC)
        if self._swept_at is not None and now - self._swept_at < STALE_AFTER:
            return
        self._swept_at = now
        limit = (now - STALE_AFTER).timestamp()
        for entry in os.scandir(self.path):
            if entry.name.startswith(TEMPORARY_PREFIX) and entry.stat().st_mtime < limit:
                Path(entry.path).unlink(missing_ok=True)

    def delivered(self, message_id: str) -> bool:
        """Whether a file for this Message-ID is here already (asked only of mail whose send
        pass died before it could mark it sent, so the folder is read only after a crash)."""
        wanted = "-" + file_name(message_id, datetime.datetime.now(datetime.UTC)).split("-", 1)[1]
        try:
            return any(entry.name.endswith(wanted) and "-" not in entry.name[:-len(wanted)]
                       for entry in os.scandir(self.path))
        except FileNotFoundError:
            return False

    def _write(self, email: OutgoingEmail) -> None:
        final = self.path / file_name(email.message_id, datetime.datetime.now(datetime.UTC))
        temporary = self.path / f"{TEMPORARY_PREFIX}{secrets.token_hex(8)}"
        # 0600: the messages carry children's details.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(email.data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, final)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        _sync_directory(self.path)


def file_name(message_id: str, when: datetime.datetime) -> str:
    """The file name for a message: sortable by time, recognisable by Message-ID, path-free."""
    safe = _UNSAFE.sub("_", message_id.strip().strip("<>"))[:_MAX_ID_LENGTH].strip("._")
    stamp = when.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{safe or 'message'}.eml"


def _sync_directory(path: Path) -> None:
    # The rename is durable only once the directory entry itself is on disk.
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
