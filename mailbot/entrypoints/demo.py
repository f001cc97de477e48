"""`mailbot demo`: the embedded default end to end, so a newcomer sees a case go through.

It sets up SQLite, a Maildir and an outbox folder under ``var/demo`` (the embedded default's
folder, so `mailbot cases` finds the case without a config), writes the same set-up as
``var/demo/config.toml`` for those who want to read or edit it, drops in an email from a
referrer with a filled-in Bury Request for Resolution form, runs it through, and prints the
exact commands that look at the case and answer it (`mailbot demo reply`, in
``demo_reply``). Then it keeps the worker running until Ctrl-C, or stops (``--once``).
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
from mailbot.config import DEMO_VAR_DIR, Settings, embedded_default
from mailbot.domain.referral import AgencyType
from mailbot.entrypoints import reports
from mailbot.entrypoints.passes import poll_all, send_all
from mailbot.entrypoints.worker import run_worker
from mailbot.intake.form_builder import fill_form

DEMO_DIR = Path(DEMO_VAR_DIR)
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


def run_demo(now: Callable[[], datetime], *, once: bool = False) -> int:
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    DEMO_DIR.mkdir(mode=0o700, parents=True)  # it will hold the (sample) child's details
    settings = embedded_default()
    config = write_demo_config(settings)
    app = bootstrap(settings)
    maildir = DEMO_DIR / "maildir" / "bury"
    maildir.parent.mkdir(parents=True, exist_ok=True)
    # Delivered the way a mail server delivers: written to tmp/, then renamed into new/.
    mailbox.Maildir(maildir, create=True).add(referral_email(settings.mailbox[0].address, now()))
    print(f"Demo: a referral from {SAMPLE['referrer_email']} was delivered to {maildir}/new.")
    poll_all(app, now)
    send_all(app, now)
    print(reports.list_cases(app.services, settings.zone))
    outbox = DEMO_DIR / "outbox"
    print(f"\nThe emails mailbot sent are .eml files in {outbox.resolve()}:")
    for path in sorted(outbox.glob("*.eml")):
        print(f"  {path.name}")
    print(next_steps(app, config, running=not once), flush=True)
    return 0 if once else run_worker(app, now)


def write_demo_config(settings: Settings) -> Path:
    """The demo's set-up as a config file, paths relative to it, for the commands it prints."""
    box = settings.mailbox[0]
    path = DEMO_DIR / "config.toml"
    path.write_text(f"""# The set-up `mailbot demo` ran (the embedded default); paths are relative to here.
timezone = "{settings.timezone}"
var_dir = "."

[database]
url = "sqlite:///mailbot.sqlite3"

[outgoing]
kind = "directory"
directory = "outbox"

[[mailbox]]
name = "{box.name}"
address = "{box.address}"
policy = "{box.policy}"
kind = "maildir"
path = "maildir/{box.name}"
business_managers = {list(box.business_managers)!r}
sender_trust = "{box.sender_trust}"
""".replace("'", '"'), encoding="utf-8")
    return path


def next_steps(app, config: Path, *, running: bool) -> str:
    """What to try next, as commands to copy: they run from this folder on the demo's set-up."""
    with app.services.uow_factory() as uow:
        references = [row.reference for row in uow.cases.summaries()]
    reference = references[-1] if references else "BSCP-2026-0001"
    flag = f"--config {config}"
    lines = ["", "Look at the case (from this folder; `mailbot cases` alone finds it too):",
             f"  mailbot {flag} cases", f"  mailbot {flag} cases show {reference}", "",
             "Answer it as the business manager would, with a reply threaded to mailbot's email:",
             f'  mailbot demo reply {reference} "ESCALATE: the line managers could not agree"']
    if running:
        lines += ["The worker below takes the reply in within seconds; then:",
                  f"  mailbot {flag} cases show {reference}", "",
                  "The worker keeps running; press Ctrl-C to stop."]
    else:
        lines += [f"  mailbot {flag} poll", f"  mailbot {flag} cases show {reference}"]
    return "\n".join(lines)
