"""The Graph mailbox: a partnership's Microsoft 365 mailbox read through Microsoft Graph.

State lives in folders, as with IMAP: a message still in the watched folder is unprocessed, and
``mark_processed`` moves it (``POST /messages/{id}/move``) to the processed folder, created on
first use. New mail is found with a delta query on the watched folder
(``/mailFolders/{id}/messages/delta``, paged by ``Prefer: odata.maxpagesize``); the deltaLink
and the ids still waiting are kept in a small JSON file (graph_delta), so a restarted worker
neither skips nor repeats. Raw MIME comes from ``/messages/{id}/$value``, up to four at a time.

A message's uid is its Graph id (which changes when it is moved, so a moved message is gone
from our view); uidvalidity is a number derived from the watched folder's id, so a deleted and
recreated folder is noticed and its old ids are never moved. ``wait_for_new`` polls the delta:
this build has no push, because Graph change notifications need a public HTTPS endpoint that
Microsoft can call, which a worker inside a council network does not have.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mailbot.adapters.batch_budget import MAX_BATCH_BYTES
from mailbot.adapters.microsoft.graph_client import GRAPH_URL, MAX_THROTTLE_WAIT, GraphClient, GraphRefused
from mailbot.adapters.microsoft.graph_delta import DeltaState
from mailbot.adapters.microsoft.graph_folders import FolderPaths, folder_uidvalidity
from mailbot.adapters.microsoft.graph_mailer import GraphMailer
from mailbot.adapters.pauses import Pauses
from mailbot.domain.errors import PermanentError, TransientError
from mailbot.services.ports import RawMessage, TokenProvider

__all__ = ["GraphMailbox", "GraphMailer"]

log = logging.getLogger(__name__)

_SELECT = "id,internetMessageId,receivedDateTime"
# Graph's signals that a deltaLink is dead and the folder must be listed afresh.
_RESYNC_CODES = {"syncstatenotfound", "resyncrequired", "syncstateinvalid"}


class GraphMailbox:
    """One mail folder of one user, watched through Graph; see the module docstring."""

    def __init__(
        self, name: str, user: str, token_provider: TokenProvider, *, base_url: str = GRAPH_URL,
        folder: str = "INBOX", processed_folder: str = "mailbot/processed", state_path: Path,
        max_concurrent_requests: int = 4, timeout: float = 30, verify: bool | str = True,
        poll_interval: float = 30.0, page_size: int = 50, max_throttle_wait: float = MAX_THROTTLE_WAIT,
        max_batch_bytes: int = MAX_BATCH_BYTES,
    ):
        self.name, self.user = name, user
        self.folder, self.processed_folder = folder, processed_folder
        self._client = GraphClient(token_provider, user, base_url=base_url, timeout=timeout, verify=verify,
                                   max_concurrent_requests=max_concurrent_requests,
                                   max_throttle_wait=max_throttle_wait)
        self._paths = FolderPaths(self._client)
        self._state_path = Path(state_path)
        self._state: DeltaState | None = None
        self._workers = max_concurrent_requests
        self._poll_interval, self._page_size = poll_interval, page_size
        self._pauses = Pauses()
        self._max_batch_bytes = max_batch_bytes
        self._folder_id: str | None = None
        self._processed_id: str | None = None
        self._offered: set[str] = set()
        self._lock = threading.RLock()

    # -- the port ------------------------------------------------------------------------------

    def fetch_new(self, limit: int = 200) -> list[RawMessage]:
        with self._lock:
            state = self._synced()
            uidvalidity = folder_uidvalidity(state.folder_id)
            messages = self._bodies(state, state.oldest_first(), limit, uidvalidity)
            self._offered = {m.uid for m in messages}
            return messages

    def mark_all_processed(self, messages: Sequence[RawMessage]) -> None:
        for message in messages:  # one request each: this API has no bulk move we rely on
            self.mark_processed(message)

    def mark_processed(self, message: RawMessage) -> None:
        if message.mailbox != self.name:
            raise PermanentError(f"mailbox {self.name} cannot mark a message of {message.mailbox}")
        with self._lock:
            if message.uidvalidity != folder_uidvalidity(self._watched_id()):
                # The folder was recreated; the rescan offers this message again under its new id.
                log.warning("mailbox %s: not moving a message of stale uidvalidity %d", self.name,
                            message.uidvalidity)
                return
            self._move(message.uid)
            if self._state is not None:
                self._state.forget(message.uid)

    def wait_for_new(self, timeout: float) -> bool:
        """Polls the delta every ``poll_interval`` seconds (there is no push; see the module)."""
        deadline = time.monotonic() + timeout
        while not self._pauses.interrupted:
            try:
                with self._lock:
                    if any(i not in self._offered for i in self._synced().waiting):
                        return True
            except TransientError as error:
                log.info("mailbox %s: %s", self.name, error)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._pauses.sleep(min(self._poll_interval, remaining)):
                return False
        return False

    def interrupt(self) -> None:
        self._pauses.interrupt()

    def close(self) -> None:
        self._client.close()  # reopened on the next call; the state is already on disk

    # -- the delta -----------------------------------------------------------------------------

    def _synced(self) -> DeltaState:
        """The state after one complete delta round on the watched folder."""
        if self._state is None:
            self._state = DeltaState.load(self._state_path)
        state = self._state
        folder_id = self._watched_id()
        if state.folder_id != folder_id:
            state.restart(folder_id)
        try:
            self._round(state)
        except GraphRefused as error:
            if error.status == 404:
                log.warning("mailbox %s: folder %s was deleted or recreated; rescanning", self.name,
                            self.folder)
                self._folder_id = None
                state.restart(self._watched_id())
            elif error.status == 410 or error.code.lower() in _RESYNC_CODES:
                log.warning("mailbox %s: Graph asks for a full resync (%s)", self.name, error.code)
                state.delta_link = ""
            else:
                raise
            self._round(state)
        return state

    def _round(self, state: DeltaState) -> None:
        full = not state.delta_link
        if full:
            path = self._client.user_path("mailFolders", state.folder_id, "messages", "delta")
            params: dict[str, str] | None = {"$select": _SELECT}
        else:
            path, params = state.delta_link, None  # the link carries the query already
        items: list[dict] = []
        delta_link = ""
        prefer = {"Prefer": f"odata.maxpagesize={self._page_size}"}
        for page in self._client.pages(path, doing="listing new mail", params=params, headers=prefer):
            items.extend(item for item in page.get("value", []) if isinstance(item, dict))
            delta_link = page.get("@odata.deltaLink", delta_link)
        if not delta_link:
            raise TransientError(f"mailbox {self.name}: Graph ended a delta round without a deltaLink")
        before = (state.delta_link, set(state.waiting))
        state.apply(items, full=full)
        state.delta_link = delta_link
        if (state.delta_link, set(state.waiting)) != before:
            state.save(self._state_path)

    def _watched_id(self) -> str:
        if self._folder_id is None:
            found = self._paths.find(self.folder)
            if found is None:
                raise PermanentError(f"mailbox {self.name}: folder {self.folder!r} does not exist in the"
                                     f" mailbox of {self.user}; check the folder setting")
            self._folder_id = found
        return self._folder_id

    # -- mail ----------------------------------------------------------------------------------

    def _bodies(self, state: DeltaState, ids: list[str], limit: int, uidvalidity: int) -> list[RawMessage]:
        """MIME of the oldest waiting messages, a few at a time, until ``limit`` or about
        ``max_batch_bytes``. A failure after some have arrived returns those (oldest first)."""
        messages: list[RawMessage] = []
        total, position = 0, 0
        with ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix=f"graph-{self.name}") as pool:
            while position < len(ids) and len(messages) < limit and total < self._max_batch_bytes:
                chunk = ids[position:position + min(self._workers, limit - len(messages))]
                position += len(chunk)
                futures = [pool.submit(self._body, message_id) for message_id in chunk]
                for message_id, future in zip(chunk, futures, strict=True):
                    try:
                        data = future.result()
                    except TransientError as error:
                        if not messages:
                            raise
                        log.info("mailbox %s: returning %d message(s) for now: %s", self.name,
                                 len(messages), error)
                        return messages
                    if data is None:
                        state.forget(message_id)  # deleted or moved since the delta said it was there
                        continue
                    messages.append(RawMessage(self.name, uidvalidity, message_id, data))
                    total += len(data)
        return messages

    def _body(self, message_id: str) -> bytes | None:
        try:
            response = self._client.request("GET", self._client.user_path("messages", message_id, "$value"),
                                            doing="fetching a message", headers={"Accept": "*/*"})
        except GraphRefused as error:
            if error.status == 404:
                return None
            raise
        return response.content

    def _move(self, message_id: str) -> None:
        for attempt in (1, 2):
            try:
                # Repeating a move whose answer was lost is harmless: the id is gone, see below.
                self._client.request("POST", self._client.user_path("messages", message_id, "move"),
                                     doing="moving a processed message", expect=(200, 201),
                                     json={"destinationId": self._processed()}, retry_dropped=True)
                return
            except GraphRefused as error:
                if error.status != 404 or attempt == 2:
                    raise
            if not self._exists(message_id):
                return  # moved already (by an earlier call): marking is idempotent
            self._processed_id = None  # the message is there, so the processed folder is not
            log.warning("mailbox %s: processed folder %s is missing; creating it again", self.name,
                        self.processed_folder)

    def _exists(self, message_id: str) -> bool:
        try:
            self._client.get_json(self._client.user_path("messages", message_id), params={"$select": "id"},
                                  doing="checking a message")
        except GraphRefused as error:
            if error.status == 404:
                return False
            raise
        return True

    def _processed(self) -> str:
        if self._processed_id is None:
            self._processed_id = self._paths.ensure(self.processed_folder)
        return self._processed_id
