"""`mailbot db upgrade`, `mailbot db check` and `mailbot backup PATH`: looking after the store.

Registered here so that cli.py only names them. Read-only commands never migrate; an
operator upgrades the schema on purpose (`db upgrade`), or lets the worker do it at start.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mailbot.domain.errors import ConfigError


def add_commands(sub, common: argparse.ArgumentParser) -> None:
    db = sub.add_parser("db", parents=[common], help="upgrade the database schema, or check whether"
                        " an upgrade is due (exit 1 if so)")
    db.add_argument("action", choices=["upgrade", "check"])
    db.set_defaults(handler=_db)
    backup = sub.add_parser("backup", parents=[common], help="a consistent copy of a live SQLite"
                            " database (PostgreSQL: use pg_dump)")
    backup.add_argument("path", type=Path, metavar="PATH", help="the backup file to write (new)")
    backup.set_defaults(handler=_backup)


def _database(args):
    from mailbot.bootstrap import database_url
    from mailbot.entrypoints.cli import settings_from

    settings = settings_from(args)
    return settings, database_url(settings)


def _db(args, now) -> int:
    from mailbot.adapters.migrate import migrate, schema_status, shown

    settings, url = _database(args)
    wait = settings.database.busy_timeout_seconds
    before = schema_status(url, settings.source, wait)
    if args.action == "check":
        print(f"{shown(url)}: {before.describe()}")
        return 1 if before.upgrade_due else 0
    migrate(url, settings.source, wait)
    after = schema_status(url, settings.source, wait)
    if before.upgrade_due:
        print(f"{shown(url)}: upgraded from {before.current or 'nothing'} to {after.current}")
    else:
        print(f"{shown(url)}: already up to date ({after.current}); nothing to do")
    return 0


def _backup(args, now) -> int:
    from mailbot.adapters.migrate import shown
    from mailbot.adapters.sqlalchemy_store.engine import sqlite_file
    from mailbot.adapters.sqlite_backup import backup_sqlite

    settings, url = _database(args)
    source = sqlite_file(url)
    if source is None:
        raise ConfigError(settings.source, "database.url", f"{shown(url)} is not a SQLite file, and"
                          " mailbot backup copies SQLite only",
                          f"Back PostgreSQL up with pg_dump, e.g. pg_dump --format=custom"
                          f" --file={args.path} '{shown(url).replace('+psycopg', '')}'")
    made = backup_sqlite(source, args.path)
    print(f"backed up {source} to {made.path}: {made.cases} case(s), schema {made.schema or '-'},"
          f" {made.size} bytes, integrity ok")
    return 0
