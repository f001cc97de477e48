"""The weekly digest: when it is due, what it lists, and the email it makes (text, HTML and
the chart inline as a related part the HTML names by Content-ID, as Outlook shows it)."""

from __future__ import annotations

import email
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import default

import pytest
from rendering_cases import BUSINESS_MANAGER, CHILD_NAME, DOB_SPELLINGS, OPENED, bury, referral

from mailbot.adapters.jinja_renderer import JinjaRenderer
from mailbot.adapters.mail_composer import MailComposer
from mailbot.domain.digest import CaseDates, DigestSchedule, build_digest, due_slot
from mailbot.domain.referral import Person
from mailbot.domain.working_days import LONDON
from mailbot.services.context import MailboxContext
from mailbot.services.digest import digest_notice

POLICY, ENGINE = bury()
CALENDAR = ENGINE.calendar
MONDAY = datetime(2027, 1, 4, 9, 5, tzinfo=LONDON)  # Monday 4 January 2027


def _at(day: str, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=LONDON)


# --- when it is due ---------------------------------------------------------------------

def test_the_digest_is_due_from_monday_at_nine_until_the_week_ends():
    assert due_slot(_at("2027-01-04", 8, 59), DigestSchedule(), CALENDAR) is None
    slot = due_slot(_at("2027-01-04", 9), DigestSchedule(), CALENDAR)
    assert slot is not None and slot.week == "2027-W01" and slot.at == _at("2027-01-04")
    assert due_slot(_at("2027-01-10", 23, 59), DigestSchedule(), CALENDAR) == slot
    assert due_slot(_at("2027-01-11", 8), DigestSchedule(), CALENDAR) is None


def test_a_configured_day_and_hour_move_the_slot():
    thursday_at_two = DigestSchedule(weekday=3, hour=14)
    assert due_slot(_at("2027-01-07", 13, 59), thursday_at_two, CALENDAR) is None
    assert due_slot(_at("2027-01-07", 14), thursday_at_two, CALENDAR).at == _at("2027-01-07", 14)


def test_a_bank_holiday_moves_the_digest_to_the_next_working_day():
    # Easter Monday 2027 is 29 March: the digest goes on Tuesday 30 March.
    assert due_slot(_at("2027-03-29", 10), DigestSchedule(), CALENDAR) is None
    slot = due_slot(_at("2027-03-30", 9), DigestSchedule(), CALENDAR)
    assert slot is not None and slot.week == "2027-W13"


def test_a_slot_pushed_into_the_next_week_keeps_its_own_weeks_name():
    # Friday digests: Good Friday (26 March 2027) and Easter Monday push it to Tuesday 30th.
    friday = DigestSchedule(weekday=4)
    assert due_slot(_at("2027-03-26", 12), friday, CALENDAR) is None
    slot = due_slot(_at("2027-03-30", 9), friday, CALENDAR)
    assert slot is not None and slot.week == "2027-W12" and slot.at == _at("2027-03-30")


# --- what it lists ----------------------------------------------------------------------

def _cases():
    late, _ = ENGINE.open_case(referral(), "BSCP-2026-0001", OPENED)  # due 30 December
    ENGINE.escalate(late, OPENED + timedelta(days=2), BUSINESS_MANAGER.email)  # due 23 Dec
    soon, _ = ENGINE.open_case(referral(), "BSCP-2026-0002", _at("2026-12-31", 11))
    also_late, _ = ENGINE.open_case(referral(), "BSCP-2026-0003", _at("2026-12-15", 10))
    closed, _ = ENGINE.open_case(referral(), "BSCP-2026-0004", _at("2026-12-15"))
    ENGINE.record_outcome(closed, "Agreed.", _at("2026-12-30"), BUSINESS_MANAGER.email)
    return late, soon, also_late, closed


def _digest(now: datetime = MONDAY):
    late, soon, also_late, closed = _cases()
    slot = due_slot(now, DigestSchedule(), CALENDAR)
    changes = [CaseDates(c.reference, c.status, c.stage, c.opened_at, c.closed_at)
               for c in (late, soon, also_late, closed)]
    return build_digest(slot, slot.at - timedelta(days=7), [late, soon, also_late], changes, ENGINE,
                        now)


def test_open_cases_are_listed_by_deadline_with_the_overdue_first_and_marked():
    digest = _digest()
    assert [line.reference for line in digest.open_cases] == [
        "BSCP-2026-0001", "BSCP-2026-0003", "BSCP-2026-0002"]
    late, also_late, soon = digest.open_cases
    assert late.overdue and late.due == "OVERDUE by 5 working days"  # due 23 December
    assert late.stage == "Level 2: Line Manager to Line Manager"
    assert "Line manager (nobody named yet)" in late.who_acts
    assert also_late.overdue and also_late.due == "OVERDUE by 1 working day"  # due 31 December
    assert not soon.overdue and soon.due == "9 working days left"
    assert soon.who_acts == "Practitioner (Riya Referrer)"
    assert digest.overdue == 2


