"""What the Graph mailbox remembers between runs: the watched folder's deltaLink and its mail.

A delta query reports only changes since the last round, so the messages still waiting in the
folder (returned before but not yet marked) are remembered next to the deltaLink, and both are
written together, atomically, once a round is complete. A worker that dies mid-round starts
again from the previous deltaLink and replays the same changes, which are idempotent here
(adding a known id or removing a gone one changes nothing), so it neither skips nor repeats.
If the file is lost or unreadable, a full round re-lists the folder, which is also safe: since
processed mail is moved out, whatever is in the folder is unprocessed.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from mailbot.domain.errors import TransientError

log = logging.getLogger(__name__)

_VERSION = 1


@dataclass
class Waiting:
    """A message in the watched folder, in the order it should be offered."""

    id: str
    received: str  # receivedDateTime as Graph writes it (UTC, ISO 8601), so it sorts as text
    order: int  # when this worker first saw it; breaks ties within one second


@dataclass
class DeltaState:
    folder_id: str = ""
    delta_link: str = ""
    waiting: dict[str, Waiting] = field(default_factory=dict)
    _next_order: int = 0

    def oldest_first(self) -> list[str]:
        return [w.id for w in sorted(self.waiting.values(), key=lambda w: (w.received, w.order))]

    def restart(self, folder_id: str) -> None:
        """Forget everything: the folder is new to us (first run, recreated, or config changed)."""
        self.folder_id, self.delta_link, self.waiting, self._next_order = folder_id, "", {}, 0

    def apply(self, items: list[dict], *, full: bool) -> None:
        """Apply one round's items. A full round lists the whole folder, so it replaces."""
        if full:
            known, self.waiting = self.waiting, {}
        else:
            known = self.waiting
        for item in items:
            message_id = item.get("id")
            if not isinstance(message_id, str) or not message_id:
                continue
            if "@removed" in item:
                self.waiting.pop(message_id, None)
            elif message_id in known:
                self.waiting[message_id] = known[message_id]  # an update (read, flagged): same place
            else:
                self.waiting[message_id] = Waiting(message_id, str(item.get("receivedDateTime") or ""),
                                                   self._next_order)
                self._next_order += 1

    def forget(self, message_id: str) -> None:
        self.waiting.pop(message_id, None)

    # -- the file ------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path) -> DeltaState:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != _VERSION:
                raise ValueError(f"unknown version {data.get('version')!r}")
            state = cls(str(data["folder_id"]), str(data["delta_link"]))
            for order, (message_id, received) in enumerate(data["waiting"]):
                state.waiting[str(message_id)] = Waiting(str(message_id), str(received), order)
            state._next_order = len(state.waiting)
            return state
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError, KeyError, TypeError) as error:
            # A full round rebuilds everything this file held, without losing or repeating mail.
            log.warning("Graph state %s is unreadable (%s); the folder will be listed afresh", path, error)
            return cls()

    def save(self, path: Path) -> None:
        """Written aside and renamed into place, so a crash leaves the old file or the new one."""
        data = {"version": _VERSION, "folder_id": self.folder_id, "delta_link": self.delta_link,
                "waiting": [[w.id, w.received] for w in
                            sorted(self.waiting.values(), key=lambda w: w.order)]}
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump(data, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            raise TransientError(f"cannot write the Graph mailbox state {path}: {error}") from error
