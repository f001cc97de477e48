"""Issue 14: a database that lost its cases is refused, never silently started afresh.

An emptied, mistyped or restored database would issue references from 0001 again, and
replies to old threads would land on another child's case. mailbot keeps a marker outside
the database (var_dir/database-marker.json); `poll` and `run` stop with one line naming
database.url and the fix, and `--new-database` accepts a deliberate one, carrying the
references on after those already issued.
"""

from __future__ import annotations

import mailbox
import re
import shutil
from datetime import datetime

from mailbot.domain.working_days import LONDON
from mailbot.entrypoints.demo import referral_email
from tests.e2e.commands import mailbot, maildir_config

NOW = "2026-12-01T10:00"


def _deliver(folder, count: int = 1) -> None:
    (folder / "maildir").mkdir(exist_ok=True)
    maildir = mailbox.Maildir(folder / "maildir" / "bury", create=True)
    for _ in range(count):
        maildir.add(referral_email("bsp@bury.test", datetime(2026, 12, 1, 9, tzinfo=LONDON)))


def _poll(config, folder, *extra: str):
    return mailbot("--config", str(config), "--now", NOW, "poll", *extra, cwd=folder)


def _references(config, folder) -> list[str]:
    listed = mailbot("--config", str(config), "cases", cwd=folder).stdout
    return re.findall(r"^(BSCP-\d{4}-\d{4})", listed, re.MULTILINE)


def _refused(result, config) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    message = result.stderr.strip()
    assert "Traceback" not in message and "\n" not in message, message
    assert f"{config}: database.url:" in message and "--new-database" in message, message


def _remove_database(folder) -> None:
    for suffix in ("", "-wal", "-shm"):
        (folder / "data" / f"mailbot.sqlite3{suffix}").unlink(missing_ok=True)


def test_an_emptied_database_is_refused_and_accepted_only_when_said_never_reissuing_0001(tmp_path):
    config = maildir_config(tmp_path)
    _deliver(tmp_path)
    assert _poll(config, tmp_path).returncode == 0
    assert _references(config, tmp_path) == ["BSCP-2026-0001"]
    _remove_database(tmp_path)
    _deliver(tmp_path)
    _refused(_poll(config, tmp_path), config)
    _refused(mailbot("--config", str(config), "run", cwd=tmp_path, timeout=60), config)
    accepted = _poll(config, tmp_path, "--new-database")
    assert accepted.returncode == 0, accepted.stderr
    assert _references(config, tmp_path) == ["BSCP-2026-0002"], "0001 belongs to another child"
    _deliver(tmp_path)
    assert _poll(config, tmp_path).returncode == 0, "accepted once, known from then on"
    assert _references(config, tmp_path) == ["BSCP-2026-0002", "BSCP-2026-0003"]


def test_a_mistyped_database_url_is_refused(tmp_path):
    config = maildir_config(tmp_path)
    _deliver(tmp_path)
    assert _poll(config, tmp_path).returncode == 0
    config.write_text(config.read_text().replace("data/mailbot.sqlite3", "data/mailbot.sqlite"))
    _refused(_poll(config, tmp_path), config)
    assert not (tmp_path / "data" / "mailbot.sqlite").exists() or _references(config, tmp_path) == []


def test_a_database_restored_from_an_older_copy_is_refused_and_carries_on_after_the_newest(tmp_path):
    config = maildir_config(tmp_path)
    _deliver(tmp_path)
    assert _poll(config, tmp_path).returncode == 0
    backup = tmp_path / "backup.sqlite3"
    assert mailbot("--config", str(config), "backup", str(backup), cwd=tmp_path).returncode == 0
    _deliver(tmp_path)
    assert _poll(config, tmp_path).returncode == 0
    assert _references(config, tmp_path) == ["BSCP-2026-0001", "BSCP-2026-0002"]
    _remove_database(tmp_path)
    shutil.copy(backup, tmp_path / "data" / "mailbot.sqlite3")
    _deliver(tmp_path)
    result = _poll(config, tmp_path)
    _refused(result, config)
    assert "BSCP-2026-0002" in result.stderr and "older copy" in result.stderr
    assert _poll(config, tmp_path, "--new-database").returncode == 0
    assert _references(config, tmp_path) == ["BSCP-2026-0001", "BSCP-2026-0003"]
