"""Looking after mailbot as a council's IT team would (issue 15): the schema upgraded on
purpose, backups of a live database, private database files, a worker that refuses to start
without its config and says at start what it runs on, and logs a person or a shipper can read."""

from __future__ import annotations

import json
import mailbox
import re
import sqlite3
import stat
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from alembic import command

from mailbot.adapters.migrate import alembic_config, head_revision
from mailbot.domain.working_days import LONDON
from mailbot.entrypoints.demo import SAMPLE, referral_email
from tests.e2e.commands import mailbot, maildir_config, start, stop, wait_for
from tests.integration.db_fixtures import postgres_schema_url


def _revision(database: Path) -> str:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def _deliver(folder: Path, count: int = 1) -> None:
    (folder / "maildir").mkdir(exist_ok=True)
    maildir = mailbox.Maildir(folder / "maildir" / "bury", create=True)
    for _ in range(count):
        maildir.add(referral_email("bsp@bury.test", datetime.now(LONDON)))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_read_only_commands_never_migrate_and_say_an_upgrade_is_due(tmp_path):
    config = maildir_config(tmp_path)
    database = tmp_path / "data" / "mailbot.sqlite3"
    database.parent.mkdir()
    command.upgrade(alembic_config(url=f"sqlite:///{database}"), "0001")  # an older mailbot's schema
    cases = mailbot("--config", str(config), "cases", cwd=tmp_path)
    assert cases.returncode == 1
    assert "upgrade is due" in cases.stderr and "mailbot db upgrade" in cases.stderr, cases.stderr
    assert "database.url" in cases.stderr
    assert _revision(database) == "0001"
    check = mailbot("--config", str(config), "db", "check", cwd=tmp_path)
    assert check.returncode == 1 and "0001" in check.stdout, check.stdout + check.stderr
    upgrade = mailbot("--config", str(config), "db", "upgrade", cwd=tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    assert f"upgraded from 0001 to {head_revision()}" in upgrade.stdout, upgrade.stdout
    assert mailbot("--config", str(config), "db", "check", cwd=tmp_path).returncode == 0
    assert mailbot("--config", str(config), "cases", cwd=tmp_path).returncode == 0


def test_a_read_only_command_on_no_database_makes_none(tmp_path):
    config = maildir_config(tmp_path)
    result = mailbot("--config", str(config), "cases", cwd=tmp_path)
    assert result.returncode == 1 and "mailbot db upgrade" in result.stderr, result.stderr
    assert not (tmp_path / "data" / "mailbot.sqlite3").exists()


def test_the_database_its_companions_and_its_folder_are_private_from_the_first_start(tmp_path):
    config = maildir_config(tmp_path)
    _deliver(tmp_path)
    worker = start("--config", str(config), "run", cwd=tmp_path)
    database = tmp_path / "data" / "mailbot.sqlite3"
    companions = [database.with_name(database.name + suffix) for suffix in ("-wal", "-shm")]
    try:
        assert wait_for(lambda: list((tmp_path / "outbox").glob("*.eml")) and all(
            p.exists() for p in companions)), "the worker never wrote its database"
        modes = {path.name: _mode(path) for path in [database, *companions]}
        folder_mode = _mode(database.parent)
    finally:
        code, log = stop(worker)
    assert code == 0, log
    assert modes == dict.fromkeys(modes, 0o600), modes
    assert folder_mode == 0o700
    assert "may read children's data" not in log


def test_mailbot_warns_at_start_when_others_may_read_the_database(tmp_path):
    config = maildir_config(tmp_path)
    assert mailbot("--config", str(config), "db", "upgrade", cwd=tmp_path).returncode == 0
    database = tmp_path / "data" / "mailbot.sqlite3"
    database.chmod(0o644)
    result = mailbot("--config", str(config), "poll", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    warning = rf"WARNING .*{re.escape(str(database))} is 644: .* chmod 600 "
    assert re.search(warning, result.stderr), result.stderr


def test_run_refuses_to_start_without_a_config_file_unless_asked_for_the_embedded_default(tmp_path):
    result = mailbot("run", cwd=tmp_path, timeout=30)
    assert result.returncode == 2
    assert "--config" in result.stderr and "config.example.toml" in result.stderr, result.stderr
    assert "--embedded-default" in result.stderr
    assert not (tmp_path / "var").exists()
    worker = start("run", "--embedded-default", cwd=tmp_path)
    assert wait_for(lambda: (tmp_path / "var" / "demo" / "mailbot.sqlite3").exists())
    time.sleep(1)
    code, log = stop(worker)
    assert code == 0 and "config: (embedded default)" in log, log


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema in the test database, dropped afterwards."""
    yield from postgres_schema_url()


def test_the_worker_says_at_start_what_it_runs_on_in_json_lines_without_the_password(tmp_path, postgres_url):
    with_password = postgres_url.replace("postgres@", "postgres:Sup3rSecret@", 1)
    config = maildir_config(tmp_path, with_password)
    _deliver(tmp_path)
    worker = start("--config", str(config), "--log-format", "json", "run", cwd=tmp_path)
    try:
        delivered = wait_for(lambda: len(list((tmp_path / "outbox").glob("*.eml"))) >= 3)
        time.sleep(2)  # a send job or two: APScheduler must not narrate them
    finally:
        code, log = stop(worker)
    assert code == 0 and delivered, log
    entries = [json.loads(line) for line in log.splitlines()]
    messages = [entry["message"] for entry in entries]
    assert f"config: {config}" in messages
    database = "database: postgresql+psycopg://postgres:***@127.0.0.1"
    assert any(m.startswith(database) for m in messages), messages
    assert any(m.startswith("watching mailbox bury <bsp@bury.test>: maildir") for m in messages), messages
    assert any(re.match(r"case BSCP-\d{4}-0001: CaseOpened at stage 2 by ", m) for m in messages), messages
    assert "Sup3rSecret" not in log
    assert not [e for e in entries if e["logger"].startswith("apscheduler")]
    for entry in entries:
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$", entry["time"]), entry
    assert SAMPLE["child_name"] not in log and SAMPLE["child_dob"].isoformat() not in log


def test_a_backup_taken_while_the_worker_writes_restores_with_every_case(tmp_path):
    config = maildir_config(tmp_path)
    worker = start("--config", str(config), "run", cwd=tmp_path)
    backups = tmp_path / "backups"
    backups.mkdir()
    try:
        assert wait_for(lambda: (tmp_path / "data" / "mailbot.sqlite3").exists())
        for round_ in range(4):  # referrals keep arriving while the backups are taken
            _deliver(tmp_path, 3)
            result = mailbot("--config", str(config), "backup", str(backups / f"during-{round_}.sqlite3"),
                             cwd=tmp_path)
            assert result.returncode == 0, result.stderr
        assert wait_for(lambda: len(list((tmp_path / "outbox").glob("*.eml"))) >= 12 * 3, timeout=60)
        final = mailbot("--config", str(config), "backup", str(backups / "final.sqlite3"), cwd=tmp_path)
        assert final.returncode == 0 and "12 case(s)" in final.stdout, final.stdout + final.stderr
    finally:
        code, log = stop(worker)
    assert code == 0, log
    for backup in backups.iterdir():
        assert _mode(backup) == 0o600
        with sqlite3.connect(backup) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert mailbot("--config", str(config), "backup", str(backups / "final.sqlite3"),
                   cwd=tmp_path).returncode == 1  # never overwrites a backup
    # Restore (README, "Running it for a partnership"): the backup becomes the database.
    restored = tmp_path / "restored"
    (restored / "data").mkdir(parents=True)
    (backups / "final.sqlite3").replace(restored / "data" / "mailbot.sqlite3")
    restored_config = maildir_config(restored)
    listed = mailbot("--config", str(restored_config), "cases", cwd=restored).stdout
    references = re.findall(r"^(BSCP-\d{4}-\d{4})", listed, re.MULTILINE)
    assert len(references) == 12, listed
    for reference in references:
        shown = mailbot("--config", str(restored_config), "cases", "show", reference, cwd=restored)
        assert shown.returncode == 0 and "CaseOpened" in shown.stdout


def test_backup_of_a_postgresql_database_says_to_use_pg_dump(tmp_path):
    config = maildir_config(tmp_path, "postgresql+psycopg://mailbot:secret@db.internal/mailbot")
    result = mailbot("--config", str(config), "backup", str(tmp_path / "b.sqlite3"), cwd=tmp_path)
    assert result.returncode == 2
    assert "database.url" in result.stderr and "pg_dump" in result.stderr and "secret" not in result.stderr
