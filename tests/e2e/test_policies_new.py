"""`mailbot policies new NAME` gives a business manager a commented starting file, and
`mailbot policies check` names every place still to fill in: file, key and fix."""

from __future__ import annotations

import tomllib

from mailbot.adapters.policy_files import placeholders
from tests.e2e.commands import mailbot, maildir_config


def test_a_new_policy_is_refused_until_every_fill_in_is_filled_then_checks_clean(tmp_path):
    policies = tmp_path / "policies"
    policies.mkdir()
    made = mailbot("policies", "new", "rochdale", "--out", str(policies / "rochdale.toml"), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    written = policies / "rochdale.toml"
    text = written.read_text()
    assert text.count("FILL IN") >= 10 and "# " in text  # commented, with places to fill
    config = maildir_config(tmp_path, extra=f'policies_dir = "{policies}"\n')
    check = mailbot("--config", str(config), "policies", "check", cwd=tmp_path)
    assert check.returncode == 2
    problems = [line for line in check.stdout.splitlines() if line.startswith("INVALID")]
    assert len(problems) == len(placeholders(tomllib.loads(text))) >= 10, check.stdout
    assert f"INVALID {written}: stages[0].what_happens: still says 'FILL IN'. Replace it" in check.stdout
    assert f"INVALID {written}: partnership.name:" in check.stdout
    written.write_text(text.replace("FILL IN", "Rochdale's words"))
    check = mailbot("--config", str(config), "policies", "check", cwd=tmp_path)
    assert check.returncode == 0, check.stdout
    assert tomllib.loads(written.read_text())["partnership"]["reference_prefix"] == "ROCHDALSCP"


def test_policies_check_names_the_key_and_the_fix_for_a_mistake(tmp_path):
    policies = tmp_path / "policies"
    policies.mkdir()
    assert mailbot("policies", "new", "rochdale", "--out", str(policies / "rochdale.toml"),
                   cwd=tmp_path).returncode == 0
    written = policies / "rochdale.toml"
    written.write_text(written.read_text().replace("FILL IN", "Words").replace(
        'responsible = ["line_manager"]', 'responsible = ["team_manager"]'))
    config = maildir_config(tmp_path, extra=f'policies_dir = "{policies}"\n')
    check = mailbot("--config", str(config), "policies", "check", cwd=tmp_path)
    assert check.returncode == 2
    assert (f"{written}: stages[1].responsible: role 'team_manager' is not declared under [roles]."
            " Add a [roles.team_manager] table") in check.stdout, check.stdout
    assert mailbot("policies", "new", "rochdale", "--out", str(written), cwd=tmp_path).returncode == 2
