"""Alembic is imported only when a migration is due (issue 19: it took 0.4 s of every command).
The schema's revision is read with plain SQL and the newest one from the scripts' own lines."""

from __future__ import annotations

import subprocess
import sys

from mailbot.adapters.migrate import head_revision, migrate

pytest_plugins = ["tests.integration.db_fixtures"]

CHECK = """
import sys
from mailbot.adapters.migrate import migrate, require_current_schema
migrate(sys.argv[1])
require_current_schema(sys.argv[1])
print(sorted(name for name in sys.modules if name.split(".")[0] in ("alembic", "mako")))
"""


def test_the_newest_revision_read_from_the_scripts_is_alembics():
    from mailbot.adapters.migrate import _alembic_head

    assert head_revision() == _alembic_head()


def test_an_up_to_date_database_is_checked_without_importing_alembic(database_url):
    migrate(database_url)
    run = subprocess.run([sys.executable, "-c", CHECK, database_url], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_a_database_behind_is_still_upgraded(database_url):
    from alembic import command

    from mailbot.adapters.migrate import alembic_config, schema_status
    from mailbot.adapters.sqlalchemy_store import make_engine

    engine = make_engine(database_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0001")
    engine.dispose()
    assert schema_status(database_url).current == "0001"
    migrate(database_url)
    assert schema_status(database_url).current == head_revision()



def test_outgoing_mail_is_compressed_with_lz4_where_postgresql_has_it():
    from alembic import command

    from mailbot.adapters.migrate import alembic_config
    from mailbot.adapters.sqlalchemy_store import make_engine
    from tests.integration.db_fixtures import postgres_schema_url

    def compression(connection) -> tuple[str, str]:
        methods = connection.exec_driver_sql(
            "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'").scalar()
        method = connection.exec_driver_sql(
            "SELECT attcompression FROM pg_attribute WHERE attrelid = 'outbox'::regclass"
            " AND attname = 'data'").scalar()
        return ("l" if methods and "lz4" in methods else ""), method

    for url in postgres_schema_url():
        migrate(url)
        engine = make_engine(url)
        try:
            with engine.begin() as connection:
                expected, method = compression(connection)
                assert method == expected, "lz4 wherever the server was built with it"
                command.downgrade(alembic_config(connection), "0006_intake")
                assert compression(connection)[1] == "", "and back to the server's default"
        finally:
            engine.dispose()
