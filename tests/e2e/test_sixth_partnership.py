"""A partnership adds its own policy purely as data (issue 15, point 8): a made-up sixth
partnership, Wessex, writes a policy file in its own folder, points `policies_dir` at it,
and a case runs through its ladder end to end. Nothing under mailbot/ knows of Wessex."""

from __future__ import annotations

import email
import mailbox
from datetime import datetime
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime, make_msgid
from pathlib import Path

from mailbot.domain.working_days import LONDON
from mailbot.entrypoints.demo import SAMPLE
from tests.e2e.commands import ROOT, mailbot
from tests.e2e.harness import _label, _plain

WESSEX = """# Wessex Safeguarding Children Partnership (made up for this test): escalation procedure.
guidance = ["Record every discussion on the child's file."]

[partnership]
key = "wessex"
name = "Wessex Safeguarding Children Partnership"
reference_prefix = "WSCP"
source = "Wessex escalation procedure, 2026 (a test fixture)"

[immediate_risk]
guidance = "If a child is at immediate risk, call the Wessex front door now, or 999."

[roles.practitioner]
name = "Practitioner"
level = "case"

[roles.line_manager]
name = "Team manager"
level = "case"

[roles.board_chair]
name = "Independent Chair of the Partnership"
level = "partnership"

[[stages]]
number = 1
name = "Practitioners talk"
responsible = ["practitioner"]
[[stages.phases]]
amount = 3
unit = "working_days"
what = "The practitioners discuss the disagreement."

[[stages]]
number = 2
name = "Team managers meet"
responsible = ["line_manager"]
[[stages.phases]]
amount = 4
unit = "working_days"
what = "The team managers meet and agree a way forward."

[[stages]]
number = 3
name = "The Independent Chair decides"
responsible = ["board_chair"]
decision_maker = "board_chair"
[[stages.phases]]
amount = 10
unit = "working_days"
what = "The Independent Chair hears both agencies and decides."
"""

CONFIG = """policies_dir = "policies"
[database]
url = "sqlite:///data/mailbot.sqlite3"
[outgoing]
kind = "directory"
directory = "outbox"
[[mailbox]]
name = "wessex"
address = "wscp@wessex.test"
policy = "wessex"
kind = "maildir"
path = "maildir/wessex"
business_managers = ["Wessex Business Manager <bm@wessex.test>"]
sender_trust = "none"
[mailbox.contacts]
board_chair = "Independent Chair <chair@wessex.test>"
"""


def _sent(folder: Path) -> list:
    return [email.message_from_bytes(p.read_bytes(), policy=default)
            for p in sorted((folder / "outbox").glob("*.eml"))]


def _referral(now: datetime) -> bytes:
    message = EmailMessage()
    message["From"] = f"{SAMPLE['referrer_name']} <{SAMPLE['referrer_email']}>"
    message["To"] = "wscp@wessex.test"
    message["Subject"] = "Request for Resolution"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain="school.example")
    fields = {**SAMPLE, "stage_reached": 1}
    message.set_content("".join(f"{_label(key)}: {_plain(value)}\n" for key, value in fields.items()))
    return bytes(message)


def _reply(to, body: str, now: datetime) -> bytes:
    message = EmailMessage()
    message["From"] = "Wessex Business Manager <bm@wessex.test>"
    message["To"] = "wscp@wessex.test"
    message["Subject"] = f"RE: {to['Subject']}"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain="wessex.test")
    message["In-Reply-To"] = message["References"] = str(to["Message-ID"])
    message.set_content(body + "\n")
    return bytes(message)


def test_a_sixth_partnership_added_as_data_runs_a_case_to_its_decision(tmp_path):
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "wessex.toml").write_text(WESSEX)
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    (tmp_path / "maildir").mkdir()
    maildir = mailbox.Maildir(tmp_path / "maildir" / "wessex", create=True)

    def run(*args: str) -> str:
        result = mailbot("--config", str(config), *args, cwd=tmp_path)
        assert result.returncode == 0, f"{args}:\n{result.stdout}{result.stderr}"
        return result.stdout

    assert run("policies", "check").startswith("ok      wessex.toml: Wessex Safeguarding")
    now = datetime(2026, 12, 1, 10, tzinfo=LONDON)
    maildir.add(_referral(now))
    run("--now", now.isoformat(), "poll")
    opened = _sent(tmp_path)
    assert {str(m["X-Mailbot-Template"]) for m in opened} >= {"acknowledgement", "new_case", "stage_notice"}
    assert "WSCP-2026-0001" in run("cases")
    to_manager = [m for m in opened if str(m["To"]).endswith("<bm@wessex.test>")][-1]
    maildir.add(_reply(to_manager, "ESCALATE: no agreement between the practitioners", now))
    maildir.add(_reply(to_manager, "STAGE 3: the managers could not meet in time", now))
    run("--now", now.isoformat(), "poll")
    assert "Stage 3: The Independent Chair decides" in run("cases", "show", "WSCP-2026-0001")
    chair = [m for m in _sent(tmp_path) if "chair@wessex.test" in str(m["To"])]
    assert chair, "the Independent Chair (a [mailbox.contacts] role of the new policy) was never told"
    later = _sent(tmp_path)[-1]
    maildir.add(_reply(later, "DECISION: Children's social care will start an assessment this week.", now))
    run("--now", now.isoformat(), "poll")
    shown = run("cases", "show", "wscp-2026-0001")
    assert "Status: decided" in shown and "start an assessment this week" in shown, shown
    decision = [m for m in _sent(tmp_path) if str(m["X-Mailbot-Template"]) == "decision"]
    assert decision and SAMPLE["referrer_email"] in str(decision[0]["To"])


def test_no_code_knows_of_the_sixth_partnership():
    for path in (ROOT / "mailbot").rglob("*.py"):
        assert "wessex" not in path.read_text(encoding="utf-8").lower(), path
