"""After `mailbot demo` a newcomer can look at the case it made and answer it, with the
commands the demo prints (issue 15, point 7)."""

from __future__ import annotations

import re

from tests.e2e.commands import mailbot


def test_after_the_demo_the_printed_commands_show_and_answer_the_case(tmp_path):
    demo = mailbot("demo", "--once", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert "press Ctrl-C" not in demo.stdout
    printed = re.findall(r"^  (mailbot .*)$", demo.stdout, re.MULTILINE)
    assert "mailbot --config var/demo/config.toml cases show BSCP-2026-0001" in printed, demo.stdout
    # The embedded default is the demo's set-up, so the plain commands find the case too.
    listed = mailbot("cases", cwd=tmp_path)
    assert listed.returncode == 0 and "BSCP-2026-0001" in listed.stdout, listed.stdout + listed.stderr
    for line in printed:  # cases, cases show, demo reply, poll, cases show: as printed
        result = mailbot(*_arguments(line), cwd=tmp_path)
        assert result.returncode == 0, f"{line}\n{result.stdout}{result.stderr}"
    shown = mailbot("cases", "show", "bscp-2026-0001", cwd=tmp_path).stdout
    assert "Level 3: Head of Service to Head of Service" in shown, shown
    assert "Escalated" in shown and "the line managers could not agree" in shown


def _arguments(line: str) -> list[str]:
    import shlex

    return shlex.split(line)[1:]


def test_demo_help_offers_only_what_the_demo_uses(tmp_path):
    help_text = mailbot("demo", "--help", cwd=tmp_path).stdout
    assert "--once" in help_text and "reply" in help_text
    assert "--config" not in help_text
    refused = mailbot("--config", "elsewhere.toml", "demo", cwd=tmp_path)
    assert refused.returncode == 2 and "--config" in refused.stderr


def test_a_demo_reply_to_a_case_the_demo_never_made_says_so(tmp_path):
    assert mailbot("demo", "--once", cwd=tmp_path).returncode == 0
    result = mailbot("demo", "reply", "BSCP-2026-0099", "ESCALATE", cwd=tmp_path)
    assert result.returncode == 1 and "BSCP-2026-0099" in result.stderr
