"""The mailbox behind the fake Graph server: folders, messages and the change log delta reads.

It keeps what Exchange Online keeps as far as the Graph mail API shows it: well-known folders
under ``msgfolderroot``, child folders found by display name, messages with ids that change
when they are moved, and per-folder changes from which delta rounds are answered. State tokens
(skip and delta) are opaque strings mapped to a cursor here; forgetting them is how a test
makes Graph demand a resync. Callers hold ``lock`` for anything that must be consistent.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32

WELL_KNOWN = {"inbox": "Inbox", "sentitems": "Sent Items", "deleteditems": "Deleted Items",
              "drafts": "Drafts", "junkemail": "Junk Email", "archive": "Archive"}
ROOT = "msgfolderroot"


class NotFound(Exception):
    """Graph's 404 ErrorItemNotFound."""


class Exists(Exception):
    """Graph's 409 ErrorFolderExists."""


class SyncStateGone(Exception):
    """Graph's 410 syncStateNotFound: the state token is unknown or expired."""


def graph_id(kind: str = "AAMkAG") -> str:
    """An id shaped like Exchange's: base64url with '-' and '_', ending in '='."""
    return f"{kind}{secrets.token_urlsafe(96)}AAA="


@dataclass
class Folder:
    id: str
    display_name: str
    parent_id: str
    well_known: str = ""


@dataclass
class Message:
    id: str
    folder_id: str
    mime: bytes
    received: str
    internet_message_id: str
    order: int
    etag: str = field(default_factory=lambda: secrets.token_hex(8))


@dataclass
class _Cursor:
    folder_id: str
    since: int = 0  # delta token: changes after this sequence number
    remaining: list[dict] | None = None  # skip token: the rest of the round's items
    end: int = 0  # skip token: the sequence number the round's deltaLink will carry
    select: set[str] | None = None  # the initial request's $select, which tokens carry on


