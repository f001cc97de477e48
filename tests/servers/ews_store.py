"""The mailbox behind the fake Exchange server: folders and items, as EWS exposes them.

It keeps what the EWS operations the adapter uses can see: a folder tree under the hidden
root (``root``), the Top of Information Store (``msgfolderroot``) with the usual distinguished
folders, and messages held as their MIME bytes. Ids are opaque base64 strings of the length
Exchange uses, and an item moved to another folder gets a new ItemId, as on a real server.
"""

from __future__ import annotations

import base64
import datetime
import itertools
import os
import threading
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import getaddresses

# Distinguished folder name -> display name, all children of the Top of Information Store.
STANDARD_FOLDERS = {
    "inbox": "Inbox", "sentitems": "Sent Items", "deleteditems": "Deleted Items",
    "drafts": "Drafts", "outbox": "Outbox", "junkemail": "Junk Email",
}


@dataclass
class StoredFolder:
    id: str
    change_key: str
    name: str
    parent_id: str | None
    distinguished: str | None = None
    folder_class: str | None = "IPF.Note"


@dataclass
class StoredItem:
    id: str
    change_key: str
    folder_id: str
    mime: bytes
    received: datetime.datetime
    sequence: int  # arrival order, for items received in the same second
    subject: str = ""
    message_id: str = ""


@dataclass
class SentMessage:
    """What CreateItem with MessageDisposition SendOnly or SendAndSaveCopy handed to transport."""

    mime: bytes
    disposition: str
    to: tuple[str, ...] = ()  # recipients given as item properties, beside the MIME
    bcc: tuple[str, ...] = ()
    saved_in: str | None = None

    @property
    def recipients(self) -> set[str]:
        """Whom Exchange sends to: the item's recipients if given, else the MIME's To and Cc."""
        if self.to or self.bcc:
            return {a.lower() for a in (*self.to, *self.bcc)}
        headers = BytesHeaderParser(policy=default_policy).parsebytes(self.mime)
        values = [str(v) for name in ("To", "Cc", "Bcc") for v in headers.get_all(name, [])]
        return {address.lower() for _, address in getaddresses(values) if address}


@dataclass
class Mailstore:
    """One mailbox; every method takes the lock, so handler threads may share it."""

    id_length: int = 152  # Exchange ItemIds are ~152 characters of base64
    folders: dict[str, StoredFolder] = field(default_factory=dict)
    items: dict[str, StoredItem] = field(default_factory=dict)
    sent: list[SentMessage] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self._sequence = itertools.count(1)
        root = self._add_folder("Root", None, "root", folder_class=None)
        top = self._add_folder("Top of Information Store", root.id, "msgfolderroot")
        for distinguished, name in STANDARD_FOLDERS.items():
            self._add_folder(name, top.id, distinguished)

    # -- folders -----------------------------------------------------------------------------

    def distinguished(self, name: str) -> StoredFolder | None:
        with self.lock:
            return next((f for f in self.folders.values() if f.distinguished == name.lower()), None)

    def folder(self, folder_id: str) -> StoredFolder | None:
        with self.lock:
            return self.folders.get(folder_id)

    def children(self, folder_id: str, deep: bool = False) -> list[StoredFolder]:
        with self.lock:
            found = [f for f in self.folders.values() if f.parent_id == folder_id]
            if deep:
                for child in list(found):
                    found += self.children(child.id, deep=True)
            return found

    def create_folder(self, parent_id: str, name: str) -> StoredFolder:
        with self.lock:
            if any(f.name.lower() == name.lower() for f in self.children(parent_id)):
                raise FileExistsError(name)
            return self._add_folder(name, parent_id, None)

    def delete_folder(self, folder_id: str) -> None:
        with self.lock:
            for child in self.children(folder_id):
                self.delete_folder(child.id)
            for item in self.items_in(folder_id):
                del self.items[item.id]
            del self.folders[folder_id]

    def path(self, path: str, create: bool = False) -> StoredFolder | None:
        """A folder by its path under the Top of Information Store; ``Inbox/x`` works too."""
        with self.lock:
            folder = self.distinguished("msgfolderroot")
            for part in filter(None, path.split("/")):
                found = next((f for f in self.children(folder.id) if f.name.lower() == part.lower()),
                             None)
                if found is None and not create:
                    return None
                folder = found or self.create_folder(folder.id, part)
            return folder

    def _add_folder(self, name: str, parent_id: str | None, distinguished: str | None,
                    folder_class: str | None = "IPF.Note") -> StoredFolder:
        folder = StoredFolder(self._new_id(), _change_key(), name, parent_id, distinguished,
                              folder_class)
        self.folders[folder.id] = folder
        return folder

    # -- items -------------------------------------------------------------------------------

    def deliver(self, mime: bytes, folder_id: str) -> StoredItem:
        headers = BytesHeaderParser(policy=default_policy).parsebytes(mime)
        with self.lock:
            item = StoredItem(
                self._new_id(), _change_key(), folder_id, mime,
                datetime.datetime.now(datetime.UTC).replace(microsecond=0), next(self._sequence),
                str(headers.get("Subject", "")), str(headers.get("Message-ID", "")),
            )
            self.items[item.id] = item
            return item

    def items_in(self, folder_id: str) -> list[StoredItem]:
        """Oldest first; Exchange sorts by DateTimeReceived, whole seconds, then arrival."""
        with self.lock:
            found = [i for i in self.items.values() if i.folder_id == folder_id]
            return sorted(found, key=lambda i: (i.received, i.sequence))

    def move(self, item_id: str, folder_id: str) -> StoredItem | None:
        with self.lock:
            item = self.items.pop(item_id, None)
            if item is None:
                return None
            item.id, item.change_key, item.folder_id = self._new_id(), _change_key(), folder_id
            self.items[item.id] = item
            return item

    def _new_id(self) -> str:
        raw = os.urandom(self.id_length * 3 // 4)
        return base64.b64encode(raw).decode()[: self.id_length]


def _change_key() -> str:
    return base64.b64encode(os.urandom(30)).decode()
