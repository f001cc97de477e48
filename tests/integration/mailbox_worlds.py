"""How the mailbox contract suite drives each kind of mailbox from the outside.

A world delivers mail the way it really arrives (IMAP APPEND, or a Maildir delivery), opens
adapter instances, and looks at the folders directly, never through the adapter under test.
"""

from __future__ import annotations

import mailbox
import shutil
from pathlib import Path

from mailbot.adapters.imap_mailbox import ImapMailbox
from mailbot.adapters.maildir_mailbox import MaildirMailbox
from tests.servers.dovecot import DovecotServer

INBOX = "INBOX"


class MaildirWorld:
    def __init__(self, root: Path):
        self.root = root
        self._opened: list[MaildirMailbox] = []

    def _path(self, folder: str) -> Path:
        return self.root / folder

    def open(self, folder: str = INBOX) -> MaildirMailbox:
        adapter = MaildirMailbox("test", self._path(folder), poll_interval=0.05)
        self._opened.append(adapter)
        return adapter

    def deliver(self, data: bytes, folder: str = INBOX) -> None:
        # mailbox.Maildir writes into tmp/ and renames into new/, as a delivery agent does.
        mailbox.Maildir(self._path(folder), create=True).add(data)

    def waiting(self, folder: str = INBOX) -> list[bytes]:
        return _maildir_bodies(self._path(folder), ("new", "cur"))

    def processed(self, folder: str = INBOX) -> list[bytes]:
        return _maildir_bodies(self._path(folder) / ".processed", ("new", "cur"))

    def recreate(self, folder: str) -> None:
        shutil.rmtree(self._path(folder))
        mailbox.Maildir(self._path(folder), create=True)

    def close(self) -> None:
        for adapter in self._opened:
            adapter.close()


class ImapWorld:
    def __init__(self, server: DovecotServer, *, flags_instead_of_moving: bool = False):
        self.server = server
        self.account = server.add_user()
        self.flags_instead_of_moving = flags_instead_of_moving
        self._opened: list[ImapMailbox] = []

    def open(self, folder: str = INBOX, **options) -> ImapMailbox:
        adapter = ImapMailbox(
            "test", self.server.host, self.server.port, "none", self.account.username,
            self.account.password, folder=folder, timeout=10, poll_interval=0.2, **options,
        )
        self._opened.append(adapter)
        return adapter

    def deliver(self, data: bytes, folder: str = INBOX) -> None:
        if folder != INBOX and not self.server.folder_exists(self.account, folder):
            self.server.create_folder(self.account, folder)
        self.server.append(self.account, data, folder)

    def waiting(self, folder: str = INBOX) -> list[bytes]:
        criteria = ["NOT", "DELETED"]
        if self.flags_instead_of_moving:
            criteria += ["NOT", "FLAGGED"]
        return self.server.messages(self.account, folder, criteria)

    def processed(self, folder: str = INBOX) -> list[bytes]:
        if self.flags_instead_of_moving:
            return self.server.messages(self.account, folder, ["FLAGGED"])
        delimiter = self.server.delimiter(self.account)
        return self.server.messages(self.account, f"mailbot{delimiter}processed")

    def recreate(self, folder: str) -> None:
        self.server.delete_folder(self.account, folder)
        self.server.create_folder(self.account, folder)

    def restart_server(self) -> None:
        self.server.restart()

    def close(self) -> None:
        for adapter in self._opened:
            adapter.close()


def _maildir_bodies(path: Path, subs: tuple[str, ...]) -> list[bytes]:
    files = [f for sub in subs if (path / sub).is_dir() for f in (path / sub).iterdir()]
    return [f.read_bytes() for f in sorted(files, key=lambda f: f.name)]


def message(n: int, subject: str = "Referral") -> bytes:
    """A small, distinct, well-formed message."""
    return (
        f"From: Referrer {n} <referrer{n}@school.example>\r\n"
        f"To: bsp@bury.example\r\n"
        f"Subject: {subject} {n}\r\n"
        f"Message-ID: <m{n}@school.example>\r\n"
        f"\r\n"
        f"Body of message {n}.\r\n"
    ).encode()
