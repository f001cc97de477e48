"""A private Dovecot for the IMAP integration tests and benchmarks.

Each instance lives in its own temporary directory (config, base_dir, state_dir, log, Maildir
homes), listens on 127.0.0.1 only, on a free plain port and a free TLS port, and runs the master
in the foreground so that we own its PID and can always stop it. Mail is put in the way delivered
mail arrives: by IMAP APPEND from a separate connection.
"""

from __future__ import annotations

import base64
import contextlib
import getpass
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient

from tests.servers import free_port
from tests.servers.tls import Certificate, make_certificate

# What Exchange Online's IMAP advertises after login; nothing else may be relied upon.
EXCHANGE_CAPABILITY = "IMAP4rev1 SASL-IR UIDPLUS MOVE ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+"
# Where a mailbox's mail lives, by Dovecot's mailbox format: Maildir (a file a message, which
# Dovecot renames as a message's state changes; the format of most tests) or mdbox (many
# messages a file, with Dovecot's own index), for the benchmarks that compare the two.
MAIL_LOCATIONS = {"maildir": "maildir:~/Maildir", "mdbox": "mdbox:~/mdbox"}
# The bare minimum of RFC 3501: no IDLE, no MOVE, no UIDPLUS, so adapters must poll and flag.
MINIMAL_CAPABILITY = "IMAP4rev1"
_BLOCK = 100  # accounts written to the passwd-file at a time

_CONFIG = """\
instance_name = {instance}
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
default_internal_user = {internal_user}
default_login_user = {login_user}
first_valid_uid = 1
first_valid_gid = 1
mail_location = {mail_location}
mail_fsync = never
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
shutdown_clients = yes
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
  default_fields = uid={mail_uid} gid={mail_gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
{extra}
"""


@dataclass(frozen=True)
class ImapAccount:
    username: str
    password: str


def dovecot_binary() -> str | None:
    """The dovecot master binary, or None when Dovecot is not installed."""
    found = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
    return found if found and shutil.which("doveadm") else None


def _service_users() -> tuple[str, str, int, int]:
    """Users for Dovecot's internal and login processes, and the uid/gid owning the mail.

    As root, Dovecot drops privileges to its packaged users and the mail belongs to ``nobody``;
    as anyone else, everything runs as the current user (Dovecot supports that for tests).
    """
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        return "dovecot", "dovenull", nobody.pw_uid, nobody.pw_gid
    me = getpass.getuser()
    return me, me, os.getuid(), os.getgid()


