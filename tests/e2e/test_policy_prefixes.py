"""Two partnerships may not share a reference prefix (issue 17): `mailbot policies check`
and every command that starts on a config refuse it, naming the file, the key and the fix.
And a policy file with several mistakes has them all listed in one run."""

from __future__ import annotations

import shutil
from pathlib import Path

from mailbot.adapters.policy_files import DEFAULT_POLICY_DIR
from tests.e2e.commands import mailbot, maildir_config

BROMLEY_TOO = """
[[mailbox]]
name = "bromley"
address = "bscb@bromley.test"
policy = "bromley"
kind = "maildir"
path = "maildir/bromley"
business_managers = ["Business Manager <manager@bromley.test>"]
sender_trust = "none"
"""


def _policies_sharing_a_prefix(folder: Path) -> Path:
    """Bury's policy, and Bromley's given Bury's prefix."""
    policies = folder / "policies"
    policies.mkdir()
    shutil.copy(DEFAULT_POLICY_DIR / "bury.toml", policies / "bury.toml")
    bromley = (DEFAULT_POLICY_DIR / "bromley.toml").read_text(encoding="utf-8")
    assert 'reference_prefix = "BROM"' in bromley
    (policies / "bromley.toml").write_text(bromley.replace('"BROM"', '"BSCP"'), encoding="utf-8")
    return policies


def test_policies_check_refuses_two_policies_sharing_a_reference_prefix(tmp_path):
    policies = _policies_sharing_a_prefix(tmp_path)
    config = maildir_config(tmp_path, extra=f'policies_dir = "{policies}"\n')
    check = mailbot("--config", str(config), "policies", "check", cwd=tmp_path)
    assert check.returncode == 2, check.stdout
    assert (f"INVALID {policies / 'bury.toml'}: partnership.reference_prefix: 'BSCP' is already used"
            " by bromley.toml. Choose another prefix") in check.stdout, check.stdout


def test_the_worker_will_not_start_on_two_mailboxes_whose_policies_share_a_prefix(tmp_path):
    policies = _policies_sharing_a_prefix(tmp_path)
    config = maildir_config(tmp_path, extra=f'policies_dir = "{policies}"\n')
    config.write_text(config.read_text(encoding="utf-8") + BROMLEY_TOO, encoding="utf-8")
    for command in (["poll"], ["run"]):
        started = mailbot("--config", str(config), *command, cwd=tmp_path, timeout=60)
        assert started.returncode == 2, (command, started.stdout, started.stderr)
        assert "bromley.toml: partnership.reference_prefix: 'BSCP' is already used by bury.toml" \
            in started.stderr, started.stderr
    assert not (tmp_path / "outbox").exists() or not any((tmp_path / "outbox").iterdir())


def test_policies_check_lists_every_mistake_of_a_file_not_only_the_first(tmp_path):
    policies = tmp_path / "policies"
    policies.mkdir()
    text = (DEFAULT_POLICY_DIR / "bury.toml").read_text(encoding="utf-8")
    text = text.replace('nation = "ENG"', 'nation = "FRA"').replace('send_at = "09:00"', 'send_at = "9am"')
    (policies / "bury.toml").write_text(text, encoding="utf-8")
    config = maildir_config(tmp_path, extra=f'policies_dir = "{policies}"\n')
    check = mailbot("--config", str(config), "policies", "check", cwd=tmp_path)
    assert check.returncode == 2
    assert f"INVALID {policies / 'bury.toml'}: calendar.nation: must be one of ENG" in check.stdout
    assert f"INVALID {policies / 'bury.toml'}: chasers.send_at: must be a time like 17:00" in check.stdout
