"""The looking commands import only what they use (issue 18): `mailbot cases`, `cases show`
and `policies show` answer without the mailbox, mailer, template or migration libraries, and
on SQLite without SQLAlchemy (sqlite3 runs the store's own statements); the case list reads
no policy file. Not timed: bench/cli_startup.py prints the figures."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("sqlalchemy", "jinja2", "imapclient", "docx", "lxml", "icalendar", "authres", "holidays",
         "alembic", "aiosmtpd", "smtplib", "mailbot.bootstrap", "mailbot.services.context",
         "mailbot.adapters.sqlalchemy_store", "mailbot.adapters.jinja_renderer",
         "mailbot.adapters.imap_mailbox")
POLICY_FILES = ("mailbot.adapters.policy_files", "mailbot.adapters.policy_model")
CHECK = """
import contextlib, io, sys
from mailbot.entrypoints.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = main(sys.argv[2:])
heavy = sorted({name for name in sys.modules for wanted in sys.argv[1].split(",")
                if name == wanted or name.startswith(wanted + ".")})
print(code, heavy, repr(out.getvalue()[:200]))
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(f"""
[database]
url = "sqlite:///{tmp_path / 'mailbot.sqlite3'}"
[outgoing]
kind = "directory"
directory = "outbox"
[[mailbox]]
name = "bury"
address = "bsp@bury.example"
policy = "bury"
kind = "maildir"
path = "maildir"
business_managers = ["manager@bury.example"]
sender_trust = "none"
""")
    subprocess.run([sys.executable, "-m", "mailbot", "--config", str(path), "db", "upgrade"],
                   check=True, capture_output=True, timeout=120)
    return path


@pytest.mark.parametrize(("command", "unused"), [
    (["cases"], HEAVY + POLICY_FILES),
    (["cases", "show", "BSCP-2026-0001"], HEAVY),
    (["policies", "show", "bury"], HEAVY),
])
def test_a_looking_command_imports_no_database_mailbox_mailer_or_template_library(
        config, command, unused):
    run = subprocess.run([sys.executable, "-c", CHECK, ",".join(unused), "--config", str(config),
                          *command], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    code, rest = run.stdout.split(" ", 1)
    assert code in ("0", "1"), run.stdout  # 1: cases show of a case there is not
    assert rest.startswith("[]"), run.stdout


def test_the_deadline_pass_on_a_current_database_imports_no_migration_or_mail_reading_code(
        config):
    unused = ("alembic", "mako", "mailbot.services.polling", "mailbot.services.intake",
              "mailbot.intake.classify", "quotequail")
    run = subprocess.run([sys.executable, "-c", CHECK, ",".join(unused), "--config", str(config),
                          "--now", "2026-04-01T09:00:00+00:00", "chase"],
                         capture_output=True, text=True, timeout=120, cwd=config.parent)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split(" ", 1) == ["0", "[] ''\n"], run.stdout
