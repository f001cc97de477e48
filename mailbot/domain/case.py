"""A case and its record: the state one escalation is in, and every event that led there.

``Case`` is plain state; ``CaseEngine`` (in ``engine``) is what changes it under a policy.
History is append-only: events are added, never edited or removed, and the store writes
only the events a unit of work added.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from mailbot.domain.conditions import CaseFacts
from mailbot.domain.referral import Person, Referral


class CaseStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    DECIDED = "decided"
    WITHDRAWN = "withdrawn"


class EventKind(StrEnum):
    """What happened, in the past tense."""

    CASE_OPENED = "CaseOpened"
    ESCALATED = "Escalated"
    MOVED_TO_STAGE = "MovedToStage"
    FOLLOW_ON_STARTED = "FollowOnStarted"
    OUTCOME_RECORDED = "OutcomeRecorded"
    DECISION_RECORDED = "DecisionRecorded"
    DEADLINE_EXTENDED = "DeadlineExtended"
    PERSON_ASSIGNED = "PersonAssigned"
    NOTE_ADDED = "NoteAdded"
    CASE_WITHDRAWN = "CaseWithdrawn"
    CASE_ACCEPTED = "CaseAccepted"
    CORRESPONDENCE_FILED = "CorrespondenceFiled"
    REMINDER_SENT = "ReminderSent"
    DUE_TODAY_SENT = "DueTodaySent"
    DEADLINE_MISSED = "DeadlineMissed"
    COMMAND_REFUSED = "CommandRefused"
    BOUNCE_RECEIVED = "BounceReceived"
    CASE_ANONYMISED = "CaseAnonymised"


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: EventKind
    actor: str
    text: str
    stage: int
    source_message_id: str | None = None


@dataclass
class Case:
    reference: str
    policy_key: str
    referral: Referral
    opened_at: datetime
    stage: int
    stage_entered_at: datetime
    deadline: datetime | None
    phase: int = 0
    deadline_started_at: datetime | None = None  # when the current deadline was set
    status: CaseStatus = CaseStatus.OPEN
    parties: dict[str, list[Person]] = field(default_factory=dict)
    chase_points_passed: int = 0
    next_chase_at: datetime | None = None
    history: list[Event] = field(default_factory=list)
    outcome: str = ""
    decision: str = ""
    closed_at: datetime | None = None
    # Who sent the referral (its From address), and when the business managers vouched for the
    # people it names: until then, mail to addresses the partnership has not seen is held.
    submitted_by: str = ""
    accepted_at: datetime | None = None
    anonymised_at: datetime | None = None  # personal data removed (services/retention.py)

    @property
    def is_open(self) -> bool:
        return self.status is CaseStatus.OPEN

    @property
    def facts(self) -> CaseFacts:
        r = self.referral
        return CaseFacts(
            agency_types=r.agency_types,
            child_protection_plan=bool(r.child_protection_plan),
            looked_after=bool(r.looked_after),
            immediate_risk=bool(r.immediate_risk),
            agencies_of_unknown_type=r.agencies_of_unknown_type,
        )

    @property
    def referrer(self) -> Person:
        return Person(self.referral.referrer_name, self.referral.referrer_email)

    def record(self, event: Event) -> None:
        self.history.append(event)

    def people_in(self, role: str) -> tuple[Person, ...]:
        return tuple(self.parties.get(role, ()))

    def add_person(self, role: str, person: Person) -> bool:
        """Adds ``person`` to ``role``; False if they already hold it."""
        holders = self.parties.setdefault(role, [])
        if any(p.email.lower() == person.email.lower() for p in holders):
            return False
        holders.append(person)
        return True

    def everyone(self) -> tuple[Person, ...]:
        """Every case-level person: the agencies involved and the referrer."""
        people = [self.referrer]
        for holders in self.parties.values():
            people.extend(holders)
        return tuple(people)


def parties_from_referral(referral: Referral) -> dict[str, list[Person]]:
    """The case-level people a form names, by role key (contract section 6)."""
    parties: dict[str, list[Person]] = {"practitioner": []}
    if referral.referrer_email:
        parties["practitioner"].append(Person(referral.referrer_name, referral.referrer_email))
    if referral.other_agency_contact_email:
        parties["practitioner"].append(
            Person(referral.other_agency_contact_name, referral.other_agency_contact_email))
    if referral.safeguarding_lead_email:
        parties["safeguarding_lead"] = [
            Person(referral.safeguarding_lead_name, referral.safeguarding_lead_email)]
    return {role: people for role, people in parties.items() if people}
