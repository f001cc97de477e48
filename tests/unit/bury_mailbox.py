"""The Bury mailbox the service tests run on: its context over the real Bury policy, one
business manager unless told otherwise, and a complete referral written as an email form."""

from __future__ import annotations

from datetime import datetime

from mailbot.adapters.policy_files import calendar_for, load_policy
from mailbot.domain.engine import CaseEngine
from mailbot.domain.notices import Partnership
from mailbot.domain.referral import Person
from mailbot.domain.working_days import LONDON
from mailbot.services.context import MailboxContext

BM = "manager@bury.example"
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=LONDON)

FORM = """\
Child's name: Sam Sample
Date of birth: 14/03/2015
Referrer's name: Priya Shah
Referrer's email: priya@school.example
Agency/Team: Hollins Primary School
Summary of disagreement: The threshold for assessment is met
but the front door closed the contact.
Desired outcome: An assessment.
Stage reached so far: Level 1
"""

REFERRAL = """\
From: Priya Shah <priya@school.example>
To: bsp@bury.example
Subject: Request for resolution
Message-ID: <ref-1@school.example>

""" + FORM


def mailbox_context(name: str = "bury", address: str = "bsp@bury.example",
                    policy_name: str = "bury", managers: tuple[str, ...] = (BM,)) -> MailboxContext:
    policy = load_policy(policy_name)
    partnership = Partnership(address, tuple(Person("Manager", m) for m in managers))
    engine = CaseEngine(policy, calendar_for(policy), partnership)
    return MailboxContext(name, address, policy, engine, sender_trust="none")