class GraphMailboxStore:
    """One user's mailbox."""

    def __init__(self, address: str):
        self.address = address
        self.lock = threading.RLock()
        self.folders: dict[str, Folder] = {}
        self.messages: dict[str, Message] = {}
        self.sent: list[bytes] = []
        self._changes: list[tuple[int, str, str, str]] = []  # (seq, folder id, message id, kind)
        self._seq = 0
        self._tokens: dict[str, _Cursor] = {}
        root = Folder(graph_id("AQMkAD"), "Top of Information Store", "", ROOT)
        self.folders[root.id] = root
        for well_known, name in WELL_KNOWN.items():
            folder = Folder(graph_id("AQMkAD"), name, root.id, well_known)
            self.folders[folder.id] = folder

    # -- folders -------------------------------------------------------------------------------

    def folder(self, reference: str) -> Folder:
        """By id or by well-known name (case-insensitive, as Graph takes them)."""
        with self.lock:
            if reference in self.folders:
                return self.folders[reference]
            for folder in self.folders.values():
                if folder.well_known and folder.well_known == reference.lower():
                    return folder
        raise NotFound(reference)

    def children(self, reference: str) -> list[Folder]:
        with self.lock:
            parent = self.folder(reference)
            return [f for f in self.folders.values() if f.parent_id == parent.id]

    def create_folder(self, parent_reference: str, name: str) -> Folder:
        with self.lock:
            parent = self.folder(parent_reference)
            if any(f.display_name.casefold() == name.casefold() for f in self.children(parent.id)):
                raise Exists(name)
            folder = Folder(graph_id("AQMkAD"), name, parent.id)
            self.folders[folder.id] = folder
            return folder

    def delete_folder(self, reference: str) -> None:
        with self.lock:
            folder = self.folder(reference)
            for child in self.children(folder.id):
                self.delete_folder(child.id)
            for message in self.in_folder(folder.id):
                self._remove(message)
            del self.folders[folder.id]

    def path(self, path: str, *, create: bool = False) -> Folder:
        """A folder by IMAP-style path: INBOX/..., else from the root of the mailbox."""
        parts = [p for p in path.split("/") if p]
        with self.lock:
            current = self.folder("inbox" if parts and parts[0].upper() == "INBOX" else ROOT)
            for part in parts[1:] if parts and parts[0].upper() == "INBOX" else parts:
                found = [f for f in self.children(current.id) if f.display_name.casefold() == part.casefold()]
                if found:
                    current = found[0]
                elif create:
                    current = self.create_folder(current.id, part)
                else:
                    raise NotFound(path)
            return current

    # -- messages ------------------------------------------------------------------------------

    def deliver(self, mime: bytes, folder_id: str) -> Message:
        headers = BytesHeaderParser(policy=compat32).parsebytes(mime)
        received = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self.lock:
            self._seq += 1
            message = Message(graph_id(), folder_id, mime, received, str(headers["Message-ID"] or ""),
                              self._seq)
            self._add(message)
            return message

    def message(self, message_id: str) -> Message:
        with self.lock:
            if message_id not in self.messages:
                raise NotFound(message_id)
            return self.messages[message_id]

    def in_folder(self, folder_id: str) -> list[Message]:
        with self.lock:
            return sorted((m for m in self.messages.values() if m.folder_id == folder_id),
                          key=lambda m: m.order)

    def move(self, message_id: str, destination: str) -> Message:
        """Graph gives a moved message a new id (unless immutable ids are asked for)."""
        with self.lock:
            message, target = self.message(message_id), self.folder(destination)
            self._remove(message)
            moved = Message(graph_id(), target.id, message.mime, message.received,
                            message.internet_message_id, message.order)
            self._add(moved)
            return moved

    def touch(self, message_id: str) -> None:
        """A change that is not a move (marked read, flagged): delta reports it as an update."""
        with self.lock:
            message = self.message(message_id)
            message.etag = secrets.token_hex(8)
            self._log(message.folder_id, message.id, "updated")

    def _add(self, message: Message) -> None:
        self.messages[message.id] = message
        self._log(message.folder_id, message.id, "added")

    def _remove(self, message: Message) -> None:
        del self.messages[message.id]
        self._log(message.folder_id, message.id, "removed")

    def _log(self, folder_id: str, message_id: str, kind: str) -> None:
        self._seq += 1
        self._changes.append((self._seq, folder_id, message_id, kind))

    # -- delta ---------------------------------------------------------------------------------

    def delta_page(self, folder_id: str, *, skip: str = "", delta: str = "", page_size: int = 10,
                   select: set[str] | None = None) -> tuple[list[dict], str, str]:
        """One page of a delta round: (items, next skip token or "", delta token or "")."""
        with self.lock:
            folder = self.folder(folder_id)
            if skip or delta:
                cursor = self._tokens.get(skip or delta)
                if cursor is None or cursor.folder_id != folder.id:
                    raise SyncStateGone(skip or delta)
                select = cursor.select
                if skip:
                    items, end = list(cursor.remaining or []), cursor.end
                else:
                    items, end = self._changes_since(folder.id, cursor.since, select), self._seq
            else:
                items = [resource(m, select) for m in self.in_folder(folder.id)]
                end = self._seq
            page, rest = items[:page_size], items[page_size:]
            if rest:
                return page, self._token(_Cursor(folder.id, remaining=rest, end=end, select=select)), ""
            return page, "", self._token(_Cursor(folder.id, since=end, select=select))

    def forget_state_tokens(self) -> None:
        with self.lock:
            self._tokens.clear()

    def _changes_since(self, folder_id: str, since: int, select: set[str] | None) -> list[dict]:
        last: dict[str, str] = {}
        for seq, changed_folder, message_id, kind in self._changes:
            if seq > since and changed_folder == folder_id:
                last.pop(message_id, None)
                last[message_id] = kind  # re-inserted, so the order is that of the last change
        items = []
        for message_id, kind in last.items():
            message = self.messages.get(message_id)
            if kind == "removed" or message is None or message.folder_id != folder_id:
                items.append({"@odata.type": "#microsoft.graph.message", "id": message_id,
                              "@removed": {"reason": "deleted"}})
            else:
                items.append(resource(message, select))
        return items

    def _token(self, cursor: _Cursor) -> str:
        token = secrets.token_urlsafe(24)
        self._tokens[token] = cursor
        return token


def resource(message: Message, select: set[str] | None = None) -> dict:
    """The message resource as Graph returns it, cut down to ``$select`` (id always stays)."""
    full = {
        "@odata.type": "#microsoft.graph.message",
        "@odata.etag": f'W/"{message.etag}"',
        "id": message.id,
        "receivedDateTime": message.received,
        "internetMessageId": message.internet_message_id,
        "parentFolderId": message.folder_id,
    }
    if not select:
        return full
    return {k: v for k, v in full.items() if k.startswith("@") or k == "id" or k in select}


def folder_resource(store: GraphMailboxStore, folder: Folder) -> dict:
    return {
        "id": folder.id,
        "displayName": folder.display_name,
        "parentFolderId": folder.parent_id,
        "childFolderCount": len(store.children(folder.id)),
        "unreadItemCount": 0,
        "totalItemCount": len(store.in_folder(folder.id)),
        "isHidden": False,
    }
