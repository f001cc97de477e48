"""deploy/mailbot.service: the systemd unit the README installs, checked by systemd itself."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

from tests.e2e.commands import ROOT
from tests.integration.db_fixtures import skip_or_fail

UNIT = ROOT / "deploy" / "mailbot.service"


def _service() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(UNIT.read_text())
    return parser["Service"]


def test_systemd_finds_nothing_wrong_with_the_unit(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        skip_or_fail("systemd-analyze (Debian package systemd) is not installed")
    # verify also checks that ExecStart's program exists: point it at this venv's mailbot.
    mailbot = Path(sys.executable).with_name("mailbot")
    unit = tmp_path / "mailbot.service"
    unit.write_text(UNIT.read_text().replace("/opt/mailbot/bin/mailbot", str(mailbot)))
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), (
        result.stdout + result.stderr)


def test_the_unit_runs_the_worker_as_its_own_user_with_secrets_from_a_file_and_little_else():
    service = _service()
    assert service["ExecStart"].endswith("--config /etc/mailbot/config.toml run")
    assert service["User"] == "mailbot"
    assert service["EnvironmentFile"] == "/etc/mailbot/secrets.env"
    assert service["Restart"] == "on-failure"
    assert service["ProtectSystem"] == "strict"
    assert service["ReadWritePaths"] == "/var/lib/mailbot"
    assert (service["NoNewPrivileges"], service["PrivateTmp"]) == ("true", "true")
    assert service["UMask"] == "0077"
