"""The Maildir mailbox: the embedded default, with the same semantics as the IMAP adapter.

Mail delivered into ``new/`` or ``cur/`` of the folder is unprocessed; ``mark_processed`` renames
it into the Maildir++ sub-folder ``.processed``. A rename is atomic, so a crash leaves each
message either waiting or processed, never both or neither. The folder's UIDVALIDITY is a random
number kept in a file inside it: deleting and recreating the folder changes it, as on a server.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import time
from collections.abc import Sequence
from pathlib import Path

from mailbot.adapters.batch_budget import MAX_BATCH_BYTES
from mailbot.adapters.pauses import Pauses
from mailbot.domain.errors import PermanentError, TransientError
from mailbot.services.ports import RawMessage

log = logging.getLogger(__name__)

_UIDVALIDITY_FILE = "mailbot-uidvalidity"
# A key is the unique part of a Maildir file name; anything with a path in it is not one.
_SAFE_KEY = re.compile(r"[^/\\\x00]+")
_DELIVERY_TIME = re.compile(r"(\d+)(?:\.M(\d+))?")


class MaildirMailbox:
    """A local Maildir; ``processed_folder`` is a Maildir++ sub-folder of it."""

    def __init__(self, name: str, path: str | Path, processed_folder: str = "processed",
                 *, poll_interval: float = 0.2, max_batch_bytes: int = MAX_BATCH_BYTES):
        if not _SAFE_KEY.fullmatch(processed_folder) or processed_folder in (".", ".."):
            raise PermanentError(f"mailbox {name}: bad processed folder {processed_folder!r}")
        self.name = name
        self.path = Path(path)
        self.processed_path = self.path / f".{processed_folder}"
        self.poll_interval = poll_interval
        self._pauses = Pauses()
        self.max_batch_bytes = max_batch_bytes
        self._offered: set[str] = set()

    # -- the port ----------------------------------------------------------------------------

    def fetch_new(self, limit: int = 200) -> list[RawMessage]:
        uidvalidity = self._prepare()
        found = self._waiting()
        batch = sorted(found, key=lambda key: _arrival_order(key, found[key]))[:limit]
        messages, size = [], 0
        for key in batch:
            data = _read(found[key])
            if data is None:
                continue
            size += len(data)
            if messages and size > self.max_batch_bytes:
                break  # always at least one message, however large
            messages.append(RawMessage(self.name, uidvalidity, key, data))
        batch = [raw.uid for raw in messages]
        self._offered = set(batch)
        return messages

    def mark_all_processed(self, messages: Sequence[RawMessage]) -> None:
        for message in messages:  # one request each: this API has no bulk move we rely on
            self.mark_processed(message)

    def mark_processed(self, message: RawMessage) -> None:
        key = message.uid
        if message.mailbox != self.name or not _SAFE_KEY.fullmatch(key) or key in (".", ".."):
            raise PermanentError(f"mailbox {self.name}: not a message of this mailbox: {key!r}")
        if message.uidvalidity != self._prepare():
            # The folder was recreated: keys are unique anyway, but keep the IMAP semantics.
            log.warning("mailbox %s: not moving %s of stale UIDVALIDITY %d", self.name, key,
                        message.uidvalidity)
            return
        for source in self._candidates(key):
            name = source.name if source.parent.name == "cur" else f"{source.name}:2,"
            try:
                os.rename(source, self.processed_path / "cur" / name)
                return
            except FileNotFoundError:
                continue  # moved meanwhile (by an earlier call, say): look in the next place
            except OSError as error:
                raise TransientError(f"mailbox {self.name}: cannot move {key}") from error
        # Not found: already processed, or removed by someone else. Either way nothing to do.

    def wait_for_new(self, timeout: float) -> bool:
        """Poll the folder's directories; a change of their mtime triggers a fresh listing."""
        deadline = time.monotonic() + timeout
        stamp = None
        while not self._pauses.interrupted:
            current = self._stamp()
            if current != stamp:
                stamp = current
                if self._arrived():
                    return True
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._pauses.sleep(min(self.poll_interval, remaining)):
                return False
        return False

    def interrupt(self) -> None:
        self._pauses.interrupt()

    def close(self) -> None:
        self._offered = set()

    # -- the folder --------------------------------------------------------------------------

    def _prepare(self) -> int:
        """Create whatever is missing (a new deployment, a recreated folder); return UIDVALIDITY."""
        try:
            for folder in (self.path, self.processed_path):
                for sub in ("tmp", "new", "cur"):
                    (folder / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
            (self.processed_path / "maildirfolder").touch(exist_ok=True)
            return self._uidvalidity()
        except OSError as error:
            raise TransientError(f"mailbox {self.name}: cannot prepare {self.path}") from error

    def _uidvalidity(self) -> int:
        path = self.path / _UIDVALIDITY_FILE
        try:
            return int(path.read_text().strip())
        except FileNotFoundError:
            pass
        # Written aside and linked into place, so two workers racing agree on one number.
        value = secrets.randbelow(2**31 - 1) + 1
        temporary = self.path / "tmp" / f"uidvalidity.{os.getpid()}.{secrets.token_hex(4)}"
        temporary.write_text(f"{value}\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            value = int(path.read_text().strip())
        finally:
            temporary.unlink(missing_ok=True)
        return value

    def _waiting(self) -> dict[str, Path]:
        """Unprocessed messages by key; messages marked trashed (flag T) are left out."""
        found: dict[str, Path] = {}
        for sub in ("new", "cur"):
            try:
                entries = list(os.scandir(self.path / sub))
            except FileNotFoundError:
                continue
            for entry in entries:
                key, _, info = entry.name.partition(":")
                if entry.name.startswith(".") or not entry.is_file() or "T" in info.partition(",")[2]:
                    continue
                found.setdefault(key, Path(entry.path))
        return found

    def _candidates(self, key: str) -> list[Path]:
        return [path for found_key, path in self._waiting().items() if found_key == key]

    def _arrived(self) -> bool:
        return any(key not in self._offered for key in self._waiting())

    def _stamp(self) -> tuple[int, ...]:
        stamps = []
        for sub in ("new", "cur"):
            try:
                stamps.append(os.stat(self.path / sub).st_mtime_ns)
            except FileNotFoundError:
                stamps.append(-1)
        try:
            stamps.append(os.stat(self.path).st_ino)
        except FileNotFoundError:
            stamps.append(-1)
        return tuple(stamps)


def _arrival_order(key: str, path: Path) -> tuple[int, int, str]:
    """Maildir names begin with the delivery time (seconds, then ``.M`` microseconds)."""
    match = _DELIVERY_TIME.match(key)
    if match:
        return int(match.group(1)), int(match.group(2) or 0), key
    try:
        modified = path.stat().st_mtime_ns
    except FileNotFoundError:
        modified = 0
    return modified // 1_000_000_000, (modified // 1000) % 1_000_000, key


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None  # processed by another worker between listing and reading
