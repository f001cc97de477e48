"""Validation: a Referral when the few required answers are there, else a reply naming them."""

from datetime import date

import form_samples as S
import pytest

from mailbot.domain.referral import Referral
from mailbot.intake.docx_form import read_form_attachment
from mailbot.intake.email_form import read_email_form
from mailbot.intake.form_validation import REFERRER_CONTACT, validate

COMPLETE = ("Child's name: Kim Lee\nReferrer's name: Jo Bloggs\n"
            "Summary of disagreement: We disagree about the threshold.\n")


def test_a_complete_reading_becomes_a_referral():
    result = validate(read_email_form(COMPLETE, None), sender_email="jo@agency.example")
    assert isinstance(result.referral, Referral)
    assert result.referral.child_name == "Kim Lee"
    assert result.ok and result.problems == [] and result.reply_text == ""


def test_the_referrers_address_comes_from_the_sender_when_the_form_has_none():
    result = validate(read_email_form(COMPLETE, None), sender_email="jo@agency.example")
    assert result.referral.referrer_email == "jo@agency.example"


def test_a_policy_requiring_the_referrers_email_takes_the_senders_when_the_form_has_none():
    required = ["child_name", "referrer_name", "referrer_email", "summary"]
    result = validate(read_email_form(COMPLETE, None), required=required,
                      sender_email="jo@agency.example")
    assert result.ok and result.referral.referrer_email == "jo@agency.example"
    unreachable = validate(read_email_form(COMPLETE, None), required=required, sender_email="")
    assert unreachable.problems == ["Referrer's email is missing"]


def test_the_address_on_the_form_wins_over_the_sender():
    text = COMPLETE + "Referrer's email: jo.bloggs@agency.example\n"
    result = validate(read_email_form(text, None), sender_email="shared@agency.example")
    assert result.referral.referrer_email == "jo.bloggs@agency.example"


def test_a_phone_number_is_a_way_to_reach_the_referrer_too():
    text = COMPLETE + "Referrer's phone: 0161 111 2222\n"
    result = validate(read_email_form(text, None), sender_email="")
    assert result.ok and result.referral.referrer_phone == "0161 111 2222"


def test_missing_required_answers_are_each_named_in_the_reply():
    result = validate(read_email_form("Referrer's name: Jo", None), sender_email="")
    assert result.referral is None
    assert result.problems == ["Child's name is missing",
                               "A way to reach the referrer (their email or phone number) is "
                               "missing", "Summary of disagreement is missing"]
    for problem in result.problems:
        assert problem in result.reply_text


def test_an_unreadable_answer_is_a_problem_even_in_a_field_that_is_not_required():
    text = COMPLETE + "Date of birth: 31/02/2015\n"
    result = validate(read_email_form(text, None), sender_email="jo@agency.example")
    assert result.referral is None
    assert result.problems == ['Child\'s date of birth: "31/02/2015" is not a real date; write '
                               "the date as day/month/year, for example 14/03/2016"]
    assert "31/02/2015" in result.reply_text


def test_warned_fields_are_only_warnings():
    result = validate(read_email_form(COMPLETE, None), sender_email="jo@agency.example",
                      warned=["child_dob", "other_agency"])
    assert result.ok
    assert result.warnings == ["Child's date of birth was not given", "Other agency was not given"]


def test_a_policy_may_require_more_fields():
    result = validate(read_email_form(COMPLETE, None), sender_email="jo@agency.example",
                      required=["child_name", REFERRER_CONTACT, "immediate_risk"])
    assert result.problems == ["Is the child at immediate risk is missing"]


def test_an_unknown_required_field_is_a_programming_error():
    with pytest.raises(KeyError):
        validate(read_email_form(COMPLETE, None), required=["shoe_size"])


def test_the_hand_filled_bury_form_becomes_a_referral_with_every_answer():
    result = validate(read_form_attachment(S.bury_by_hand()), sender_email="x@y.example")
    referral = result.referral
    assert referral.child_dob == date(2015, 7, 14)
    assert referral.referrer_email == "jane.smith@bury.gov.uk"
    assert referral.safeguarding_lead_aware is True
    assert referral.earlier_stages_evidence.startswith("Stage 1: email to class teacher")


def test_a_blank_form_gets_a_reply_listing_everything_required():
    reading = read_form_attachment(S.bury_by_hand({k: "" for k in (
        "date", "child", "dob", "name", "role", "agency", "contact", "summary", "evidence",
        "outcome")}))
    result = validate(reading, sender_email="")
    assert len(result.problems) == 4
    assert result.reply_text.startswith("Thank you for your Request for Resolution.")


def test_by_default_the_referrer_is_warned_only_about_boxes_every_partnerships_form_has():
    # Bury's Appendix 1 has no "other agency" box, so its absence is nothing to warn about.
    reading = read_email_form("Child's name: Sam\nReferrer's name: Jo\nReferrer's email: jo@a.example\n"
                              "Summary of disagreement: x\n", "")
    assert not any("Other agency" in w for w in validate(reading).warnings)


ARRIVED = date(2026, 12, 4)


@pytest.mark.parametrize(("written", "born"), [
    ("01/02/69", date(1969, 2, 1)),  # read as 2069 before: a child not yet born
    ("1 Feb 69", date(1969, 2, 1)),
    ("01/02/15", date(2015, 2, 1)),  # this century's when that is not in the future
    ("04/12/26", date(2026, 12, 4)),  # born the day the referral arrived
    ("05/12/26", date(1926, 12, 5)),  # a day later would be the future
    ("01/02/1969", date(1969, 2, 1)),
])
def test_a_date_of_birth_with_a_two_digit_year_is_never_in_the_future(written, born):
    text = COMPLETE + f"Child's date of birth: {written}\n"
    result = validate(read_email_form(text, None), sender_email="jo@agency.example", today=ARRIVED)
    assert result.referral.child_dob == born
    assert not [w for w in result.warnings if "after today" in w]


def test_a_date_of_birth_written_in_full_after_today_is_kept_and_questioned():
    text = COMPLETE + "Child's date of birth: 01/02/2031\n"
    result = validate(read_email_form(text, None), sender_email="jo@agency.example", today=ARRIVED)
    assert result.referral.child_dob == date(2031, 2, 1)
    assert "Child's date of birth is after today (01 February 2031); please check it" in result.warnings
