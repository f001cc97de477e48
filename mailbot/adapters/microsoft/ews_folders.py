"""Finding and creating EWS folders by path, and the small state file of an EWS mailbox.

Folder paths read like IMAP ones: ``INBOX`` (any case) is the mailbox's Inbox and ``INBOX/x`` a
folder inside it; any other path starts at the Top of Information Store, so the default
processed folder ``mailbot/processed`` sits beside the Inbox, as in Outlook's folder list. Each
step is one shallow FindFolder on the display name (exchangelib's ``//``), never a walk of the
whole folder tree, and nothing is cached between passes, so a folder deleted (in Exchange that
means moved to Deleted Items) and made again under the same name is found afresh.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from exchangelib import Account, Folder
from exchangelib.errors import ErrorFolderExists, ErrorFolderNotFound
from exchangelib.services import CreateFolder

from mailbot.domain.errors import PermanentError

log = logging.getLogger(__name__)


def find_folder(account: Account, path: str) -> Folder:
    """The folder at ``path``; ErrorFolderNotFound (exchangelib's) when a step is missing."""
    folder, rest = _start(account, path)
    for name in rest:
        folder = folder // name
    return folder


def ensure_folder(account: Account, path: str) -> Folder:
    """The folder at ``path``, creating each missing step (another worker may race us to it)."""
    folder, rest = _start(account, path)
    for name in rest:
        try:
            folder = folder // name
        except ErrorFolderNotFound:
            folder = _create(account, folder, name)
    return folder


def _create(account: Account, parent: Folder, name: str) -> Folder:
    try:
        created = CreateFolder(account=account).get(
            parent_folder=parent, folders=[Folder(parent=parent, name=name, folder_class="IPF.Note")])
    except ErrorFolderExists:
        return parent // name  # another worker made it between our look and our create
    log.info("created folder %s in %s", name, account.primary_smtp_address)
    return created


def _start(account: Account, path: str) -> tuple[Folder, list[str]]:
    parts = [part for part in path.split("/") if part]
    if not parts:
        raise PermanentError(f"empty folder path {path!r}")
    if parts[0].lower() == "inbox":
        return account.inbox, parts[1:]
    return account.msg_folder_root, parts


def uidvalidity_of(folder_id: str) -> int:
    """A stable positive 31-bit number for a folder: a replaced folder gets another one."""
    digest = hashlib.sha256(folder_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF or 1


@dataclass
class FolderState:
    """What an EWS mailbox keeps between runs (see EwsMailbox for why this little)."""

    address: str = ""
    folder: str = ""
    folder_id: str = ""
    processed_folder: str = ""
    processed_folder_id: str = ""


def load_state(path: Path, address: str, folder: str, processed_folder: str) -> FolderState:
    """The saved state, or a blank one when there is none or it belongs to other settings."""
    blank = FolderState(address, folder, "", processed_folder, "")
    try:
        saved = FolderState(**json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return blank
    except (OSError, ValueError, TypeError) as error:
        log.warning("ignoring unreadable EWS state file %s (%s)", path, error)
        return blank
    if (saved.address, saved.folder) != (address, folder):
        return blank  # the mailbox was pointed elsewhere: its ids mean nothing now
    if saved.processed_folder != processed_folder:
        saved.processed_folder, saved.processed_folder_id = processed_folder, ""
    return saved


def save_state(path: Path, state: FolderState) -> None:
    """Write aside, flush, then rename over: a crash leaves the old file or the new, never half."""
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(asdict(state), file, indent=2)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as error:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        raise PermanentError(f"cannot write the EWS state file {path}: {error}") from error
