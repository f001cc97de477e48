"""Where an IMAP mailbox puts the mail it has processed, and how, from the server's capabilities.

State lives in folders, never in custom keywords (Exchange Online has none): a processed message
goes to the processed folder with MOVE, or COPY + \\Deleted + UID EXPUNGE where only UIDPLUS is
offered, or is flagged \\Flagged where neither is (and then \\Flagged messages are not fetched).
``ImapMailbox`` and its backlog's second session (imap_mover) both move through this.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from imapclient import DELETED, FLAGGED, IMAPClient

from mailbot.adapters.imap_connection import COMMAND_ERRORS, ensure_folder, server_folder_name
from mailbot.services.ports import RawMessage

log = logging.getLogger(__name__)

_MOVE_ATTEMPTS = 3


class ProcessedFolder:
    """The processed folder of one mailbox, as the connected server lets mail reach it."""

    def __init__(self, folder: str):
        self.folder = folder
        self.mode = "move"  # move | copy | flag, from the server's capabilities
        self._name = folder  # the folder's name on the server (its own separator)

    def prepare(self, client: IMAPClient) -> None:
        """Choose how to mark on this session's server, creating the folder if need be."""
        if client.has_capability("MOVE"):
            self.mode = "move"
        elif client.has_capability("UIDPLUS"):
            self.mode = "copy"
        else:
            self.mode = "flag"  # plain EXPUNGE would also purge what people marked \Deleted
        if self.mode != "flag":
            self._name = server_folder_name(client, self.folder)
            ensure_folder(client, self._name)

    def unprocessed(self) -> list[str]:
        """SEARCH criteria for the mail still to process."""
        return ["NOT", "DELETED", "NOT", "FLAGGED"] if self.mode == "flag" else ["NOT", "DELETED"]

    def flag(self, client: IMAPClient, uids: list[int]) -> None:
        client.add_flags(uid_set(sorted(uids)), [FLAGGED], silent=True)

    def move_or_recreate(self, client: IMAPClient, uids: list[int]) -> None:
        for attempt in range(1, _MOVE_ATTEMPTS + 1):
            try:
                self._move(client, uids)  # one command for the whole batch
                return
            except COMMAND_ERRORS as error:
                answer = str(error).upper()
                if "TRYCREATE" in answer:
                    ensure_folder(client, self._name)  # someone deleted it
                elif "EXPUNGEISSUED" not in answer or attempt == _MOVE_ATTEMPTS:
                    raise
                else:
                    # Another poller or worker on this mailbox moved some of them first; the
                    # NOOP brings this session news of that, and the rest move next time.
                    client.noop()

    def _move(self, client: IMAPClient, uids: list[int]) -> None:
        # A vanished UID is no error in either form, which makes marking idempotent. Runs of
        # UIDs go collapsed (1:500), so the command line stays short for any batch.
        sequence = uid_set(sorted(uids))
        if self.mode == "move":
            client.move(sequence, self._name)
        else:
            client.copy(sequence, self._name)
            client.add_flags(sequence, [DELETED], silent=True)
            client.uid_expunge(sequence)


def uid_set(uids: list[int]) -> str:
    """A sorted UID list as an IMAP sequence set, runs collapsed (1:5,8,10:12)."""
    runs: list[list[int]] = []
    for uid in uids:
        if runs and uid == runs[-1][1] + 1:
            runs[-1][1] = uid
        else:
            runs.append([uid, uid])
    return ",".join(str(a) if a == b else f"{a}:{b}" for a, b in runs)


def current_uids(mailbox: str, uidvalidity: int, messages: Sequence[RawMessage]) -> list[int]:
    """The UIDs of ``messages`` still valid in the folder (of its current ``uidvalidity``)."""
    uids = []
    for message in messages:
        if message.uidvalidity != uidvalidity:
            # The UID may now name another message; the rescan offers this one again.
            log.warning("mailbox %s: not moving UID %s of stale UIDVALIDITY %d", mailbox,
                        message.uid, message.uidvalidity)
        else:
            uids.append(int(message.uid))
    return uids
