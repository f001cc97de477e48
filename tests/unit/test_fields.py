"""The field catalogue: tolerant labels and the typing of written answers."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.domain.referral import AgencyType, Referral
from mailbot.intake import field_labels as L
from mailbot.intake import fields as F


def test_every_field_key_is_an_attribute_of_the_referral():
    attributes = set(Referral.__dataclass_fields__) - {"extra"}
    assert {spec.key for spec in F.FIELDS} == attributes


@pytest.mark.parametrize(("label", "key"), [
    ("Name of Child/Young Person", "child_name"),
    ("Child's name", "child_name"),
    ("Child’s Name:", "child_name"),
    ("CHILD NAME", "child_name"),
    ("D.O.B", "child_dob"),
    ("Date of birth:", "child_dob"),
    ("DOB", "child_dob"),
    ("Date of Notification", "date_of_notification"),
    ("Agency/Team", "referrer_agency"),
    ("Agency / Team", "referrer_agency"),
    ("\nDesignated safeguarding lead aware of this notice?", "safeguarding_lead_aware"),
    ("Name of safeguarding lead:", "safeguarding_lead_name"),
    ("Evidence of the challenge that has taken place at stages 1, 2 & 3 and the outcome at "
     "each stage", "earlier_stages_evidence"),
    ("Desired outcome for the child and / or family. Please include details of what it is you "
     "are requesting happens as a result of this challenge", "desired_outcome"),
    ("Summary of disagreement", "summary"),
    ("Contact Details", L.CONTACT),
    ("Is the child subject to a Child Protection Plan?", "child_protection_plan"),
    ("stage_reached", "stage_reached"),
])
def test_labels_are_matched_whatever_their_case_punctuation_and_wording(label, key):
    assert L.match_label(label) == key


@pytest.mark.parametrize("text", ["Stage", "Date Outcome Resolved", "Supporting Evidence",
                                  "Final decision of", "Stage 3", "Hello there"])
def test_words_of_the_bury_stage_table_are_not_taken_for_labels(text):
    assert L.match_label(text) is None


def test_a_generic_label_means_the_field_of_the_section_it_is_in():
    assert L.match_label("Name") == "referrer_name"
    assert L.match_label("Name", "other_agency") == "other_agency_contact_name"
    assert L.match_label("Email", "safeguarding_lead") == "safeguarding_lead_email"
    assert L.section_of_heading("Outcome Resolution Notice Referrer details:") == "referrer"
    assert L.section_of_heading("The other agency") == "other_agency"


@pytest.mark.parametrize(("text", "expected"), [
    ("14/03/2016", date(2016, 3, 14)),
    ("14-3-16", date(2016, 3, 14)),
    ("14.03.2016", date(2016, 3, 14)),
    ("14 March 2016", date(2016, 3, 14)),
    ("14th Mar 2016", date(2016, 3, 14)),
    ("Monday 14th of March 2016", date(2016, 3, 14)),
    ("March 14, 2016", date(2016, 3, 14)),
    ("2016-03-14", date(2016, 3, 14)),
    ("2016-03-14T00:00:00Z", date(2016, 3, 14)),
    ("1/2/99", date(1999, 2, 1)),
])
def test_uk_dates_in_their_common_written_forms_become_dates(text, expected):
    assert F.parse_uk_date(text) == expected


@pytest.mark.parametrize("text", ["31/02/2016", "12/31/2016", "30 February 2020", "0/1/2020"])
def test_an_impossible_date_is_an_error_not_a_guess(text):
    with pytest.raises(ValueError, match="not a real date"):
        F.parse_uk_date(text)


def test_text_that_is_no_date_is_an_error():
    with pytest.raises(ValueError, match="not a date"):
        F.parse_uk_date("last Tuesday")


@pytest.mark.parametrize(("text", "expected"), [
    ("Yes", True), ("no", False), ("Y", True), ("N", False),
    ("  Yes / No", None),  # the printed pair left untouched is no answer
    ("Yes /", True), ("/ No", False),  # one word deleted
    ("Yes / No   Yes", True), ("Yes / No - No", False), ("Yes / No: no", False),
    ("☒ Yes ☐ No", True), ("☐ Yes ☒ No", False), ("☒", True), ("☐", False),
    ("Yes, spoke to her on Monday", True), ("No, not yet", False),
    ("n/a", None), ("Unknown", None), ("", None),
])
def test_yes_no_answers_become_booleans(text, expected):
    assert F.parse_yes_no(text) is expected


def test_an_answer_that_is_neither_yes_nor_no_is_an_error():
    with pytest.raises(ValueError, match="neither Yes nor No"):
        F.parse_yes_no("maybe later")


@pytest.mark.parametrize(("text", "expected"), [
    ("Children's social care", AgencyType.CHILDRENS_SOCIAL_CARE),
    ("Bury Children's Services", AgencyType.CHILDRENS_SOCIAL_CARE),
    ("St Mary's Primary School", AgencyType.SCHOOL),
    ("NHS health visiting", AgencyType.HEALTH),
    ("Greater Manchester Police", AgencyType.POLICE),
    ("Self-employed", AgencyType.SELF_EMPLOYED),
    ("A local charity", AgencyType.VOLUNTARY),
    ("Other", AgencyType.OTHER),
    ("childrens_social_care", AgencyType.CHILDRENS_SOCIAL_CARE),
    ("Childrens Social Care", AgencyType.CHILDRENS_SOCIAL_CARE),
    ("SELF_EMPLOYED", AgencyType.SELF_EMPLOYED),
    ("Housing association", None),
])
def test_agency_type_words_become_agency_types(text, expected):
    assert F.parse_agency_type(text) is expected


@pytest.mark.parametrize(("text", "expected"), [
    ("2", 2), ("Stage 3", 3), ("Level two", 2), ("stages 1, 2 & 3", 3), ("Stage II", 2)])
def test_the_stage_reached_is_the_highest_stage_mentioned(text, expected):
    assert F.parse_stage(text) == expected


def test_a_stage_answer_without_a_number_is_an_error():
    with pytest.raises(ValueError):
        F.parse_stage("not sure yet")


def test_a_contact_box_is_split_into_email_and_phone():
    assert F.split_contact("jane@bury.gov.uk, 0161 234 5678") == ("jane@bury.gov.uk",
                                                                   "0161 234 5678")
    assert F.split_contact("Tel: 07700 900123") == ("", "07700 900123")


def test_parse_value_types_each_field_by_its_kind():
    assert F.parse_value("child_dob", " 1/2/2015 ") == date(2015, 2, 1)
    assert F.parse_value("child_name", "  Sam   Smith ") == "Sam Smith"
    assert F.parse_value("summary", "line one  \nline two") == "line one\nline two"
    assert F.parse_value("referrer_email", "Jane <jane@x.org>") == "jane@x.org"
    with pytest.raises(ValueError):
        F.parse_value("referrer_email", "call me")


def test_every_agency_type_is_read_from_its_own_name_with_or_without_underscores():
    for value in AgencyType:
        assert F.parse_agency_type(value.value) is value
        assert F.parse_agency_type(value.value.replace("_", " ").title()) is value


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(
    "aZ9 _&'/.:-\n\u2019\u0301\u0308\u00e9\u1100\u1161\u11a8\ufb01\u0130\uff41\u0338"
    "\u3099\u304b\ud800"), max_size=120))
def test_a_text_judged_too_long_for_a_label_is_too_long_once_normalised(text):
    # Long answers are turned away without normalising them; the shortcut may only say "too
    # long" when normalising would have said so too.
    for limit in (0, 5, 80, 200):
        if L._surely_longer(text, limit):
            assert len(L.normalise_label(text)) > limit


def test_a_long_answer_is_neither_a_heading_nor_a_label():
    summary = "The referrer's school has not shared the other agency's attendance data.\n" * 12
    assert L.section_of_heading(summary) is None
    assert L.match_label(summary) is None
    assert L.match_label("Child's name" + " " * 400) == "child_name"
    assert L.section_of_heading("Referrer details" + "\u00a0" * 400) == "referrer"
