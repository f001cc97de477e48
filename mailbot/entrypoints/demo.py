"""`mailbot demo`: the embedded default end to end, so a newcomer sees a case go through.

It sets up SQLite, a Maildir and an outbox folder under ``var/demo``, drops in an email
from a referrer with a filled-in Bury Request for Resolution form, runs the worker until
the case is acknowledged and the stage notice is out, says where to look, and keeps the
worker running until Ctrl-C.
"""

from __future__ import annotations

import mailbox
import shutil
from collections.abc import Callable
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from mailbot.bootstrap import bootstrap
from mailbot.config import embedded_default
from mailbot.domain.referral import AgencyType
from mailbot.entrypoints import reports
from mailbot.entrypoints.passes import poll_all, send_all
from mailbot.entrypoints.worker import run_worker
from mailbot.intake.form_builder import fill_form

DEMO_DIR = Path("var/demo")
SAMPLE = {
    "date_of_notification": date(2026, 11, 20),
    "child_name": "Sam Sample",
    "child_dob": date(2015, 3, 14),
    "referrer_name": "Priya Shah",
    "referrer_role": "Designated Safeguarding Lead",
    "referrer_agency": "Hollins Primary School",
    "referrer_email": "priya.shah@school.example",
    "referrer_phone": "0161 000 0000",
    "referrer_agency_type": AgencyType.SCHOOL,
    "safeguarding_lead_aware": True,
    "safeguarding_lead_name": "Tom Reid",
    "safeguarding_lead_email": "tom.reid@school.example",
    "other_agency": "Children's Social Care, Bury",
    "other_agency_contact_name": "Alex Morgan",
    "other_agency_contact_email": "alex.morgan@csc.example",
    "other_agency_type": AgencyType.CHILDRENS_SOCIAL_CARE,
    "disagreement_category": "Levels of need",
    "child_protection_plan": False,
    "looked_after": False,
    "immediate_risk": False,
    "stage_reached": 2,
    "summary": "The school believes the threshold for a child and family assessment is met;"
               " the front door closed the contact with advice only.",
    "earlier_stages_evidence": "Stage 1: practitioners spoke on 12 November; no agreement.",
    "desired_outcome": "A child and family assessment is started.",
}


def referral_email(to_address: str, now: datetime) -> bytes:
    message = EmailMessage()
    message["From"] = f"{SAMPLE['referrer_name']} <{SAMPLE['referrer_email']}>"
    message["To"] = to_address
    message["Subject"] = "Request for Resolution"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain="school.example")
    message.set_content("Please find our Request for Resolution attached.\n\nPriya Shah\n")
    message.add_attachment(fill_form("bury", SAMPLE), maintype="application",
                           subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
                           filename="request-for-resolution.docx")
    return bytes(message)


def run_demo(now: Callable[[], datetime]) -> int:
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    settings = embedded_default(str(DEMO_DIR))
    app = bootstrap(settings)
    maildir = DEMO_DIR / "maildir" / "bury"
    maildir.parent.mkdir(parents=True, exist_ok=True)
    # Delivered the way a mail server delivers: written to tmp/, then renamed into new/.
    mailbox.Maildir(maildir, create=True).add(referral_email(settings.mailbox[0].address, now()))
    print(f"Demo: a referral from {SAMPLE['referrer_email']} was delivered to {maildir}/new.")
    poll_all(app, now)
    send_all(app, now)
    print(reports.list_cases(app.services))
    outbox = DEMO_DIR / "outbox"
    print(f"\nThe emails mailbot sent are .eml files in {outbox.resolve()}:")
    for path in sorted(outbox.glob("*.eml")):
        print(f"  {path.name}")
    print(f"\nTry a reply command: save a reply to one of those emails (with ESCALATE or"
          f" RESOLVED: ... in it)\ninto {maildir}/new and watch a new .eml appear."
          "\nThe worker keeps running; press Ctrl-C to stop.", flush=True)
    return run_worker(app, now)
