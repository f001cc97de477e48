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
from mailbot.adapters.microsoft.ews_mailbox import EwsMailbox
from mailbot.adapters.microsoft.graph_mailbox import GraphMailbox
from tests.servers.dovecot import DovecotServer
from tests.servers.ews import EwsServer
from tests.servers.graph import GraphServer

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


class GraphWorld:
    """A fake Microsoft Graph on loopback (tests/servers/graph.py), one per world.

    A recreated folder gets a new Graph id, which is what the adapter's uidvalidity follows;
    a restart stops the HTTP server (cutting keep-alive connections) and starts it again on
    the same port with the same mailbox.
    """

    def __init__(self, state_dir: Path):
        self.server = GraphServer()
        self.server.start()
        self.store = self.server.add_mailbox()
        self.tokens = self.server.token_source()
        self.state_dir = state_dir
        self._opened: list[GraphMailbox] = []

    def open(self, folder: str = INBOX, **options) -> GraphMailbox:
        settings = {"poll_interval": 0.2, "timeout": 10, **options}
        adapter = GraphMailbox(
            "test", self.store.address, self.tokens, base_url=self.server.base_url, folder=folder,
            state_path=self.state_dir / f"graph-{folder.replace('/', '_')}.json", **settings,
        )
        self._opened.append(adapter)
        return adapter

    def deliver(self, data: bytes, folder: str = INBOX) -> None:
        self.store.deliver(data, self.store.path(folder, create=True).id)

    def waiting(self, folder: str = INBOX) -> list[bytes]:
        return [m.mime for m in self.store.in_folder(self.store.path(folder).id)]

    def processed(self, folder: str = INBOX) -> list[bytes]:
        return [m.mime for m in self.store.in_folder(self.store.path("mailbot/processed", create=True).id)]

    def recreate(self, folder: str) -> None:
        self.store.delete_folder(self.store.path(folder).id)
        self.store.path(folder, create=True)

    def restart_server(self) -> None:
        self.server.restart()

    def close(self) -> None:
        for adapter in self._opened:
            adapter.close()
        self.server.stop()


class EwsWorld:
    """A fake Exchange Server 2019 speaking EWS on loopback (tests/servers/ews.py), one per world.

    The adapter logs in with NTLM, as on premises, and polls (EWS has no IDLE). A recreated
    folder gets a new FolderId, from which the adapter derives its uidvalidity; a restart cuts
    every open connection and starts again on the same port with the same mailbox.
    """

    def __init__(self, state_dir: Path):
        self.server = EwsServer()
        self.server.start()
        self.state_dir = state_dir
        self._opened: list[EwsMailbox] = []

    def open(self, folder: str = INBOX, **options) -> EwsMailbox:
        settings = {"poll_interval": 0.2, "timeout": 10, **options}
        adapter = EwsMailbox(
            "test", self.server.address, service_endpoint=self.server.url,
            password=self.server.password, folder=folder,
            state_path=self.state_dir / f"ews-{folder.replace('/', '_')}.json", **settings,
        )
        self._opened.append(adapter)
        return adapter

    def deliver(self, data: bytes, folder: str = INBOX) -> None:
        self.server.deliver(data, folder)

    def waiting(self, folder: str = INBOX) -> list[bytes]:
        return self.server.messages(folder)

    def processed(self, folder: str = INBOX) -> list[bytes]:
        return self.server.messages("mailbot/processed")

    def recreate(self, folder: str) -> None:
        self.server.recreate_folder(folder)

    def restart_server(self) -> None:
        self.server.restart()

    def close(self) -> None:
        for adapter in self._opened:
            adapter.close()
        self.server.stop()


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
