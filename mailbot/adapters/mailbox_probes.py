"""Probes for `mailbot mailboxes check`: the receiving side of each kind of mailbox.

Each probe proves login, folder access and fetching with the same adapters the worker uses, and
only reads: the IMAP folder is opened read-only, fetched messages are never marked processed, and
Graph and EWS keep their sync state in a scratch folder the entry point provides. The sending
side lives in ``send_probes``. Failures are raised as the error family; ``services.mailbox_check``
turns them into reasons and fixes.
"""

from __future__ import annotations

import base64
import getpass
import json
import os
from collections.abc import Callable
from pathlib import Path

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from mailbot.adapters.imap_connection import (
    COMMAND_ERRORS,
    ImapSettings,
    log_out,
    open_session,
    server_folder_name,
)
from mailbot.domain.errors import AuthenticationFailed, PermanentError
from mailbot.services.mailbox_check import ProbeFailed
from mailbot.services.ports import Mailbox, TokenProvider

FETCH_LIMIT = 5  # enough to prove fetching works without downloading a whole backlog


def fetch_without_marking(open_mailbox: Callable[[], Mailbox]) -> str:
    """Opens the mailbox and fetches a few new messages; marks none of them processed."""
    mailbox = open_mailbox()
    try:
        messages = mailbox.fetch_new(limit=FETCH_LIMIT)
    finally:
        mailbox.close()
    if not messages:
        return "listed the folder: no new messages waiting"
    size = sum(len(message.data) for message in messages)
    more = " (more are waiting)" if len(messages) == FETCH_LIMIT else ""
    plural = "message" if len(messages) == 1 else "messages"
    return (f"fetched {len(messages)} new {plural}{more}, {max(1, size // 1024)} KB of MIME;"
            " none marked processed")


class MaildirProbe:
    """A local Maildir: no login; the folder must exist and be readable and writable."""

    def __init__(self, path: Path, open_mailbox: Callable[[], Mailbox]):
        self.path, self._open_mailbox = path, open_mailbox
        self.where = str(path)

    def login(self) -> str:
        return "a local Maildir: no login needed"

    def open_folder(self) -> str:
        path = self.path
        if not path.exists():
            raise ProbeFailed(f"the Maildir {path} does not exist",
                              "Correct mailbox.path, or create the folder (mailbot run makes an empty"
                              " Maildir there on its first pass if none exists).")
        if not path.is_dir():
            raise ProbeFailed(f"{path} is not a folder",
                              "Point mailbox.path at a Maildir folder (with cur, new and tmp inside).")
        for folder in (path, *(path / sub for sub in ("cur", "new", "tmp") if (path / sub).exists())):
            if not folder.is_dir() or not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
                raise ProbeFailed(f"the worker's user ({getpass.getuser()}) cannot read and write"
                                  f" {folder}", "Give that user read and write permission on the"
                                  " whole Maildir (chown or chmod), or run mailbot as its owner.")
        return f"{path} is a Maildir this user can read and write"

    def fetch(self) -> str:
        return fetch_without_marking(self._open_mailbox)

    def close(self) -> None:
        pass


class ImapProbe:
    """IMAP: its own session for login and a read-only look at the folders, then the adapter."""

    def __init__(self, session: Callable[[], ImapSettings], open_mailbox: Callable[[], Mailbox], *,
                 where: str, folder: str, processed_folder: str, login_fix: str):
        self._session, self._open_mailbox = session, open_mailbox
        self.where, self.folder, self.processed_folder = where, folder, processed_folder
        self.login_fix = login_fix
        self._client: IMAPClient | None = None

    def login(self) -> str:
        settings = self._session()  # reads the password or fetches the token
        try:
            self._client = open_session(settings)
        except PermanentError as error:
            if isinstance(error, AuthenticationFailed) and settings.token_provider is not None:
                raise  # the adapter read the refused token's claims for its reason and fix
            if isinstance(error.__cause__, LoginError):
                raise AuthenticationFailed(f"{self.where} refused the login for {settings.username}:"
                                           f" {_server_text(error.__cause__)}", self.login_fix) from error
            raise
        method = "XOAUTH2" if settings.token_provider else "a password"
        return f"logged in to {self.where} as {settings.username} with {method}"

    def open_folder(self) -> str:
        client = self._client
        assert client is not None, "login comes first"
        try:
            selected = client.select_folder(self.folder, readonly=True)
        except COMMAND_ERRORS as error:
            names = sorted(_text(name) for _, _, name in client.list_folders())
            raise ProbeFailed(f"cannot open folder {self.folder!r}: {_server_text(error)}",
                              f"Correct mailbox.folder; this account has: {', '.join(names[:15])}."
                              ) from error
        processed = server_folder_name(client, self.processed_folder)
        state = "present" if client.folder_exists(processed) else "absent, mailbot will create it"
        count = int(selected.get(b"EXISTS", 0))
        return (f"{self.folder} opened read-only, {count} message{'' if count == 1 else 's'} in it;"
                f" processed folder {processed!r} {state}")

    def fetch(self) -> str:
        self.close()  # the adapter opens its own session, as the worker's does
        return fetch_without_marking(self._open_mailbox)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            log_out(client)


class AccountProbe:
    """Graph or EWS: a token (when OAuth2 is used) proves the login, then the adapter lists.

    Without a token (EWS with NTLM) the first request is the login: a refusal or an unreachable
    server fails the login; any other failure lets the login pass and fails the folder.
    """

    def __init__(self, open_mailbox: Callable[[], Mailbox], *, where: str, folder: str,
                 token_provider: Callable[[], TokenProvider] | None = None, token_for: str = ""):
        self._open_mailbox, self._token_provider = open_mailbox, token_provider
        self.where, self.folder, self.token_for = where, folder, token_for
        self._listed: str | None = None
        self._failure: PermanentError | None = None

    def login(self) -> str:
        if self._token_provider is not None:
            roles = token_roles(self._token_provider()())
            held = f"; the token grants {', '.join(roles)}" if roles else ""
            return f"token issued for {self.token_for}{held}"
        try:
            self._listed = fetch_without_marking(self._open_mailbox)
        except AuthenticationFailed:
            raise
        except PermanentError as error:
            self._failure = error
        return f"{self.where} accepted the login"

    def open_folder(self) -> str:
        if self._failure is not None:
            raise self._failure
        if self._listed is None:
            self._listed = fetch_without_marking(self._open_mailbox)
        return f"{self.folder} opened"

    def fetch(self) -> str:
        return self._listed or ""

    def close(self) -> None:
        pass


def token_roles(token: str) -> list[str]:
    """The application permissions (``roles``) an access token lists; [] for an opaque token.

    Only for reporting: the token came straight from the identity platform over TLS, and
    nothing is granted on the strength of what this reads.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return []
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError):
        return []
    roles = claims.get("roles") if isinstance(claims, dict) else None
    return sorted(str(role) for role in roles) if isinstance(roles, list) else []


def _server_text(error: BaseException) -> str:
    text = str(error)
    if text.startswith(("b'", 'b"')) and text.endswith(text[1]):
        text = text[2:-1]
    return text


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