def test_the_digest_lists_what_opened_and_closed_since_the_last_one():
    digest = _digest()
    assert [c.reference for c in digest.opened] == ["BSCP-2026-0002"]
    assert digest.opened[0].what == "now open at Level 1: Practitioner to Practitioner"
    assert [(c.reference, c.what) for c in digest.closed] == [
        ("BSCP-2026-0004", "resolved at Level 1: Practitioner to Practitioner")]


def test_the_chart_counts_open_cases_at_every_stage_of_the_policy():
    assert _digest().by_stage == (
        ("Level 1: Practitioner to Practitioner", 2), ("Level 2: Line Manager to Line Manager", 1),
        ("Level 3: Head of Service to Head of Service", 0),
        ("Level 4: Exceptional Circumstances - BSCP", 0))


def test_nothing_open_means_no_digest():
    slot = due_slot(MONDAY, DigestSchedule(), CALENDAR)
    assert build_digest(slot, slot.at - timedelta(days=7), [], [], ENGINE, MONDAY) is None


# --- the email --------------------------------------------------------------------------

def _composed() -> EmailMessage:
    mailbox = MailboxContext("bury", "bsp@bury.example", POLICY, ENGINE)
    notice = digest_notice(_digest(), mailbox)
    assert notice.to == mailbox.partnership.business_managers
    data = MailComposer(JinjaRenderer()).compose(
        notice, case=None, policy=POLICY, sender=Person(POLICY.name, "bsp@bury.example"),
        recipient=BUSINESS_MANAGER, message_id="mailbot.digest@bury.example", now=MONDAY)
    return email.message_from_bytes(data, policy=default)


def test_the_digest_email_has_text_and_html_and_names_no_child():
    message = _composed()
    assert message["Subject"] == "Weekly digest 2027-W01: 3 open cases, 2 overdue"
    assert message["Auto-Submitted"] == "auto-generated" and message["From"].addresses[0].username == "bsp"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "OVERDUE BSCP-2026-0001  Level 2: Line Manager to Line Manager" in text
    assert "(OVERDUE by 5 working days)" in text and "(9 working days left)" in text
    assert text.index("BSCP-2026-0001") < text.index("BSCP-2026-0003") < text.index("BSCP-2026-0002")
    assert "- BSCP-2026-0004 on Wednesday 30 December 2026, resolved at Level 1" in text
    assert "OVERDUE</strong>" in html and "BSCP-2026-0002" in html
    for part in (str(message), text, html):
        assert CHILD_NAME.split()[0] not in part
        assert not any(dob in part for dob in DOB_SPELLINGS)


def test_the_chart_is_an_inline_png_beside_the_html_named_by_its_content_id():
    message = _composed()
    assert message.get_content_type() == "multipart/alternative"
    plain, related = message.get_payload()
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, image = related.get_payload()
    assert html_part.get_content_type() == "text/html"
    assert image.get_content_type() == "image/png"
    assert image.get_content_disposition() == "inline"
    assert image.get_payload(decode=True).startswith(b"\x89PNG\r\n\x1a\n")
    content_id = image["Content-ID"].strip("<>")
    assert content_id == "open-cases-by-stage.bury.2027-W01@bury.example"
    assert f'src="cid:{content_id}"' in html_part.get_content()
    assert 'alt="Open cases at each stage: Level 1: Practitioner to Practitioner 2;' in \
        html_part.get_content()


@pytest.mark.parametrize("week_day", ["monday", "FRIDAY", " Tuesday "])
def test_the_digest_day_is_read_in_any_case(week_day):
    from mailbot.config import DigestSettings

    assert DigestSettings(day=week_day).day == week_day.strip().lower()


def test_a_weekend_day_or_a_bad_hour_is_refused():
    from pydantic import ValidationError

    from mailbot.config import DigestSettings

    with pytest.raises(ValidationError):
        DigestSettings(day="saturday")
    with pytest.raises(ValidationError):
        DigestSettings(hour=24)


def test_an_inline_picture_and_an_attachment_sit_in_their_own_parts():
    from mailbot.adapters.email_builder import build_email

    data = build_email(
        from_addr="Bury <bsp@bury.example>", to=["bea@bury.example"], subject="s", text="t",
        html='<p><img src="cid:chart.1@bury.example"></p>', message_id="m.1@bury.example",
        auto_submitted="auto-generated", date=MONDAY,
        inline_images=[("chart.1@bury.example", "chart.png", "image/png", b"\x89PNG...")],
        attachments=[("record.docx", "application/octet-stream", b"PK..")])
    message = email.message_from_bytes(data, policy=default)
    assert [p.get_content_type() for p in message.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "multipart/related",
        "text/html", "image/png", "application/octet-stream"]
    image = next(p for p in message.walk() if p.get_content_type() == "image/png")
    assert image["Content-ID"] == "<chart.1@bury.example>" and image.get_filename() == "chart.png"
    assert [p.get_filename() for p in message.iter_attachments()] == ["record.docx"]
