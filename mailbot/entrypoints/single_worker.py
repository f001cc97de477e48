"""SQLite is single-worker: `mailbot run` and `mailbot poll` hold an OS lock on ``<db>.lock``.

SQLite has no row locks, so two workers on one SQLite database would each chase and watch
every mailbox; a second `run` or `poll` refuses to start instead, and says who holds the
database. The lock is ``flock`` on an open file: the kernel lets go of it when the process
ends, however it ends (SIGKILL included), so it can never be left stale. PostgreSQL needs no
such lock: workers share it through claims and leases (``adapters/sqlalchemy_store/leases``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

from mailbot.adapters.sqlalchemy_store.engine import sqlite_file
from mailbot.domain.errors import MailbotError


class DatabaseInUse(MailbotError):
    """Another mailbot worker holds this SQLite database."""


@contextlib.contextmanager
def only_worker(database_url: str, command: str) -> Iterator[None]:
    """Holds ``<db>.lock`` for the block; raises ``DatabaseInUse`` when another process does.
    PostgreSQL, :memory: and file: URIs take no lock."""
    database = sqlite_file(database_url)
    if database is None:
        yield
        return
    lock_path = database.with_name(database.name + ".lock")
    lock_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(descriptor) or "another process"
            raise DatabaseInUse(
                f"the SQLite database {database} is in use by {holder}; SQLite allows one"
                f" worker at a time, so this `mailbot {command}` did not start. Wait for it to"
                " finish (or stop it), or move the database to PostgreSQL to run more than one"
                " worker (README: Running more than one worker).") from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"`mailbot {command}` (pid {os.getpid()})\n".encode(), 0)
        yield
    finally:
        os.close(descriptor)  # closing lets go of the lock


def _read(descriptor: int) -> str:
    try:
        return os.pread(descriptor, 200, 0).decode(errors="replace").strip()
    except OSError:
        return ""
