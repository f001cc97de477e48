"""The Request for Resolution as the domain sees it: a frozen value object.

Intake builds one from a Word form or a structured email (contract section 5); the case
engine opens a case from it. Nothing here knows where the values came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class AgencyType(StrEnum):
    """The kinds of agency Birmingham's ladder (and the form) distinguishes."""

    CHILDRENS_SOCIAL_CARE = "childrens_social_care"
    SCHOOL = "school"
    HEALTH = "health"
    POLICE = "police"
    SELF_EMPLOYED = "self_employed"
    VOLUNTARY = "voluntary"
    OTHER = "other"


@dataclass(frozen=True)
class Person:
    """Someone who holds a role on a case or in a partnership."""

    name: str
    email: str

    def formatted(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


@dataclass(frozen=True)
class Referral:
    """Every field of the Request for Resolution form; unknown answers are None or ''."""

    child_name: str
    referrer_name: str
    referrer_email: str
    summary: str
    child_dob: date | None = None
    date_of_notification: date | None = None
    referrer_role: str = ""
    referrer_agency: str = ""
    referrer_phone: str = ""
    referrer_agency_type: AgencyType | None = None
    safeguarding_lead_aware: bool | None = None
    safeguarding_lead_name: str = ""
    safeguarding_lead_email: str = ""
    other_agency: str = ""
    other_agency_contact_name: str = ""
    other_agency_contact_email: str = ""
    other_agency_type: AgencyType | None = None
    disagreement_category: str = ""
    child_protection_plan: bool | None = None
    looked_after: bool | None = None
    immediate_risk: bool | None = None
    stage_reached: int | None = None
    earlier_stages_evidence: str = ""
    desired_outcome: str = ""
    # What a referral to the partnership's final stage sets out (City & Hackney 2.13).
    actions_to_date: str = ""
    referral_rationale: str = ""
    # The stage 3 and stage 4 rows of Bury's outcome table (Appendix 1).
    stage_3_outcome_date: date | None = None
    stage_3_evidence: str = ""
    stage_4_outcome_date: date | None = None
    stage_4_final_decision: str = ""
    # Free-text answers the form had that match no field above, kept so nothing is lost.
    extra: tuple[tuple[str, str], ...] = field(default=())

    @property
    def agency_types(self) -> frozenset[AgencyType]:
        """The types of the agencies involved, as far as the form says."""
        return frozenset(t for t in (self.referrer_agency_type, self.other_agency_type) if t)

    @property
    def agencies_of_unknown_type(self) -> tuple[str, ...]:
        """The agencies involved whose type the form leaves blank, in words."""
        unknown = [("the referrer's agency", self.referrer_agency_type),
                   ("the other agency", self.other_agency_type)]
        return tuple(name for name, kind in unknown if kind is None)
