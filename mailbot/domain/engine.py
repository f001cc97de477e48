"""The case engine: every change a case can undergo, decided under one partnership's policy.

Opening, deadlines, people and the record are here; moving between stages is
``stage_moves``'s, closing ``case_closing``'s, the deadline pass ``deadline_pass``'s.

Each method changes the ``Case`` in memory, appends the events that happened, and returns
the ``Notice`` values that must go out. A change the policy forbids raises
``CaseRuleRefused`` with a reason a business manager can read, and leaves the case as it
was. ``now`` is always an argument: the engine never reads a clock.
"""

from __future__ import annotations

import difflib
from datetime import datetime

from mailbot.domain.audience import Audience, moment_key
from mailbot.domain.case import Case, Event, EventKind, parties_from_referral
from mailbot.domain.case_closing import CaseClosing
from mailbot.domain.case_rules import require_open, require_text, with_reason
from mailbot.domain.deadline_pass import SYSTEM, DeadlinePass
from mailbot.domain.errors import CaseRuleRefused
from mailbot.domain.notice_contexts import (
    BounceFacts,
    DeadlineChangeFacts,
    OpeningFacts,
    StageNoticeFacts,
)
from mailbot.domain.notices import (
    Attachment,
    Notice,
    Partnership,
    Template,
)
from mailbot.domain.opening import entry_words, opening_text
from mailbot.domain.policy import NoticeMoment, Policy, TimeUnit
from mailbot.domain.referral import Person, Referral
from mailbot.domain.stage_moves import StageMoves
from mailbot.domain.timescales import Timescales
from mailbot.domain.working_days import WorkingCalendar


