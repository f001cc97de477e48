"""The store and the policies alone, for the commands that only look (`mailbot cases`,
`cases show`): no mailboxes, mailers, templates or migrations are built or imported.

``bootstrap`` builds every adapter a worker needs (IMAP, SMTP, jinja with python-docx), which
was most of the 0.6 s `mailbot cases` took to answer (issue 18); these commands read rows and
name a case's stages by its policy, so they get a reading unit of work and the policies,
nothing else. On a plain SQLite file that unit of work is the standard library's sqlite3
(SQLAlchemy alone took longer to import than the whole answer may take); elsewhere it is a
SQLAlchemy connection. Both run the same statements (``adapters.case_reading``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from mailbot.config import Settings, resolve_path

if TYPE_CHECKING:  # `mailbot cases` lists rows and never loads a policy
    from mailbot.domain.policy import Policy


@dataclass(frozen=True)
class PolicyOnly:
    """What `cases show` asks of a mailbox: the policy that names its stages and roles."""

    policy: Policy


@dataclass
class StoreView:
    """The part of ``Services`` the looking commands use: ``uow_factory`` and ``for_policy``."""

    settings: Settings
    uow_factory: object = None
    _policies: dict[str, Policy] = field(default_factory=dict)

    def for_policy(self, policy_key: str) -> PolicyOnly:
        if policy_key not in self._policies:
            from mailbot.adapters.policy_files import load_policy

            directory = resolve_path(self.settings, self.settings.policies_dir)
            self._policies[policy_key] = load_policy(policy_key, directory)
        return PolicyOnly(self._policies[policy_key])


def store_view(settings: Settings) -> StoreView:
    """The database at ``database.url`` (its schema checked, never migrated)."""
    from mailbot.adapters.case_reading import ReadingUnitOfWork
    from mailbot.adapters.database_location import database_url
    from mailbot.adapters.sqlite_reading import plain_sqlite_file, schema_is_current, sqlite_reading

    url, busy = database_url(settings), settings.database.busy_timeout_seconds
    path = plain_sqlite_file(url)
    if path is not None and schema_is_current(path, url, settings.source, busy):
        return StoreView(settings, partial(ReadingUnitOfWork, partial(sqlite_reading, path, busy)))
    from mailbot.adapters.migrate import require_current_schema
    from mailbot.adapters.sqlalchemy_store.engine import make_engine
    from mailbot.adapters.sqlalchemy_store.sql import reading

    require_current_schema(url, settings.source, busy)
    return StoreView(settings, partial(ReadingUnitOfWork, partial(reading, make_engine(url))))
