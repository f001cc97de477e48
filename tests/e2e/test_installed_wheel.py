"""mailbot installed as a partnership's IT team installs it (README, "Running it for a
partnership"): the wheel built from the repository, installed into a fresh venv with its
dependencies, run from a folder outside the checkout with no PYTHONPATH, following the
README's steps: config, secrets, db upgrade, the worker, poll, backup, restore."""

from __future__ import annotations

import mailbox
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from mailbot import __version__
from mailbot.domain.working_days import LONDON
from mailbot.entrypoints.demo import referral_email
from tests.e2e.commands import ROOT, wait_for

SOURCES = ("setup.py", "pyproject.toml", "README.md", "mailbot", "policies", "templates", "forms")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the built wheel installed, as /opt/mailbot is in the README."""
    build = tmp_path_factory.mktemp("build")
    source = build / "source"
    source.mkdir()
    for name in SOURCES:  # a copy, so the build leaves nothing behind in the checkout
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, source / name)
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(build / "dist"), str(source)])
    [wheel] = (build / "dist").glob("mailbot-*.whl")
    venv = build / "opt-mailbot"
    _run([sys.executable, "-m", "venv", str(venv)])
    _run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], timeout=600)
    return venv


def _run(command: list[str], timeout: float = 300, **options) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **options)
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result


def _environment(**extra: str) -> dict[str, str]:
    # Nothing may come from the checkout: no PYTHONPATH, and the commands run elsewhere.
    return {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, **extra}


def _mailbot(venv: Path, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return _run([str(venv / "bin" / "mailbot"), *args], cwd=cwd, env=_environment(**env))


def test_the_wheel_carries_its_data_and_runs_the_demo_outside_the_checkout(installed, tmp_path):
    where = _run([str(installed / "bin" / "python"), "-c", "import mailbot.shipped as s;"
                  " print(s.shipped_dir('policies'))"], cwd=tmp_path, env=_environment()).stdout
    assert where.strip().startswith(str(installed)) and "site-packages" in where
    assert _mailbot(installed, "--version", cwd=tmp_path).stdout.strip() == f"mailbot {__version__}"
    checked = _mailbot(installed, "policies", "check", cwd=tmp_path).stdout
    assert checked.count("ok ") == 5, checked
    demo = _mailbot(installed, "demo", "--once", cwd=tmp_path)
    assert "BSCP-2026-0001" in demo.stdout
    assert len(list((tmp_path / "var" / "demo" / "outbox").glob("*.eml"))) >= 3
    assert "BSCP-2026-0001" in _mailbot(installed, "cases", cwd=tmp_path).stdout


def test_the_readme_service_steps_install_start_poll_back_up_and_restore(installed, tmp_path):
    etc, data, backups = tmp_path / "etc-mailbot", tmp_path / "var-lib-mailbot", tmp_path / "backups"
    for folder in (etc, data, backups):
        folder.mkdir(mode=0o700)
    # 2. Config: the example, edited for this partnership (a Maildir here, no mail server).
    config = etc / "config.toml"
    config.write_text(f"""var_dir = "{data}"
[database]
url = "sqlite:///{data}/mailbot.sqlite3"
[outgoing]
kind = "directory"
directory = "{data}/outbox"
[[mailbox]]
name = "bury"
address = "bsp@bury.test"
policy = "bury"
kind = "maildir"
path = "{data}/maildir/bury"
password_env = "BURY_MAILBOX_PASSWORD"
business_managers = ["manager@bury.test"]
sender_trust = "none"
""")
    # 3. Secrets: in the environment the service's EnvironmentFile gives it.
    secrets = {"BURY_MAILBOX_PASSWORD": "not-used-by-a-maildir"}
    # 4. Start: the schema first, then the worker.
    flag = ["--config", str(config)]
    assert "upgraded from nothing to" in _mailbot(installed, *flag, "db", "upgrade", cwd=tmp_path).stdout
    (data / "maildir").mkdir()
    maildir = mailbox.Maildir(data / "maildir" / "bury", create=True)
    maildir.add(referral_email("bsp@bury.test", datetime.now(LONDON)))
    worker = subprocess.Popen([str(installed / "bin" / "mailbot"), *flag, "run"], cwd=tmp_path,
                              env=_environment(**secrets), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_for(lambda: len(list((data / "outbox").glob("*.eml"))) >= 3)
    finally:
        worker.send_signal(signal.SIGTERM)
        log, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, log
    assert f"config: {config}" in log and "watching mailbox bury" in log  # 5. Logs
    # A one-off poll, as an operator runs it, takes in what arrived while the worker was down.
    maildir.add(referral_email("bsp@bury.test", datetime.now(LONDON)))
    _mailbot(installed, *flag, "poll", cwd=tmp_path, **secrets)
    # 7. Backup, then 8. restore over a database that has since changed.
    backup = backups / f"mailbot-{time.strftime('%F')}.sqlite3"
    assert "2 case(s)" in _mailbot(installed, *flag, "backup", str(backup), cwd=tmp_path).stdout
    maildir.add(referral_email("bsp@bury.test", datetime.now(LONDON)))
    _mailbot(installed, *flag, "poll", cwd=tmp_path, **secrets)
    database = data / "mailbot.sqlite3"
    shutil.copy(backup, database)
    for companion in ("-wal", "-shm"):
        Path(f"{database}{companion}").unlink(missing_ok=True)
    _mailbot(installed, *flag, "db", "upgrade", cwd=tmp_path)
    listed = _mailbot(installed, *flag, "cases", cwd=tmp_path).stdout
    assert "BSCP-2026-0001" in listed and "BSCP-2026-0002" in listed and "BSCP-2026-0003" not in listed
    # The restored database is behind the marker: the worker's commands refuse it until told,
    # and then never issue BSCP-2026-0003 (taken after the backup) again (issue 14).
    maildir.add(referral_email("bsp@bury.test", datetime.now(LONDON)))
    refused = subprocess.run([str(installed / "bin" / "mailbot"), *flag, "poll"], cwd=tmp_path,
                             env=_environment(**secrets), capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "--new-database" in refused.stderr, refused.stderr
    _mailbot(installed, *flag, "send", "--new-database", cwd=tmp_path, **secrets)
    _mailbot(installed, *flag, "poll", cwd=tmp_path, **secrets)
    listed = _mailbot(installed, *flag, "cases", cwd=tmp_path).stdout
    assert "BSCP-2026-0004" in listed and "BSCP-2026-0003" not in listed, listed
