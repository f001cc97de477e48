"""The EWS mailbox: a partnership mailbox on Exchange Server (on premises), through exchangelib.

Same semantics as the IMAP adapter. Every item still in the watched folder is unprocessed;
``fetch_new`` lists the oldest ``limit`` of them (FindItem sorted by DateTimeReceived, ids and
sizes only), then fetches their MIME content in one batched GetItem; ``mark_processed`` moves
the item to the processed folder (MoveItem), creating that folder if it is missing. New mail is
awaited by polling a cheap FindItem: EWS streaming notifications would need a long-lived
connection that proxies and load balancers in front of Exchange tend to cut.

Why folder membership rather than a SyncFolderItems sync state: the folder itself then records
what is left to do. A message whose processing failed is offered again, a restart neither skips
nor repeats, and losing the state file, or restoring an old one, loses nothing. A sync state
only reports changes since it was taken, so it would need a second record of the items offered
but not yet marked, and a full resync whenever it went stale. The state file therefore keeps
only the folder ids: the processed folder's, to spare a lookup per start, and the watched
folder's, so that a folder replaced while the worker was stopped is noticed and reported.

The uid is the EWS ItemId (an item moved out and back gets a new one, and is then recognised by
its content hash); UIDVALIDITY is a number derived from the watched folder's id, so a replaced
folder changes it and stale ItemIds are never acted on.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from exchangelib import Account
from exchangelib.errors import ErrorFolderNotFound, ErrorItemNotFound
from exchangelib.properties import FolderId

from mailbot.adapters.batch_budget import MAX_BATCH_BYTES
from mailbot.adapters.microsoft.ews_account import EwsConnection, EwsEndpoint
from mailbot.adapters.microsoft.ews_errors import EWS_FAILURES, ServerBusy, is_connection_drop, translate
from mailbot.adapters.microsoft.ews_folders import (
    ensure_folder,
    find_folder,
    load_state,
    save_state,
    uidvalidity_of,
)
from mailbot.adapters.microsoft.ews_mailer import EwsMailer
from mailbot.adapters.pauses import Pauses
from mailbot.domain.errors import PermanentError, TransientError
from mailbot.services.ports import RawMessage

__all__ = ["EwsMailbox", "EwsMailer"]

log = logging.getLogger(__name__)

MAX_UID_LENGTH = 255  # the store's column; longer ItemIds are replaced by a digest
_T = TypeVar("_T")


class EwsMailbox:
    """One folder of an Exchange mailbox watched for new mail; see the module docstring."""

    def __init__(
        self, name: str, address: str, *, service_endpoint: str, username: str = "",
        password: str | None = None, token_provider: Callable[[], str] | None = None,
        auth_type: str = "ntlm", folder: str = "INBOX", processed_folder: str = "mailbot/processed",
        state_path: Path, ca_file: str = "", timeout: float = 30, poll_interval: float = 30.0,
        max_batch_bytes: int = MAX_BATCH_BYTES,
    ):
        self.name, self.address, self.folder, self.processed_folder = name, address, folder, processed_folder
        self._connection = EwsConnection(EwsEndpoint(
            service_endpoint, address, username or address, password, token_provider, auth_type,
            ca_file, timeout, f"mailbox {name}"))
        self._state_path = Path(state_path)
        self._state = load_state(self._state_path, address, folder, processed_folder)
        self._poll_interval, self._max_batch_bytes = poll_interval, max_batch_bytes
        self._pauses = Pauses()
        self._folder_id = ""
        self._uidvalidity = 0
        self._offered: set[str] = set()  # uids of the last batch fetch_new returned
        self._long_ids: dict[str, str] = {}  # digest uid -> ItemId, for ItemIds over 255 characters
        self._busy_until = 0.0  # monotonic time before which Exchange asked us not to call

    # -- the port ----------------------------------------------------------------------------

    def fetch_new(self, limit: int = 200) -> list[RawMessage]:
        if limit < 1:
            return []
        return self._call("fetching new mail", lambda account: self._fetch(account, limit))

    def mark_all_processed(self, messages: Sequence[RawMessage]) -> None:
        for message in messages:  # one request each: this API has no bulk move we rely on
            self.mark_processed(message)

    def mark_processed(self, message: RawMessage) -> None:
        if message.mailbox != self.name:
            raise PermanentError(f"mailbox {self.name} cannot mark a message of {message.mailbox}")
        self._call("moving a message to the processed folder", lambda account: self._mark(account, message))

    def wait_for_new(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self._pauses.interrupted:
            try:
                if self._call("looking for new mail", self._arrived):
                    return True
            except TransientError as error:
                log.info("mailbox %s: %s", self.name, error)
            pause = max(self._poll_interval, self._busy_until - time.monotonic())
            if not self._pauses.sleep_until(deadline, pause):
                return False
        return False

    def interrupt(self) -> None:
        self._pauses.interrupt()

    def close(self) -> None:
        self._offered = set()
        self._connection.close()

    # -- calls -------------------------------------------------------------------------------

    def _call(self, doing: str, operation: Callable[[Account], _T]) -> _T:
        """Run ``operation``; once more at once if the connection had been dropped under us."""
        wait = self._busy_until - time.monotonic()
        if wait > 0:
            raise ServerBusy(f"mailbox {self.name}: Exchange asked us to wait {wait:.0f}s more", wait)
        endpoint = self._connection.endpoint
        for attempt in (1, 2):
            try:
                return operation(self._connection.account())
            except EWS_FAILURES as error:
                if attempt == 1 and is_connection_drop(error):
                    log.info("mailbox %s: connection dropped while %s; retrying", self.name, doing)
                    continue
                translated = translate(error, doing, endpoint=endpoint.service_endpoint,
                                       username=endpoint.username)
                if isinstance(translated, ServerBusy):
                    self._busy_until = time.monotonic() + translated.back_off
                raise translated from error
        raise AssertionError("unreachable")

    # -- folders -----------------------------------------------------------------------------

    def _open_folder(self, account: Account):
        """The watched folder, looked up afresh; notices when it has been replaced."""
        try:
            folder = find_folder(account, self.folder)
        except ErrorFolderNotFound as error:
            raise PermanentError(f"mailbox {self.name}: there is no folder {self.folder!r} in"
                                 f" {self.address}; create it or correct the folder setting") from error
        if folder.id != self._folder_id:
            self._folder_changed(folder.id)
        return folder

    def _folder_changed(self, folder_id: str) -> None:
        known = self._folder_id or self._state.folder_id
        if known and known != folder_id:
            log.warning("mailbox %s: folder %s was replaced; offering everything in it again",
                        self.name, self.folder)
        self._folder_id, self._uidvalidity, self._offered = folder_id, uidvalidity_of(folder_id), set()
        if self._state.folder_id != folder_id:
            self._state.folder_id = folder_id
            save_state(self._state_path, self._state)

    def _processed_target(self, account: Account, *, look_again: bool = False) -> FolderId:
        if look_again or not self._state.processed_folder_id:
            self._state.processed_folder_id = ensure_folder(account, self.processed_folder).id
            save_state(self._state_path, self._state)
        return FolderId(id=self._state.processed_folder_id)

    # -- mail --------------------------------------------------------------------------------

    def _fetch(self, account: Account, limit: int) -> list[RawMessage]:
        folder = self._open_folder(account)
        listed = list(folder.filter().order_by("datetime_received").only("id", "changekey", "size")[:limit])
        batch = self._within_size(listed)
        fetched = account.fetch([(item.id, item.changekey) for item in batch], only_fields=["mime_content"])
        messages = []
        for listed_item, item in zip(batch, fetched, strict=True):
            if isinstance(item, ErrorItemNotFound):
                continue  # moved by someone between the listing and the fetch
            if isinstance(item, Exception) or not item.mime_content:
                log.warning("mailbox %s: Exchange could not give the MIME of an item (%s); skipped",
                            self.name, type(item).__name__)
                continue
            messages.append(RawMessage(self.name, self._uidvalidity, self._uid(listed_item.id),
                                       _as_bytes(item.mime_content)))
        self._offered = {self._uid(item.id) for item in batch}
        return messages

    def _within_size(self, listed: list) -> list:
        """Cut the batch so its MIME stays under max_batch_bytes (always at least one item)."""
        total, kept = 0, []
        for item in listed:
            total += item.size or 0
            if kept and total > self._max_batch_bytes:
                break
            kept.append(item)
        return kept

    def _mark(self, account: Account, message: RawMessage) -> None:
        if not self._uidvalidity:
            self._open_folder(account)  # a fresh process marking what an earlier one fetched
        if message.uidvalidity != self._uidvalidity:
            log.warning("mailbox %s: not moving an item of stale UIDVALIDITY %d", self.name,
                        message.uidvalidity)
            return
        item_id = self._item_id(account, message.uid)
        if item_id is None:
            return  # no longer in the folder: processed already
        try:
            results = account.bulk_move(ids=[(item_id, None)], to_folder=self._processed_target(account))
        except ErrorFolderNotFound:
            # Someone deleted the processed folder since we looked it up: make it again.
            results = account.bulk_move(ids=[(item_id, None)],
                                        to_folder=self._processed_target(account, look_again=True))
        for result in results:
            # A vanished ItemId is no error: it was moved already, which makes marking idempotent.
            if isinstance(result, Exception) and not isinstance(result, ErrorItemNotFound):
                raise result

    def _item_id(self, account: Account, uid: str) -> str | None:
        if not uid.startswith("sha256:"):
            return uid
        if uid not in self._long_ids:  # marked by a process that did not fetch it: look again
            folder = self._open_folder(account)
            for item in folder.filter().only("id"):
                self._uid(item.id)
        return self._long_ids.get(uid)

    def _uid(self, item_id: str) -> str:
        if len(item_id) <= MAX_UID_LENGTH:
            return item_id
        uid = "sha256:" + hashlib.sha256(item_id.encode()).hexdigest()
        self._long_ids[uid] = item_id
        return uid

    # -- waiting -----------------------------------------------------------------------------

    def _arrived(self, account: Account) -> bool:
        """Anything in the folder beyond the last batch: the oldest len(batch)+1 items hold one."""
        folder = self._open_folder(account)
        window = len(self._offered) + 1
        listed = folder.filter().order_by("datetime_received").only("id")[:window]
        return any(self._uid(item.id) not in self._offered for item in listed)


def _as_bytes(mime: bytes | str) -> bytes:
    return mime if isinstance(mime, bytes) else mime.encode("utf-8")

