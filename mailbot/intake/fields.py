"""The Request for Resolution field catalogue: keys, labels, tolerant aliases and value parsing.

Both form readers (Word and email) find answers by label (``field_labels`` says which field a
label names) and hand the raw text here, which turns it into a typed value for the ``Referral``
(contract section 5). Field keys are the attribute names of ``mailbot.domain.referral.Referral``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mailbot.domain.referral import AgencyType
from mailbot.domain.text import printable
from mailbot.intake.field_values import (  # noqa: F401  (re-exported for the readers)
    EMAIL_RE,
    PHONE_RE,
    parse_agency_type,
    parse_email,
    parse_stage,
    parse_uk_date,
    parse_yes_no,
    split_contact,
    strip_email,
    unmarked,
)


class Kind(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    DATE = "date"
    YES_NO = "yes_no"
    AGENCY_TYPE = "agency_type"
    STAGE = "stage"
    EMAIL = "email"
    PHONE = "phone"


# Python 3.11 reads an enum member from its class through EnumType's __getattr__ hook, about a
# thousand instructions a time; the readers ask an answer's kind a few hundred times a form,
# so they compare it with these (issue 18).
LONG_TEXT, DATE, YES_NO = Kind.LONG_TEXT, Kind.DATE, Kind.YES_NO
AGENCY_TYPE, STAGE, EMAIL = Kind.AGENCY_TYPE, Kind.STAGE, Kind.EMAIL


@dataclass(frozen=True)
class FieldSpec:
    """One field of the form: its key, the label our own forms print, and other wordings."""

    key: str
    label: str
    kind: Kind = Kind.TEXT
    aliases: tuple[str, ...] = ()
    hint: str = ""


_YES_NO_HINT = "answer Yes or No"
_DATE_HINT = "write the date as day/month/year, for example 14/03/2016"
AGENCY_TYPE_LABELS: dict[AgencyType, str] = {
    AgencyType.CHILDRENS_SOCIAL_CARE: "Children's social care",
    AgencyType.SCHOOL: "School",
    AgencyType.HEALTH: "Health",
    AgencyType.POLICE: "Police",
    AgencyType.SELF_EMPLOYED: "Self-employed",
    AgencyType.VOLUNTARY: "Voluntary",
    AgencyType.OTHER: "Other",
}
_AGENCY_HINT = "choose one of: " + ", ".join(AGENCY_TYPE_LABELS.values())

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("date_of_notification", "Date of notification", Kind.DATE,
              ("date", "date of referral", "date of request", "notification date",
               "date submitted", "date of this notice"), _DATE_HINT),
    FieldSpec("child_name", "Child's name", Kind.TEXT,
              ("name of child/young person", "name of child or young person", "name of child",
               "child name", "name of the child", "child/young person", "child or young person",
               "young person's name", "child's full name", "name of young person",
               "child/young person's name", "child")),
    FieldSpec("child_dob", "Child's date of birth", Kind.DATE,
              ("d.o.b", "date of birth", "child dob", "child's d.o.b", "child's dob",
               "child date of birth", "birth date", "date of birth of child"), _DATE_HINT),
    FieldSpec("referrer_name", "Referrer's name", Kind.TEXT,
              ("referrer", "name of referrer", "referrer name", "your name", "referred by",
               "referrer's full name")),
    FieldSpec("referrer_role", "Referrer's role", Kind.TEXT,
              ("referrer role", "your role", "job title", "role of referrer")),
    FieldSpec("referrer_agency", "Referrer's agency/team", Kind.TEXT,
              ("referrer agency", "referrer's agency", "your agency", "your agency/team",
               "referrer's team", "organisation", "your organisation", "agency and team")),
    FieldSpec("referrer_email", "Referrer's email", Kind.EMAIL,
              ("referrer email", "your email", "referrer's email address",
               "your email address", "email of referrer")),
    FieldSpec("referrer_phone", "Referrer's phone", Kind.PHONE,
              ("referrer phone", "your phone", "referrer's telephone", "your telephone",
               "referrer's phone number", "your phone number")),
    FieldSpec("referrer_agency_type", "Type of referrer's agency", Kind.AGENCY_TYPE,
              ("referrer agency type", "referrer's agency type", "your agency type",
               "type of your agency", "agency type", "type of agency"), _AGENCY_HINT),
    FieldSpec("safeguarding_lead_aware", "Designated safeguarding lead aware of this notice?",
              Kind.YES_NO,
              ("safeguarding lead aware", "is your safeguarding lead aware", "dsl aware",
               "designated safeguarding lead aware", "safeguarding lead aware of this notice",
               "is the designated safeguarding lead aware"), _YES_NO_HINT),
    FieldSpec("safeguarding_lead_name", "Name of safeguarding lead", Kind.TEXT,
              ("safeguarding lead", "safeguarding lead name", "safeguarding lead's name",
               "name of designated safeguarding lead", "designated safeguarding lead", "dsl",
               "dsl name", "name of dsl")),
    FieldSpec("safeguarding_lead_email", "Safeguarding lead's email", Kind.EMAIL,
              ("safeguarding lead email", "safeguarding lead's email address", "dsl email",
               "email of safeguarding lead", "designated safeguarding lead email")),
    FieldSpec("other_agency", "Other agency", Kind.TEXT,
              ("other agency/team", "other agency involved", "name of other agency",
               "agency you disagree with", "agency the disagreement is with",
               "agency disagreement is with", "other agency name")),
    FieldSpec("other_agency_contact_name", "Other agency contact", Kind.TEXT,
              ("other agency contact name", "other agency contact's name",
               "contact at other agency", "contact in other agency", "other agency worker",
               "other agency's contact")),
    FieldSpec("other_agency_contact_email", "Other agency contact's email", Kind.EMAIL,
              ("other agency contact email", "other agency email",
               "other agency contact's email address", "other agency's contact email")),
    FieldSpec("other_agency_type", "Type of other agency", Kind.AGENCY_TYPE,
              ("other agency type", "other agency's type", "type of the other agency"),
              _AGENCY_HINT),
    FieldSpec("disagreement_category", "Category of disagreement", Kind.TEXT,
              ("disagreement category", "type of disagreement", "nature of disagreement",
               "category", "area of disagreement", "category of the disagreement")),
    FieldSpec("child_protection_plan", "Is the child subject to a Child Protection Plan?",
              Kind.YES_NO,
              ("child protection plan", "subject to a child protection plan", "cp plan", "cpp",
               "on a child protection plan", "child subject to a child protection plan",
               "is the child on a child protection plan"), _YES_NO_HINT),
    FieldSpec("looked_after", "Is the child Looked After?", Kind.YES_NO,
              ("looked after", "looked after child", "cla", "lac", "child looked after",
               "is the child a looked after child", "is the child looked after by the local "
               "authority"), _YES_NO_HINT),
    FieldSpec("immediate_risk", "Is the child at immediate risk?", Kind.YES_NO,
              ("immediate risk", "at immediate risk", "child at immediate risk",
               "is the child at immediate risk of harm", "immediate risk of harm"),
              _YES_NO_HINT),
    FieldSpec("stage_reached", "Stage reached so far", Kind.STAGE,
              ("stage reached", "current stage", "level reached", "stage of escalation",
               "escalation stage", "highest stage reached", "stage reached so far (1-4)"),
              "give the stage number, for example 2"),
    FieldSpec("summary", "Summary of disagreement", Kind.LONG_TEXT,
              ("summary of the disagreement", "summary", "disagreement",
               "details of disagreement", "details of the disagreement",
               "reason for escalation")),
    FieldSpec("earlier_stages_evidence",
              "Evidence of the challenge that has taken place at stages 1, 2 & 3 and the "
              "outcome at each stage", Kind.LONG_TEXT,
              ("evidence of the challenge", "evidence of challenge", "evidence of earlier stages",
               "earlier stages", "outcome at each stage", "evidence",
               "evidence of the challenge at earlier stages")),
    FieldSpec("desired_outcome",
              "Desired outcome for the child and / or family", Kind.LONG_TEXT,
              ("desired outcome", "outcome sought", "desired outcome for the child",
               "desired outcome for the child and family", "what outcome are you seeking")),
    FieldSpec("actions_to_date", "Actions taken to date", Kind.LONG_TEXT,
              ("actions to date", "action taken to date", "actions taken so far",
               "the actions taken to date", "details of the actions taken to date",
               "what has been done so far", "action taken so far", "actions taken")),
    FieldSpec("referral_rationale", "Rationale for referring to the partnership", Kind.LONG_TEXT,
              ("rationale for the involvement of the icsc", "rationale for involving the icsc",
               "the rationale for the involvement of the icsc", "rationale for referral",
               "rationale for the referral", "rationale", "reason for referral",
               "rationale for the involvement of the independent chair",
               "rationale for involving the independent chair",
               "rationale for the involvement of the partnership")),
    FieldSpec("stage_3_outcome_date", "Stage 3: date outcome resolved", Kind.DATE,
              ("stage 3 date outcome resolved",), _DATE_HINT),
    FieldSpec("stage_3_evidence", "Stage 3: supporting evidence", Kind.LONG_TEXT,
              ("stage 3 supporting evidence",)),
    FieldSpec("stage_4_outcome_date", "Stage 4: date outcome resolved", Kind.DATE,
              ("stage 4 date outcome resolved",), _DATE_HINT),
    FieldSpec("stage_4_final_decision", "Stage 4: final decision", Kind.LONG_TEXT,
              ("stage 4 final decision",)),
)

FIELD_BY_KEY: dict[str, FieldSpec] = {f.key: f for f in FIELDS}

def parse_value(key: str, raw: str) -> object:
    """The typed value of one field's raw answer; ValueError says why it cannot be read."""
    kind = FIELD_BY_KEY[key].kind
    text = printable(raw).strip()
    if kind is DATE:
        return parse_uk_date(text) if text else None
    if kind is YES_NO:
        return parse_yes_no(text)
    if kind is STAGE:
        return parse_stage(text) if text else None
    if kind is EMAIL:
        return parse_email(text) if text else ""
    if kind is AGENCY_TYPE:
        return parse_agency_type(text)
    if kind is LONG_TEXT:
        # A list, not a generator: join() makes one of a generator first, at a cost per line.
        return "\n".join([line.rstrip() for line in text.splitlines()]).strip()
    return " ".join(text.split())
