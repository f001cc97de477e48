"""The structured-email reader: ``Label: value`` lines in plain or HTML bodies."""

from datetime import date

from mailbot.domain.referral import AgencyType
from mailbot.intake.email_form import html_to_text, read_email_form

PLAIN = """Hello,

Please accept this request for resolution.

Date of notification: 02/03/2026
Child's name: Sam O'Neill
D.O.B: 14 July 2015
Referrer's name: Jane Smith
Role: Social worker
Agency/Team: Bury Children's Services
Contact details: jane.smith@bury.gov.uk, 0161 234 5678
Type of other agency: School
Designated safeguarding lead aware of this notice? Yes / No - Yes
Stage reached so far: Stage 2
Summary of disagreement: The school has not shared
attendance concerns with us.

We asked twice in writing.
Desired outcome:
Weekly attendance data.

Kind regards,
Jane Smith
Social Worker
"""


def test_label_value_lines_in_a_plain_body_are_read():
    reading = read_email_form(PLAIN, None)
    assert reading.values() == {
        "date_of_notification": date(2026, 3, 2), "child_name": "Sam O'Neill",
        "child_dob": date(2015, 7, 14), "referrer_name": "Jane Smith",
        "referrer_role": "Social worker", "referrer_agency": "Bury Children's Services",
        "referrer_email": "jane.smith@bury.gov.uk", "referrer_phone": "0161 234 5678",
        "other_agency_type": AgencyType.SCHOOL, "safeguarding_lead_aware": True,
        "stage_reached": 2,
        "summary": "The school has not shared\nattendance concerns with us.\n\n"
                   "We asked twice in writing.",
        "desired_outcome": "Weekly attendance data.",
    }
    assert reading.source == "email"


def test_a_multi_line_value_runs_until_the_next_label_and_stops_at_the_sign_off():
    reading = read_email_form("Summary: one\ntwo\nChild's name: Kim\n\nThanks,\nJo", None)
    assert reading.value("summary") == "one\ntwo"
    assert reading.value("child_name") == "Kim"


def test_a_short_answer_ends_at_a_blank_line():
    reading = read_email_form("Child's name: Kim\n\nI hope this is all you need.", None)
    assert reading.value("child_name") == "Kim"


HTML = """<html><head><style>p {color: red}</style></head><body>
<p>Dear team,</p>
<p><b>Child&#39;s name:</b> Robin&nbsp;Hood<br>Date of birth: 1/2/2016</p>
<table><tr><td>Referrer&rsquo;s name</td><td>Ann Lee</td></tr>
<tr><td><p>Summary of disagreement</p></td><td><p>First para.</p><p>Second para.</p></td></tr>
</table><div>Is the child at immediate risk? No</div></body></html>"""


def test_an_html_only_message_is_read_including_answers_in_a_table():
    reading = read_email_form(None, HTML)
    assert reading.values() == {
        "child_name": "Robin Hood", "child_dob": date(2016, 2, 1), "referrer_name": "Ann Lee",
        "summary": "First para.\n\nSecond para.", "immediate_risk": False}


def test_the_html_body_is_used_when_the_plain_one_holds_no_fields():
    reading = read_email_form("This message is best viewed in HTML.", HTML)
    assert reading.value("child_name") == "Robin Hood"


def test_the_plain_body_is_preferred_when_it_holds_the_fields():
    reading = read_email_form("Child's name: Kim", HTML)
    assert reading.value("child_name") == "Kim"


def test_a_forwarded_form_quoted_with_markers_is_read():
    text = "FYI\n\n> Child's name: Kim\n> Summary of disagreement: a\n> b\n"
    reading = read_email_form(text, None)
    assert reading.value("child_name") == "Kim" and reading.value("summary") == "a\nb"


def test_unreadable_answers_are_errors_named_by_field():
    reading = read_email_form("Date of birth: 31/02/2016\nLooked after: perhaps", None)
    assert set(reading.errors) == {"child_dob", "looked_after"}


def test_a_message_without_any_field_reads_as_empty():
    reading = read_email_form("Hi, can we talk about Sam tomorrow?", None)
    assert reading.values() == {} and not reading.errors
    assert read_email_form(None, None).values() == {}


def test_script_and_style_text_is_not_read_from_html():
    text = html_to_text("<style>Child's name: X</style><script>a</script><p>Child's name: Y</p>")
    assert "X" not in text and "Child's name: Y" in text
