"""What mailbot says when it starts: which config, which database, which mailboxes, and
whether the files holding children's data can be read by anyone but mailbot's own user.

A service started in the wrong folder, or on the wrong config, shows it in its first lines.
"""

from __future__ import annotations

import gc
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


def settle_start_up() -> None:
    """Keep what start-up made (modules, policies, templates, the database's mappers: some
    130,000 objects that live as long as the worker) out of every later garbage collection.

    Each full collection walked them all, about 50 ms, a few times in every thousand
    referrals acted on (issue 18: acting on 3,000 of them on PostgreSQL is 7 to 10% faster
    without). Start-up's own garbage is collected first (about 55 ms, once), so that only
    what lives on is frozen: garbage frozen could hold a database connection for good. For
    the worker and `poll`, which may drain a backlog for hours; not for one-shot passes that
    end in a second, nor for start-up in tests, whose frozen objects would never be freed.
    """
    gc.collect()
    gc.freeze()


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


def require_known_database(app: App, accept_command: str, *, accept: bool) -> None:
    """Stops a command that would issue references on a database that lost its cases;
    ``accept_command`` is how the operator says the database is meant."""
    from mailbot.domain.errors import ConfigError
    from mailbot.services.database_identity import check_database

    if app.marker is None:
        return
    result = check_database(app.services, app.marker, accept=accept)
    shown_url = shown(database_url(app.settings))
    if result.problem and not result.accepted:
        raise ConfigError(app.settings.source, "database.url",
                          f"the database {shown_url} is not the one mailbot has been using: "
                          f"{result.problem} (marker: {app.marker.path})",
                          "Correct database.url if it is wrong. If this database is meant"
                          " (a restore, or a deliberate fresh start), run the command once with"
                          f" --new-database (`{accept_command}`):"
                          " references then carry on after those already issued, never from 0001"
                          " again. See README, 'Running it for a partnership', step 8.")
    if result.accepted:
        log.warning("database %s accepted with --new-database although %s; references carry on"
                    " from the marker's", shown_url, result.problem)
