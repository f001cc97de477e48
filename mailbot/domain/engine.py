"""The case engine: every change a case can undergo, decided under one partnership's policy.

Each method changes the ``Case`` in memory, appends the events that happened, and returns
the ``Notice`` values that must go out. A change the policy forbids raises
``CaseRuleRefused`` with a reason a business manager can read, and leaves the case as it
was. ``now`` is always an argument: the engine never reads a clock.
"""

from __future__ import annotations

import difflib
from datetime import datetime

from mailbot.domain.audience import Audience, moment_key
from mailbot.domain.case import Case, CaseStatus, Event, EventKind, parties_from_referral
from mailbot.domain.deadline_pass import SYSTEM, DeadlinePass
from mailbot.domain.errors import CaseRuleRefused
from mailbot.domain.notices import (
    Attachment,
    Notice,
    Partnership,
    Template,
    unique_people,
)
from mailbot.domain.opening import entry_words, opening_text
from mailbot.domain.policy import NoticeMoment, Policy, Stage, TimeUnit
from mailbot.domain.referral import Person, Referral
from mailbot.domain.timescales import Timescales
from mailbot.domain.working_days import WorkingCalendar


class CaseEngine:
    def __init__(self, policy: Policy, calendar: WorkingCalendar, partnership: Partnership):
        self.policy, self.calendar, self.partnership = policy, calendar, partnership
        self.audience = Audience(policy, partnership)
        self.timescales = Timescales(policy, calendar)
        self.deadlines = DeadlinePass(policy, calendar, partnership, self.audience)

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
        extra = {"warnings": list(warnings), "entry_words": entry_words(self.policy, case),
                 "routing_questions": self.audience.routing_questions(case)}
        notices = [self.audience.acknowledgement(case, source_message_id, extra),
                   self.audience.new_case(case, extra)]
        notices += self.audience.stage_notices(case, why="")
        return case, notices + self.audience.passed_over_notices(case, below=0)

    # --- moving between stages ---------------------------------------------------------

    def escalate(self, case: Case, now: datetime, actor: str, reason: str = "",
                 source: str | None = None) -> list[Notice]:
        """To the stage's next phase if it has one (Bury's directors, Berkshire's line
        managers), else to the next stage the policy allows for this case."""
        self._require_open(case)
        stage = self.policy.stage(case.stage)
        if case.phase + 1 < len(stage.phases):
            return self._next_phase(case, now, actor, reason, source)
        target = self.policy.next_stage(case.stage, case.facts)
        if target is None:
            raise CaseRuleRefused(
                f"{case.reference} is at {self.policy.label(case.stage)}, the last"
                f" {self.policy.step_word.lower()} of the {self.policy.name} policy; it cannot"
                " be escalated further. Record the final decision with DECISION: text.")
        rule = self.policy.skip_rule_applied(case.stage, case.facts)
        why = f"{rule.why} ({rule.source})" if rule else ""
        questions = self.audience.routing_questions(case)
        text = (f"Escalated from {self.policy.step_word} {case.stage} to"
                f" {self.policy.label(target.number)}." + _suffix(reason))
        text += (f"\nRouting rule: {why}" if why else "") + "".join(f"\n{q}" for q in questions)
        return self._enter_stage(case, target, now, EventKind.ESCALATED, actor, text, source, why)

    def _next_phase(self, case: Case, now: datetime, actor: str, reason: str,
                    source: str | None) -> list[Notice]:
        """ESCALATE during a phase moves to the phase the policy gives next, not past it."""
        previous = case.phase
        self._set_deadline(case, case.stage, previous + 1, now)
        phase = self.policy.stage(case.stage).phases[case.phase]
        text = (f"Escalated within {self.policy.label(case.stage)} to its next step:"
                f" {phase.what}" + _suffix(reason))
        case.record(Event(now, EventKind.ESCALATED, actor, text, case.stage, source))
        context = {"from_stage": case.stage, "text": text, **self.audience.stage_context(case)}
        key = _moment_key(now)
        change = Notice(Template.STAGE_CHANGE, self.partnership.business_managers, case.stage,
                        key=key, context=context)
        return [change, *self.audience.referrer_update(case, context, key),
                *self.audience.stage_notices(case, why=phase.what)]

    def move_to_stage(self, case: Case, number: int, now: datetime, actor: str,
                      reason: str = "", source: str | None = None) -> list[Notice]:
        self._require_open(case)
        if not self.policy.has_stage(number):
            numbers = ", ".join(str(s.number) for s in self.policy.stages)
            nearest = min((s.number for s in self.policy.stages), key=lambda n: abs(n - number))
            raise CaseRuleRefused(
                f"The {self.policy.name} policy has no {self.policy.step_word} {number}; its"
                f" {self.policy.step_word.lower()}s are {numbers}. Did you mean STAGE {nearest}?")
        if number == case.stage:
            raise CaseRuleRefused(f"{case.reference} is already at"
                                  f" {self.policy.step_word} {number}.")
        target = self.policy.stage(number)
        text = (f"Moved from {self.policy.step_word} {case.stage} to"
                f" {self.policy.label(number)}." + _suffix(reason))
        return self._enter_stage(case, target, now, EventKind.MOVED_TO_STAGE, actor, text, source)

    def _enter_stage(self, case: Case, stage: Stage, now: datetime, kind: EventKind,
                     actor: str, text: str, source: str | None, why: str = "") -> list[Notice]:
        previous, acted = case.stage, self.audience.holders(case)[0]
        case.stage, case.stage_entered_at = stage.number, now
        self._set_deadline(case, stage.number, 0, now)
        case.record(Event(now, kind, actor, text, stage.number, source))
        context = {"from_stage": previous, "text": text, **self.audience.stage_context(case)}
        key, ended = _moment_key(now), (Attachment.STAGE_ENDED_ICS,)
        change = Notice(Template.STAGE_CHANGE, self.partnership.business_managers, stage.number,
                        key=key, context=context, attachments=ended)
        notices = [change, *self.audience.referrer_update(case, context, key),
                   *self.audience.stage_notices(case, why=why)]
        notices += self.audience.released(case, acted, notices, context, key)
        return notices + self.audience.passed_over_notices(case, below=previous)

    # --- outcomes ----------------------------------------------------------------------

    def record_outcome(self, case: Case, outcome: str, now: datetime, actor: str,
                       source: str | None = None) -> list[Notice]:
        """RESOLVED: the agencies agreed at the current stage; the outcome is the statement."""
        self._require_open(case)
        _require_text(outcome, "RESOLVED needs the outcome: write it after RESOLVED:")
        case.outcome = outcome
        self._close(case, CaseStatus.RESOLVED, now)
        case.record(Event(now, EventKind.OUTCOME_RECORDED, actor,
                          f"Resolved at {self.policy.label(case.stage)}. Outcome:\n{outcome}",
                          case.stage, source))
        people = self.audience.with_business_managers(case.everyone())
        notices = [Notice(Template.OUTCOME, people, case.stage,
                          context={"outcome": outcome, **self.audience.stage_context(case)},
                          attachments=(Attachment.CASE_RECORD, Attachment.STAGE_ENDED_ICS))]
        return notices + self.audience.rule_notices(case, NoticeMoment.OUTCOME)

    def record_decision(self, case: Case, decision: str, now: datetime, actor: str,
                        source: str | None = None) -> list[Notice]:
        """DECISION: the final written decision, only at a stage with a decision maker."""
        self._require_open(case)
        stage = self.policy.stage(case.stage)
        if not stage.decision_maker:
            raise CaseRuleRefused(self._no_decision_maker(case, stage))
        _require_text(decision, "DECISION needs the decision: write it after DECISION:")
        case.decision = decision
        self._close(case, CaseStatus.DECIDED, now)
        by = self.policy.decided_by(stage)
        case.record(Event(now, EventKind.DECISION_RECORDED, actor,
                          f"Final decision of {by} at {self.policy.label(stage.number)}:"
                          f"\n{decision}", case.stage, source))
        people = unique_people((case.referrer, *case.everyone(),
                                *self.partnership.business_managers))
        context = {"decision": decision, "decided_by": actor, **self.audience.stage_context(case)}
        notices = [Notice(Template.DECISION, people, case.stage, context=context,
                          attachments=(Attachment.DECISION_NOTICE, Attachment.CASE_RECORD,
                                       Attachment.STAGE_ENDED_ICS))]
        return notices + self.audience.rule_notices(case, NoticeMoment.OUTCOME)

    def _no_decision_maker(self, case: Case, stage: Stage) -> str:
        deciding = [s for s in self.policy.stages if s.decision_maker]
        where = "; ".join(f"{self.policy.label(s.number)} ({self.policy.decided_by(s)})"
                          for s in deciding)
        return (f"{case.reference} is at {self.policy.label(stage.number)}, which has no"
                f" decision maker in the {self.policy.name} policy. The final decision is made"
                f" at {where}. Use RESOLVED: outcome if the agencies have agreed, or move the"
                " case first.")

    def withdraw(self, case: Case, reason: str, now: datetime, actor: str,
                 source: str | None = None) -> list[Notice]:
        self._require_open(case)
        _require_text(reason, "WITHDRAW needs a reason: write it after WITHDRAW:")
        self._close(case, CaseStatus.WITHDRAWN, now)
        case.record(Event(now, EventKind.CASE_WITHDRAWN, actor, f"Withdrawn: {reason}",
                          case.stage, source))
        people = self.audience.with_business_managers(case.everyone())
        notices = [Notice(Template.WITHDRAWN, people, case.stage,
                          context={"reason": reason, **self.audience.stage_context(case)},
                          attachments=(Attachment.STAGE_ENDED_ICS,))]
        return notices + self.audience.rule_notices(case, NoticeMoment.WITHDRAWN,
                                                    key=_moment_key(now))

    def _close(self, case: Case, status: CaseStatus, now: datetime) -> None:
        case.status, case.closed_at, case.next_chase_at = status, now, None

    # --- deadlines, people and the record ----------------------------------------------

    def extend(self, case: Case, days: int, now: datetime, actor: str, reason: str = "",
               source: str | None = None) -> list[Notice]:
        """EXTEND n: n working days later, within the policy's limit for a stage."""
        self._require_open(case)
        assert case.deadline is not None
        new, beyond = self.timescales.extended(case, days, reason)
        note = f"\n{beyond}" if beyond else ""
        return self._change_deadline(case, new, days, now, actor, reason, source, "extended",
                                     note)

    def shorten(self, case: Case, days: int, now: datetime, actor: str, reason: str = "",
                source: str | None = None) -> list[Notice]:
        """SHORTEN n: n working days sooner, for a timescale that protects the child."""
        self._require_open(case)
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
                f" {new:%d %B %Y %H:%M}." + _suffix(reason) + note)
        case.record(Event(now, EventKind.DEADLINE_EXTENDED, actor, text, case.stage, source))
        people = self.audience.with_business_managers(self.audience.holders(case)[0])
        context = {"text": text, "direction": how, **self.audience.stage_context(case)}
        return [Notice(Template.DEADLINE_EXTENDED, people, case.stage, key=_moment_key(now),
                       context=context, attachments=(Attachment.STAGE_DEADLINE_ICS,)),
                *self.audience.rule_notices(case, NoticeMoment.DEADLINE_CHANGED,
                                            key=_moment_key(now))]

    def assign(self, case: Case, role: str, person: Person, now: datetime, actor: str,
               source: str | None = None) -> list[Notice]:
        self._require_open(case)
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
                       context=self.audience.stage_context(case),
                       attachments=(Attachment.STAGE_DEADLINE_ICS,))]

    def add_note(self, case: Case, text: str, now: datetime, actor: str,
                 source: str | None = None) -> list[Notice]:
        _require_text(text, "NOTE needs some text: write it after NOTE:")
        case.record(Event(now, EventKind.NOTE_ADDED, actor, text, case.stage, source))
        return []

    def accept(self, case: Case, now: datetime, actor: str,
               source: str | None = None) -> list[Notice]:
        """ACCEPT: the business managers vouch for everyone the referral names."""
        self._require_open(case)
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

    def record_bounce(self, case: Case, text: str, now: datetime,
                      source: str | None = None) -> list[Notice]:
        case.record(Event(now, EventKind.BOUNCE_RECEIVED, SYSTEM, text, case.stage, source))
        return [Notice(Template.BOUNCE_ALERT, self.partnership.business_managers, case.stage,
                       key=f"bounce:{source or _moment_key(now)}",
                       context={"text": text, **self.audience.stage_context(case)})]

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

    def _require_open(self, case: Case) -> None:
        if not case.is_open:
            raise CaseRuleRefused(f"{case.reference} is {case.status.value}; a closed case"
                                  " cannot be changed. Send a new referral to reopen the concern.")


def _suffix(reason: str) -> str:
    return f" Reason: {reason}" if reason else ""


def _require_text(text: str, problem: str) -> None:
    if not text.strip():
        raise CaseRuleRefused(problem)


_moment_key = moment_key
