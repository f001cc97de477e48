"""Issue 14, end to end through Dovecot and SMTP: a council web-form portal's referral (a
no-reply sender, Auto-Submitted, the form attached) opens a case; the referrer named on the
form is acknowledged; the portal's no-reply address is never written to."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from mailbot.entrypoints.demo import SAMPLE
from mailbot.intake.form_builder import fill_form
from tests.e2e.harness import at, only, recipients, reference_of

PORTAL = "no-reply@forms.bury.gov.uk"


def _portal_referral(to: str, now) -> bytes:
    message = EmailMessage()
    message["From"] = f"Bury Council Online Forms <{PORTAL}>"
    message["To"] = to
    message["Subject"] = "New submission: Request for Resolution"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain="forms.bury.gov.uk")
    message["Auto-Submitted"] = "auto-generated"
    message["Precedence"] = "bulk"
    message.set_content("A new Request for Resolution was submitted. The form is attached.\n")
    message.add_attachment(fill_form("bury", SAMPLE), maintype="application",
                           subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
                           filename="request-for-resolution.docx")
    return bytes(message)


def test_a_portal_referral_opens_a_case_acknowledged_to_the_referrer_only(story):
    bm = "business.manager@bury.example"
    bury = story("bury", address="bsp@bury.gov.uk", business_manager=bm)
    mails = bury.deliver(_portal_referral(bury.address, at("2026-03-02")), at("2026-03-02"))
    reference = reference_of(mails)
    assert reference.startswith("BSCP-2026-")
    assert only(mails, "acknowledgement", SAMPLE["referrer_email"])
    assert recipients(mails, "new_case") == {bm}
    assert all(PORTAL not in mail.recipient for mail in mails)