class DovecotServer:
    """One private Dovecot instance; ``capability`` replaces what it advertises after login."""

    host = "127.0.0.1"

    def __init__(
        self, certificate: Certificate | None = None, *, capability: str | None = None,
        extra_config: str = "", oauth2_keys: dict[str, bytes] | None = None,
        mail_format: str = "maildir",
    ):
        """``oauth2_keys`` (key id: HS256 key) adds an oauth2 passdb that checks XOAUTH2 and
        OAUTHBEARER tokens locally (see _oauth2_config)."""
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-"))
        # Mail processes run as an unprivileged user and must reach the homes below root.
        self.root.chmod(0o755)
        self.certificate = certificate or make_certificate(self.root / "tls")
        self.port, self.tls_port = free_port(), free_port()
        self.config_path = self.root / "dovecot.conf"
        # Process titles become "dovecot-<instance>/imap", which is how stop() finds the
        # session processes that outlive the master (see there).
        self.instance = f"mbt{uuid.uuid4().hex[:10]}"
        self.log_path = self.root / "dovecot.log"
        self._spare = [_new_account() for _ in range(_BLOCK)]
        self._users: dict[str, str] = {a.username: a.password for a in self._spare}
        self._process: subprocess.Popen[bytes] | None = None
        if oauth2_keys is not None:
            extra_config += self._oauth2_config(oauth2_keys)
        self._write_config(capability, extra_config, MAIL_LOCATIONS[mail_format])
        (self.root / "home").mkdir(mode=0o755)
        self._write_users()

    def _write_config(self, capability: str | None, extra_config: str,
                      mail_location: str) -> None:
        internal, login, self._mail_uid, self._mail_gid = _service_users()
        extra = extra_config
        if capability is not None:
            extra += f"\nimap_capability = {capability}\n"
        self.config_path.write_text(
            _CONFIG.format(
                instance=self.instance, root=self.root, internal_user=internal, login_user=login,
                mail_uid=self._mail_uid, mail_gid=self._mail_gid, port=self.port,
                tls_port=self.tls_port, cert=self.certificate.cert_path,
                key=self.certificate.key_path, extra=extra, mail_location=mail_location,
            )
        )

    def _oauth2_config(self, keys: dict[str, bytes]) -> str:
        """Dovecot 2.3's local JWT validation: no introspection endpoint, keys from a dict.

        A token's key is looked up as ``shared/<azp>/<ALG>/<kid>`` (``default`` for a missing
        azp or kid), which fs:posix maps to files below the prefix, each holding the key in
        base64. The login name must equal the token's ``email`` claim, and the token needs
        ``sub`` and an unexpired ``exp``. Failed logins would otherwise slow every later login
        from 127.0.0.1 (the auth penalty, up to 15 s), so the penalty's socket is closed.
        """
        directory = self.root / "oauth2-keys"
        for key_id, key in keys.items():
            path = directory / "default" / "HS256" / key_id
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(base64.b64encode(key).decode())
        settings = self.root / "dovecot-oauth2.conf.ext"
        settings.write_text(f"introspection_mode = local\n"
                            f"local_validation_key_dict = fs:posix:prefix={directory}/\n"
                            f"username_attribute = email\n")
        return (f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
                f"  args = {settings}\n}}\n"
                "service anvil {\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}\n")

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 15.0) -> None:
        binary = dovecot_binary()
        if binary is None:
            raise RuntimeError("dovecot is not installed")
        # The master keeps its stdout/stderr open for ever: a pipe would never reach EOF.
        with open(self.root / "master.out", "ab") as out:
            self._process = subprocess.Popen(
                [binary, "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            )
        self._wait_until_listening(timeout)

    def _wait_until_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"dovecot exited at start:\n{self.diagnostics()}")
            if all(_accepts(self.host, port) for port in (self.port, self.tls_port)):
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"dovecot did not listen within {timeout}s:\n{self.diagnostics()}")

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the master with ``doveadm stop`` and wait for our PID to exit; kill if it won't."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            self._stop_master(process, timeout)
        self._end_survivors(timeout)
        self._wait_until_closed(timeout)

    def _stop_master(self, process: subprocess.Popen[bytes], timeout: float) -> None:
        # doveadm polls the master's PID until it is gone; the master is our child, so we must
        # reap it while doveadm waits, or doveadm would see a zombie for its whole timeout.
        stopper = subprocess.Popen(
            ["doveadm", "-c", str(self.config_path), "stop"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
        try:
            stopper.wait(timeout)
        except subprocess.TimeoutExpired:
            stopper.kill()
            stopper.wait(timeout)

    def _end_survivors(self, timeout: float) -> None:
        """End this instance's processes that outlived the master, by PID.

        Dovecot 2.3 leaves logged-in imap processes (and their log/stats helpers) serving their
        clients after the master stops, whatever shutdown_clients says; a real restart or crash
        drops those connections, so the tests' restart must too.
        """
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self._instance_pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + timeout / 2
            while self._instance_pids() and time.monotonic() < deadline:
                time.sleep(0.02)

    def _instance_pids(self) -> list[int]:
        prefix = f"dovecot-{self.instance}/".encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if (entry / "cmdline").read_bytes().startswith(prefix):
                    pids.append(int(entry.name))
            except OSError:
                continue  # gone meanwhile, or not ours to read
        return pids

    def _wait_until_closed(self, timeout: float) -> None:
        # Children of the master (login, imap) may outlive it by a moment; wait for the ports.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(
            _accepts(self.host, port) for port in (self.port, self.tls_port)
        ):
            time.sleep(0.02)

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def diagnostics(self) -> str:
        parts = []
        for path in (self.root / "master.out", self.log_path):
            if path.exists():
                parts.append(path.read_text(errors="replace")[-4000:])
        return "\n".join(parts)

    # -- accounts and mail -------------------------------------------------------------------

    def add_user(self) -> ImapAccount:
        """A fresh account with its own empty mailbox; tests never share mailboxes.

        Dovecot re-reads the passwd-file at most once a second, so accounts are written ahead
        in blocks, and a new block is waited for until Dovecot accepts it.
        """
        if not self._spare:
            self._spare = [_new_account() for _ in range(_BLOCK)]
            self._users.update((a.username, a.password) for a in self._spare)
            self._write_users()
            if self._process is not None:
                self._wait_until_known(self._spare[0])
        account = self._spare.pop()
        home = self.root / "home" / account.username
        home.mkdir(mode=0o700)
        os.chown(home, self._mail_uid, self._mail_gid)
        return account

    def _wait_until_known(self, account: ImapAccount, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.connect(account).logout()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _write_users(self) -> None:
        # Written whole and renamed, so Dovecot (which re-reads on change) never sees half a file.
        temporary = self.root / "users.tmp"
        temporary.write_text("".join(f"{u}:{p}::::::\n" for u, p in self._users.items()))
        temporary.replace(self.root / "users")

    def connect(self, account: ImapAccount, timeout: float = 10.0) -> IMAPClient:
        client = IMAPClient(self.host, self.port, ssl=False, timeout=timeout)
        client.login(account.username, account.password)
        return client

    def append(self, account: ImapAccount, message: bytes, folder: str = "INBOX") -> None:
        self.append_many(account, [message], folder)

    def append_many(
        self, account: ImapAccount, messages: Iterable[bytes], folder: str = "INBOX"
    ) -> None:
        with self.connect(account) as client:
            for message in messages:
                client.append(folder, message)

    def create_folder(self, account: ImapAccount, folder: str) -> None:
        with self.connect(account) as client:
            client.create_folder(folder)

    def delete_folder(self, account: ImapAccount, folder: str) -> None:
        with self.connect(account) as client:
            client.delete_folder(folder)

    def folder_exists(self, account: ImapAccount, folder: str) -> bool:
        with self.connect(account) as client:
            return client.folder_exists(folder)

    def messages(
        self, account: ImapAccount, folder: str = "INBOX", criteria: Sequence[str] = ("ALL",)
    ) -> list[bytes]:
        """The bodies in ``folder`` matching ``criteria``, oldest first, without marking them."""
        with self.connect(account) as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = sorted(client.search(list(criteria)))
            if not uids:
                return []
            fetched = client.fetch(uids, ["BODY.PEEK[]"])
            return [fetched[uid][b"BODY[]"] for uid in uids if uid in fetched]

    def delimiter(self, account: ImapAccount) -> str:
        with self.connect(account) as client:
            delimiter = client.list_folders("", "")[0][1]
            return delimiter.decode() if isinstance(delimiter, bytes) else delimiter


def _new_account() -> ImapAccount:
    return ImapAccount(f"user-{uuid.uuid4().hex[:12]}", uuid.uuid4().hex)


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
