"""The error contract, closed (issue 15): each hole found by trying mailbot as a new user
gets one line naming the file, the key and the fix, exit 2 for configuration and exit 1 for
a database that cannot be reached, never a traceback."""

from __future__ import annotations

import mailbox
import re
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from mailbot.domain.working_days import LONDON
from mailbot.entrypoints.demo import referral_email
from tests.e2e.commands import mailbot, maildir_config
from tests.integration.db_fixtures import POSTGRES_URL, postgres_schema_url
from tests.servers import free_port


def _one_line(result) -> str:
    message = result.stderr.strip()
    assert "Traceback" not in message and "\n" not in message, message
    return message


def _postgres_up() -> None:
    """Skips (fails under CI) when the test database is not there."""
    next(postgres_schema_url(), None)


def test_a_database_that_refuses_connections_is_named_with_the_reason_not_a_traceback(tmp_path):
    config = maildir_config(tmp_path, f"postgresql+psycopg://mailbot:secret@127.0.0.1:{free_port()}/mailbot")
    for command in (["cases"], ["poll"], ["run"]):
        result = mailbot("--config", str(config), *command, cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        message = _one_line(result)
        assert f"{config}: database.url:" in message and "refused" in message.lower(), message
        assert "secret" not in message  # the URL is shown with its password hidden


def test_a_role_the_database_does_not_know_is_named_with_the_reason(tmp_path):
    _postgres_up()
    url = make_url(POSTGRES_URL).set(username="no_such_role").render_as_string(hide_password=False)
    config = maildir_config(tmp_path, url)
    result = mailbot("--config", str(config), "cases", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    message = _one_line(result)
    assert "database.url" in message and "no_such_role" in message, message


@pytest.mark.parametrize("command", [["cases"], ["run"], ["policies", "check"]])
def test_a_time_zone_that_does_not_exist_is_a_configuration_error_naming_timezone(tmp_path, command):
    config = maildir_config(tmp_path, extra='timezone = "Europe/Londn"\n')
    result = mailbot("--config", str(config), *command, cwd=tmp_path, timeout=30)
    assert result.returncode == 2, result.stderr
    message = _one_line(result)
    assert f"{config}: timezone:" in message and "Europe/Londn" in message and "Europe/London" in message


def test_a_policy_name_with_no_file_names_the_key_and_the_valid_names(tmp_path):
    config = maildir_config(tmp_path)
    config.write_text(config.read_text().replace('policy = "bury"', 'policy = "burry"'))
    result = mailbot("--config", str(config), "poll", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    message = _one_line(result)
    assert f"{config}: mailbox[0].policy:" in message and "'burry'" in message
    assert re.search(r"berkshire, birmingham, bromley, bury, hackney", message), message


def test_a_misspelt_required_key_is_reported_by_its_misspelling_first(tmp_path):
    config = maildir_config(tmp_path)
    config.write_text(config.read_text().replace('address = "bsp@bury.test"', 'adress = "bsp@bury.test"'))
    result = mailbot("--config", str(config), "cases", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    message = _one_line(result)
    assert f"{config}: mailbox[0].adress:" in message, message
    assert "Did you mean address?" in message, message


def _open_a_case(folder: Path, config: Path, *now: str) -> str:
    (folder / "maildir").mkdir(exist_ok=True)
    maildir = mailbox.Maildir(folder / "maildir" / "bury", create=True)
    maildir.add(referral_email("bsp@bury.test", datetime(2026, 12, 1, 10, tzinfo=LONDON)))
    result = mailbot("--config", str(config), *now, "poll", cwd=folder)
    assert result.returncode == 0, result.stderr
    return mailbot("--config", str(config), "cases", cwd=folder).stdout


def test_case_references_are_matched_whatever_their_case(tmp_path):
    config = maildir_config(tmp_path)
    assert "BSCP-2026-0001" in _open_a_case(tmp_path, config)
    result = mailbot("--config", str(config), "cases", "show", "bscp-2026-0001", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("BSCP-2026-0001")


def test_the_configured_timezone_rules_deadlines_and_the_now_option(tmp_path):
    """Tokyo: --now 10:00 is 10:00 in Tokyo, and the deadline closes at 17:00 in Tokyo. Shown
    through a London config on the same database, those are 01:00 and 08:00."""
    tokyo = maildir_config(tmp_path, extra='timezone = "Asia/Tokyo"\n')
    listed = _open_a_case(tmp_path, tokyo, "--now", "2026-12-01T10:00")
    assert re.search(r"BSCP-2026-0001 .* 2026-12-08 17:00", listed), listed
    london = tmp_path / "london.toml"
    london.write_text(tokyo.read_text().replace("Asia/Tokyo", "Europe/London"))
    shown = mailbot("--config", str(london), "cases", "show", "BSCP-2026-0001", cwd=tmp_path).stdout
    assert "Deadline: 2026-12-08 08:00" in shown, shown
    assert "2026-12-01 01:00  CaseOpened" in shown, shown


# --- issue 14: a corrupt or locked database is one line, never a traceback -----------------

LOCK_HOLDER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("command", [["cases"], ["status"], ["poll"], ["run"]])
def test_a_corrupt_database_file_is_named_with_what_to_do_not_a_traceback(tmp_path, command):
    config = maildir_config(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "mailbot.sqlite3").write_bytes(b"this is not SQLite at all\n" * 400)
    result = mailbot("--config", str(config), *command, cwd=tmp_path, timeout=60)
    assert result.returncode == 1, result.stderr
    message = _one_line(result)
    assert f"{config}: database.url:" in message and "mailbot.sqlite3" in message, message
    assert "not a database" in message and "restore the file from a backup" in message, message


def test_a_database_another_process_holds_locked_is_named_with_what_to_do(tmp_path):
    import subprocess
    import sys

    config = maildir_config(tmp_path)
    database = 'url = "sqlite:///data/mailbot.sqlite3"'
    config.write_text(config.read_text().replace(database, database + "\nbusy_timeout_seconds = 0.5"))
    assert mailbot("--config", str(config), "db", "upgrade", cwd=tmp_path).returncode == 0
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(tmp_path / "data" / "mailbot.sqlite3")],
                              stdout=subprocess.PIPE, text=True)  # a second process, as a backup would
    try:
        assert holder.stdout.readline().strip() == "locked"
        for command in (["cases"], ["status"], ["poll"], ["quarantine", "release", "1"]):
            result = mailbot("--config", str(config), *command, cwd=tmp_path, timeout=60)
            assert result.returncode == 1, (command, result)
            message = _one_line(result)
            assert "database.url" in message and "locked" in message, (command, result)
            assert "try again" in message, message
    finally:
        holder.kill()
        holder.wait()