class CaseEngine:
    def __init__(self, policy: Policy, calendar: WorkingCalendar, partnership: Partnership):
        self.policy, self.calendar, self.partnership = policy, calendar, partnership
        self.audience = Audience(policy, partnership)
        self.timescales = Timescales(policy, calendar)
        self.deadlines = DeadlinePass(policy, calendar, partnership, self.audience)
        self.moves = StageMoves(policy, partnership, self.audience, self.deadlines)
        self.closing = CaseClosing(policy, partnership, self.audience)

    # --- opening -----------------------------------------------------------------------

    def open_case(self, referral: Referral, reference: str, now: datetime,
                  source_message_id: str | None = None,
                  warnings: tuple[str, ...] = (),
                  submitted_by: str = "") -> tuple[Case, list[Notice]]:
        """A new case at the stage the referral states, else where the policy sends referrals
        to the partnership (its entry stage), else the first stage.

        ``warnings`` (answers the form should have given) go to the referrer and the
        business managers, and into the record. ``submitted_by`` is the referral's sender."""
        stage = self.policy.opening_stage(referral.stage_reached)
        case = Case(reference=reference, policy_key=self.policy.key, referral=referral,
                    opened_at=now, stage=stage.number, stage_entered_at=now, deadline=None,
                    parties=parties_from_referral(referral), submitted_by=submitted_by.lower())
        self._set_deadline(case, stage.number, 0, now)
        case.record(Event(now, EventKind.CASE_OPENED, referral.referrer_email or SYSTEM,
                          opening_text(self.policy, case, warnings), stage.number,
                          source_message_id))
        extra = OpeningFacts(**self.audience.stage_fields(case), warnings=list(warnings),
                             entry_words=entry_words(self.policy, case),
                             routing_questions=self.audience.routing_questions(case))
        notices = [self.audience.acknowledgement(case, source_message_id, extra),
                   self.audience.new_case(case, extra)]
        notices += self.audience.stage_notices(case, why="")
        return case, notices + self.audience.passed_over_notices(case, below=0)

    # --- moving between stages ---------------------------------------------------------

    def escalate(self, case: Case, now: datetime, actor: str, reason: str = "",
                 source: str | None = None) -> list[Notice]:
        """To the stage's next phase if it has one, else to the next stage the policy allows."""
        return self.moves.escalate(case, now, actor, reason, source)

    def move_to_stage(self, case: Case, number: int, now: datetime, actor: str,
                      reason: str = "", source: str | None = None) -> list[Notice]:
        return self.moves.move_to_stage(case, number, now, actor, reason, source)

    # --- outcomes ----------------------------------------------------------------------

    def record_outcome(self, case: Case, outcome: str, now: datetime, actor: str,
                       source: str | None = None) -> list[Notice]:
        return self.closing.record_outcome(case, outcome, now, actor, source)

    def record_decision(self, case: Case, decision: str, now: datetime, actor: str,
                        source: str | None = None) -> list[Notice]:
        return self.closing.record_decision(case, decision, now, actor, source)

    def withdraw(self, case: Case, reason: str, now: datetime, actor: str,
                 source: str | None = None) -> list[Notice]:
        return self.closing.withdraw(case, reason, now, actor, source)

    # --- deadlines, people and the record ----------------------------------------------

    def extend(self, case: Case, days: int, now: datetime, actor: str, reason: str = "",
               source: str | None = None) -> list[Notice]:
        """EXTEND n: n working days later, within the policy's limit for a stage."""
        require_open(case)
        assert case.deadline is not None
        new, beyond = self.timescales.extended(case, days, reason)
        note = f"\n{beyond}" if beyond else ""
        return self._change_deadline(case, new, days, now, actor, reason, source, "extended",
                                     note)

    def shorten(self, case: Case, days: int, now: datetime, actor: str, reason: str = "",
                source: str | None = None) -> list[Notice]:
        """SHORTEN n: n working days sooner, for a timescale that protects the child."""
        require_open(case)
        assert case.deadline is not None
        new = self.timescales.shortened(case, days, now)
        return self._change_deadline(case, new, days, now, actor, reason, source,
                                     "brought forward")

    def _change_deadline(self, case: Case, new: datetime, days: int, now: datetime, actor: str,
                         reason: str, source: str | None, how: str, note: str = "") -> list[Notice]:
        assert case.deadline is not None
        old = case.deadline
        case.deadline = new
        case.deadline_started_at, case.chase_points_passed = now, 0
        self._reschedule(case)
        text = (f"Deadline for {self.policy.step_word} {case.stage} {how} by {days} working day"
                f"{'s' if days != 1 else ''}, from {old:%d %B %Y %H:%M} to"
                f" {new:%d %B %Y %H:%M}." + with_reason(reason) + note)
        case.record(Event(now, EventKind.DEADLINE_EXTENDED, actor, text, case.stage, source))
        people = self.audience.with_business_managers(self.audience.holders(case)[0])
        context = DeadlineChangeFacts(**self.audience.stage_fields(case), text=text,
                                      direction=how)
        return [Notice(Template.DEADLINE_EXTENDED, people, case.stage, key=moment_key(now),
                       context=context, attachments=(Attachment.STAGE_DEADLINE_ICS,)),
                *self.audience.rule_notices(case, NoticeMoment.DEADLINE_CHANGED,
                                            key=moment_key(now))]

    def assign(self, case: Case, role: str, person: Person, now: datetime, actor: str,
               source: str | None = None) -> list[Notice]:
        require_open(case)
        if role not in self.policy.roles:
            known = ", ".join(sorted(self.policy.roles))
            close = difflib.get_close_matches(role.lower().replace(" ", "_").replace("-", "_"),
                                              sorted(self.policy.roles), n=1, cutoff=0.6)
            hint = f" Did you mean ASSIGN {close[0]}: {person.formatted()}?" if close else ""
            raise CaseRuleRefused(f"The {self.policy.name} policy has no role {role!r}."
                                  f" Its roles are: {known}.{hint}")
        if not case.add_person(role, person):
            raise CaseRuleRefused(f"{person.formatted()} already holds the role"
                                  f" {self.policy.role_name(role)} on {case.reference}.")
        case.record(Event(now, EventKind.PERSON_ASSIGNED, actor,
                          f"{person.formatted()} named as {self.policy.role_name(role)}.",
                          case.stage, source))
        if role not in self.policy.roles_at(case.stage, case.facts, case.phase):
            return []
        return [Notice(Template.STAGE_NOTICE, (person,), case.stage, key=f"assigned:{person.email}",
                       context=StageNoticeFacts(**self.audience.stage_fields(case)),
                       attachments=(Attachment.STAGE_DEADLINE_ICS,))]

    def add_note(self, case: Case, text: str, now: datetime, actor: str,
                 source: str | None = None) -> list[Notice]:
        require_text(text, "NOTE needs some text: write it after NOTE:")
        case.record(Event(now, EventKind.NOTE_ADDED, actor, text, case.stage, source))
        return []

    def accept(self, case: Case, now: datetime, actor: str,
               source: str | None = None) -> list[Notice]:
        """ACCEPT: the business managers vouch for everyone the referral names."""
        require_open(case)
        if case.accepted_at is not None:
            raise CaseRuleRefused(f"{case.reference} was already accepted on"
                                  f" {case.accepted_at:%d %B %Y}; nothing is held for it.")
        case.accepted_at = now
        names = ", ".join(p.email for p in case.everyone()) or "nobody"
        case.record(Event(now, EventKind.CASE_ACCEPTED, actor,
                          f"Accepted: mail about the case may go to everyone named on it ({names}).",
                          case.stage, source))
        return []

    def file_correspondence(self, case: Case, summary: str, now: datetime, actor: str,
                            source: str | None = None) -> None:
        case.record(Event(now, EventKind.CORRESPONDENCE_FILED, actor, summary, case.stage, source))

    def record_bounce(self, case: Case, text: str, now: datetime, source: str | None = None, *,
                      failed_recipient: str = "", diagnostic: str = "") -> list[Notice]:
        case.record(Event(now, EventKind.BOUNCE_RECEIVED, SYSTEM, text, case.stage, source))
        facts = BounceFacts(**self.audience.stage_fields(case), text=text,
                            failed_recipient=failed_recipient, diagnostic=diagnostic)
        return [Notice(Template.BOUNCE_ALERT, self.partnership.business_managers, case.stage,
                       key=f"bounce:{source or moment_key(now)}", context=facts)]

    # --- the deadline pass -------------------------------------------------------------

    def chase(self, case: Case, now: datetime) -> list[Notice]:
        """The chaser due for this case now, if any; moves ``next_chase_at`` on."""
        return self.deadlines.chase(case, now)

    def deadline_after(self, start: datetime, amount: int, unit: TimeUnit) -> datetime:
        return self.deadlines.deadline_after(start, amount, unit)

    def _set_deadline(self, case: Case, stage_no: int, phase_no: int, start: datetime) -> None:
        self.deadlines.set_deadline(case, stage_no, phase_no, start)

    def _reschedule(self, case: Case) -> None:
        self.deadlines.reschedule(case)

    def people_for_role(self, case: Case, role: str) -> tuple[Person, ...]:
        return self.audience.people_for_role(case, role)
