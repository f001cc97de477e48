"""What mailbot says when it starts: which config, which database, which mailboxes, and
whether the files holding children's data can be read by anyone but mailbot's own user.

A service started in the wrong folder, or on the wrong config, shows it in its first lines.
"""

from __future__ import annotations

import logging
import stat
from pathlib import Path

from mailbot.adapters.migrate import shown
from mailbot.adapters.sqlalchemy_store.engine import sqlite_file
from mailbot.bootstrap import App, database_url
from mailbot.config import EMBEDDED, Settings

log = logging.getLogger("mailbot.startup")


def log_start(app: App) -> None:
    from mailbot.bootstrap.probes import describe

    settings = app.settings
    source = settings.source if settings.source == EMBEDDED else str(Path(settings.source).resolve())
    log.info("config: %s", source)
    log.info("database: %s", shown(database_url(settings)))
    for mailbox in settings.mailbox:
        log.info("watching mailbox %s <%s>: %s; policy %s", mailbox.name, mailbox.address,
                 describe(settings, mailbox), mailbox.policy)


def warn_unsafe_files(settings: Settings) -> list[str]:
    """Logs (and returns) a warning for each database file or folder others may read."""
    warnings = [_warning(path, is_folder) for path, is_folder in _private_paths(settings)
                if path.exists() and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO)]
    for warning in warnings:
        log.warning("%s", warning)
    return warnings


def _private_paths(settings: Settings) -> list[tuple[Path, bool]]:
    database = sqlite_file(database_url(settings))
    if database is None:
        return []
    files = [database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")]
    return [(database.parent, True), *((path, False) for path in files)]


def _warning(path: Path, is_folder: bool) -> str:
    mode = stat.S_IMODE(path.stat().st_mode)
    wanted = "700" if is_folder else "600"
    return (f"{path} is {mode:o}: users other than mailbot's may read children's data there;"
            f" run: chmod {wanted} {path}")
