"""The case engine: every change a case can undergo, decided under one partnership's policy.

Each method changes the ``Case`` in memory, appends the events that happened, and returns
the ``Notice`` values that must go out. A change the policy forbids raises
``CaseRuleRefused`` with a reason a business manager can read, and leaves the case as it
was. ``now`` is always an argument: the engine never reads a clock.
"""

from __future__ import annotations

from datetime import datetime

from mailbot.domain import chasers
from mailbot.domain.case import Case, CaseStatus, Event, EventKind, parties_from_referral
from mailbot.domain.errors import CaseRuleRefused
from mailbot.domain.notices import (
    Attachment,
    Notice,
    Partnership,
    Template,
    unique_people,
)
from mailbot.domain.policy import NoticeMoment, Policy, Stage, TimeUnit
from mailbot.domain.referral import Person, Referral
from mailbot.domain.stage_visits import deadline_after
from mailbot.domain.working_days import WorkingCalendar

SYSTEM = "mailbot"


class CaseEngine:
    def __init__(self, policy: Policy, calendar: WorkingCalendar, partnership: Partnership):
        self.policy, self.calendar, self.partnership = policy, calendar, partnership

    # --- opening -----------------------------------------------------------------------

    def open_case(self, referral: Referral, reference: str, now: datetime,
                  source_message_id: str | None = None) -> tuple[Case, list[Notice]]:
        """A new case at the stage the referral reports reaching (else the first stage)."""
        stage = self._opening_stage(referral)
        case = Case(reference=reference, policy_key=self.policy.key, referral=referral,
                    opened_at=now, stage=stage.number, stage_entered_at=now, deadline=None,
                    parties=parties_from_referral(referral))
        self._set_deadline(case, stage.number, 0, now)
        text = f"Case opened at Stage {stage.number}: {stage.name}."
        if referral.earlier_stages_evidence:
            text += f"\nEvidence of earlier stages:\n{referral.earlier_stages_evidence}"
        case.record(Event(now, EventKind.CASE_OPENED, referral.referrer_email or SYSTEM, text,
                          stage.number, source_message_id))
        notices = [self._acknowledgement(case, source_message_id), self._new_case_notice(case)]
        notices += self._stage_notices(case, why="")
        return case, notices

    def _opening_stage(self, referral: Referral) -> Stage:
        reached = referral.stage_reached
        if reached and self.policy.has_stage(reached):
            return self.policy.stage(reached)
        return self.policy.first_stage

    # --- moving between stages ---------------------------------------------------------

    def escalate(self, case: Case, now: datetime, actor: str, reason: str = "",
                 source: str | None = None) -> list[Notice]:
        self._require_open(case)
        target = self.policy.next_stage(case.stage, case.facts)
        if target is None:
            raise CaseRuleRefused(
                f"{case.reference} is at Stage {case.stage}: {self.policy.stage(case.stage).name},"
                f" the last stage of the {self.policy.name} policy; it cannot be escalated"
                " further. Record the final decision with DECISION: text.")
        rule = self.policy.skip_rule_applied(case.stage, case.facts)
        why = f"{rule.why} ({rule.source})" if rule else ""
        text = f"Escalated from Stage {case.stage} to Stage {target.number}: {target.name}."
        text += _suffix(reason) + (f"\nRouting rule: {why}" if why else "")
        return self._enter_stage(case, target, now, EventKind.ESCALATED, actor, text, source, why)

    def move_to_stage(self, case: Case, number: int, now: datetime, actor: str,
                      reason: str = "", source: str | None = None) -> list[Notice]:
        self._require_open(case)
        if not self.policy.has_stage(number):
            numbers = ", ".join(str(s.number) for s in self.policy.stages)
            raise CaseRuleRefused(
                f"The {self.policy.name} policy has no Stage {number}; its stages are {numbers}.")
        if number == case.stage:
            raise CaseRuleRefused(f"{case.reference} is already at Stage {number}.")
        target = self.policy.stage(number)
        text = f"Moved from Stage {case.stage} to Stage {number}: {target.name}." + _suffix(reason)
        return self._enter_stage(case, target, now, EventKind.MOVED_TO_STAGE, actor, text, source)

    def _enter_stage(self, case: Case, stage: Stage, now: datetime, kind: EventKind,
                     actor: str, text: str, source: str | None, why: str = "") -> list[Notice]:
        previous = case.stage
        case.stage, case.stage_entered_at = stage.number, now
        self._set_deadline(case, stage.number, 0, now)
        case.record(Event(now, kind, actor, text, stage.number, source))
        change = Notice(Template.STAGE_CHANGE, self.partnership.business_managers, stage.number,
                        key=_moment_key(now), context={"from_stage": previous, "text": text,
                                                       **self._stage_context(case)})
        return [change, *self._stage_notices(case, why=why)]

    # --- outcomes ----------------------------------------------------------------------

    def record_outcome(self, case: Case, outcome: str, now: datetime, actor: str,
                       source: str | None = None) -> list[Notice]:
        """RESOLVED: the agencies agreed at the current stage; the outcome is the statement."""
        self._require_open(case)
        _require_text(outcome, "RESOLVED needs the outcome: write it after RESOLVED:")
        case.outcome = outcome
        self._close(case, CaseStatus.RESOLVED, now)
        case.record(Event(now, EventKind.OUTCOME_RECORDED, actor,
                          f"Resolved at Stage {case.stage}. Outcome:\n{outcome}", case.stage, source))
        people = unique_people((*case.everyone(), *self.partnership.business_managers))
        notices = [Notice(Template.OUTCOME, people, case.stage,
                          context={"outcome": outcome, **self._stage_context(case)},
                          attachments=(Attachment.CASE_RECORD,))]
        return notices + self._rule_notices(case, NoticeMoment.OUTCOME)

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
        maker = self.policy.role_name(stage.decision_maker)
        case.record(Event(now, EventKind.DECISION_RECORDED, actor,
                          f"Final decision of the {maker} at Stage {stage.number}:\n{decision}",
                          case.stage, source))
        people = unique_people((case.referrer, *case.everyone(),
                                *self.partnership.business_managers))
        context = {"decision": decision, "decision_maker": maker, "decided_by": actor,
                   **self._stage_context(case)}
        notices = [Notice(Template.DECISION, people, case.stage, context=context,
                          attachments=(Attachment.DECISION_NOTICE, Attachment.CASE_RECORD))]
        return notices + self._rule_notices(case, NoticeMoment.OUTCOME)

    def _no_decision_maker(self, case: Case, stage: Stage) -> str:
        deciding = [s for s in self.policy.stages if s.decision_maker]
        where = "; ".join(f"Stage {s.number} ({self.policy.role_name(s.decision_maker or '')})"
                          for s in deciding)
        return (f"{case.reference} is at Stage {stage.number}: {stage.name}, which has no decision"
                f" maker in the {self.policy.name} policy. The final decision is made at {where}."
                " Use RESOLVED: outcome if the agencies have agreed, or move the case first.")

    def withdraw(self, case: Case, reason: str, now: datetime, actor: str,
                 source: str | None = None) -> list[Notice]:
        self._require_open(case)
        _require_text(reason, "WITHDRAW needs a reason: write it after WITHDRAW:")
        self._close(case, CaseStatus.WITHDRAWN, now)
        case.record(Event(now, EventKind.CASE_WITHDRAWN, actor, f"Withdrawn: {reason}",
                          case.stage, source))
        people = unique_people((*case.everyone(), *self.partnership.business_managers))
        return [Notice(Template.WITHDRAWN, people, case.stage,
                       context={"reason": reason, **self._stage_context(case)})]

    def _close(self, case: Case, status: CaseStatus, now: datetime) -> None:
        case.status, case.closed_at, case.next_chase_at = status, now, None

    # --- deadlines, people and the record ----------------------------------------------

    def extend(self, case: Case, days: int, now: datetime, actor: str, reason: str = "",
               source: str | None = None) -> list[Notice]:
        self._require_open(case)
        if days < 1 or days > 60:
            raise CaseRuleRefused("EXTEND takes a number of working days from 1 to 60.")
        assert case.deadline is not None
        old = case.deadline
        day = self.calendar.add_working_days(self.calendar.local(old).date(), days)
        case.deadline = self.calendar.close_of(day)
        case.deadline_started_at, case.chase_points_passed = now, 0
        self._reschedule(case)
        text = (f"Deadline for Stage {case.stage} extended by {days} working day"
                f"{'s' if days != 1 else ''}, from {old:%d %B %Y %H:%M} to"
                f" {case.deadline:%d %B %Y %H:%M}." + _suffix(reason))
        case.record(Event(now, EventKind.DEADLINE_EXTENDED, actor, text, case.stage, source))
        people, _ = self._holders(case)
        people = unique_people((*people, *self.partnership.business_managers))
        return [Notice(Template.DEADLINE_EXTENDED, people, case.stage, key=_moment_key(now),
                       context={"text": text, **self._stage_context(case)},
                       attachments=(Attachment.STAGE_DEADLINE_ICS,))]

    def assign(self, case: Case, role: str, person: Person, now: datetime, actor: str,
               source: str | None = None) -> list[Notice]:
        self._require_open(case)
        if role not in self.policy.roles:
            known = ", ".join(sorted(self.policy.roles))
            raise CaseRuleRefused(f"The {self.policy.name} policy has no role {role!r}."
                                  f" Its roles are: {known}.")
        if not case.add_person(role, person):
            raise CaseRuleRefused(f"{person.formatted()} already holds the role"
                                  f" {self.policy.role_name(role)} on {case.reference}.")
        case.record(Event(now, EventKind.PERSON_ASSIGNED, actor,
                          f"{person.formatted()} named as {self.policy.role_name(role)}.",
                          case.stage, source))
        if role not in self.policy.roles_at(case.stage, case.facts, case.phase):
            return []
        return [Notice(Template.STAGE_NOTICE, (person,), case.stage, key=f"assigned:{person.email}",
                       context=self._stage_context(case),
                       attachments=(Attachment.STAGE_DEADLINE_ICS,))]

    def add_note(self, case: Case, text: str, now: datetime, actor: str,
                 source: str | None = None) -> list[Notice]:
        _require_text(text, "NOTE needs some text: write it after NOTE:")
        case.record(Event(now, EventKind.NOTE_ADDED, actor, text, case.stage, source))
        return []

    def file_correspondence(self, case: Case, summary: str, now: datetime, actor: str,
                            source: str | None = None) -> None:
        case.record(Event(now, EventKind.CORRESPONDENCE_FILED, actor, summary, case.stage, source))

    def record_bounce(self, case: Case, text: str, now: datetime,
                      source: str | None = None) -> list[Notice]:
        case.record(Event(now, EventKind.BOUNCE_RECEIVED, SYSTEM, text, case.stage, source))
        return [Notice(Template.BOUNCE_ALERT, self.partnership.business_managers, case.stage,
                       key=f"bounce:{source or _moment_key(now)}",
                       context={"text": text, **self._stage_context(case)})]

    # --- the deadline pass -------------------------------------------------------------

    def chase(self, case: Case, now: datetime) -> list[Notice]:
        """The chaser due for this case now, if any; moves ``next_chase_at`` on."""
        if not case.is_open or case.deadline is None:
            case.next_chase_at = None
            return []
        if not self.calendar.is_working_day(self.calendar.local(now).date()):
            return []  # chasers go out on working days only, even when one is late
        point = chasers.point_due(self._points(case), case.chase_points_passed, now)
        if point is None:
            self._reschedule(case)
            return []
        case.chase_points_passed = point.index + 1
        if point.kind == chasers.FOLLOW_ON:
            return self._follow_on(case, point.at)
        notices = [self._chaser(case, point)]
        self._reschedule(case)
        return notices

    def _chaser(self, case: Case, point: chasers.ChasePoint) -> Notice:
        kinds = {chasers.REMINDER: (Template.REMINDER, EventKind.REMINDER_SENT),
                 chasers.DUE_TODAY: (Template.DUE_TODAY, EventKind.DUE_TODAY_SENT),
                 chasers.OVERDUE: (Template.OVERDUE, EventKind.DEADLINE_MISSED)}
        template, event = kinds[point.kind]
        people, unassigned = self._holders(case)
        if point.kind == chasers.OVERDUE or unassigned:
            people = unique_people((*people, *self.partnership.business_managers))
        assert case.deadline is not None
        label = f"overdue notice {point.overdue_number}" if point.overdue_number else point.kind
        case.record(Event(point.at, event, SYSTEM,
                          f"{label.replace('_', ' ').capitalize()} sent for the Stage {case.stage}"
                          f" deadline of {case.deadline:%d %B %Y %H:%M}.", case.stage))
        key = f"{point.kind}{point.overdue_number or ''}@{case.deadline:%Y%m%dT%H%M}"
        return Notice(template, people, case.stage, key=key,
                      context={"overdue_number": point.overdue_number,
                               **self._stage_context(case)})

    def _follow_on(self, case: Case, at: datetime) -> list[Notice]:
        """The phase's deadline passed unresolved: the stage's next phase begins."""
        case.phase += 1
        self._set_deadline(case, case.stage, case.phase, at)
        phase = self.policy.stage(case.stage).phases[case.phase]
        case.record(Event(at, EventKind.FOLLOW_ON_STARTED, SYSTEM,
                          f"Not resolved by the deadline: {phase.what}", case.stage))
        return self._stage_notices(case, why=phase.what)

    def _points(self, case: Case):
        stage = self.policy.stage(case.stage)
        assert case.deadline is not None
        started = case.deadline_started_at or case.stage_entered_at
        return chasers.chase_points(case.deadline, started, self.policy.chasers, self.calendar,
                                    follow_on=case.phase + 1 < len(stage.phases))

    def _reschedule(self, case: Case) -> None:
        point = chasers.next_point(self._points(case), case.chase_points_passed)
        case.next_chase_at = point.at if point else None

    def _set_deadline(self, case: Case, stage_no: int, phase_no: int, start: datetime) -> None:
        phase = self.policy.stage(stage_no).phases[phase_no]
        case.phase, case.deadline_started_at, case.chase_points_passed = phase_no, start, 0
        case.deadline = self.deadline_after(start, phase.amount, phase.unit)
        self._reschedule(case)

    def deadline_after(self, start: datetime, amount: int, unit: TimeUnit) -> datetime:
        return deadline_after(self.calendar, start, amount, unit)

    # --- who hears ---------------------------------------------------------------------

    def people_for_role(self, case: Case, role: str) -> tuple[Person, ...]:
        """Case-level holders first, then the partnership's contacts for that role."""
        people = case.people_in(role) or tuple(self.partnership.contacts.get(role, ()))
        if not people and role == "business_manager":
            people = self.partnership.business_managers
        return people

    def _holders(self, case: Case) -> tuple[tuple[Person, ...], list[str]]:
        """The people holding the current stage's roles, and the roles nobody holds yet."""
        people: list[Person] = []
        unassigned = []
        for role in self.policy.roles_at(case.stage, case.facts, case.phase):
            holders = self.people_for_role(case, role)
            people.extend(holders)
            if not holders:
                unassigned.append(role)
        return unique_people(people), unassigned

    def _stage_notices(self, case: Case, why: str) -> list[Notice]:
        people, unassigned = self._holders(case)
        context = {"why": why, **self._stage_context(case)}
        ics = (Attachment.STAGE_DEADLINE_ICS,)
        key = f"phase{case.phase}@{_moment_key(case.stage_entered_at)}"
        notices = []
        if people:
            notices.append(Notice(Template.STAGE_NOTICE, people, case.stage, key=key,
                                  context=context, attachments=ics))
        if unassigned:
            notices.append(Notice(Template.STAGE_NOTICE, self.partnership.business_managers,
                                  case.stage, key=f"assign:{key}", context=context,
                                  attachments=ics))
        return notices + self._rule_notices(case, NoticeMoment.STAGE_START)

    def _rule_notices(self, case: Case, moment: NoticeMoment) -> list[Notice]:
        """Notices the policy requires beyond the stage's own people (CP Chair, IRO, DSL)."""
        notices = []
        for i, rule in enumerate(self.policy.notify_rules(case.stage, case.facts, moment)):
            people = unique_people(p for role in rule.roles for p in self.people_for_role(case, role))
            missing = [r for r in rule.roles if not self.people_for_role(case, r)]
            if missing:
                people = unique_people((*people, *self.partnership.business_managers))
            context = {"why": rule.why, "rule_source": rule.source, "rule_roles": list(rule.roles),
                       **self._stage_context(case)}
            context["unassigned"] = [self.policy.role_name(r) for r in missing]
            notices.append(Notice(Template.STAGE_NOTICE, people, case.stage,
                                  key=f"{moment}:rule{i}@{_moment_key(case.stage_entered_at)}",
                                  context=context))
        return notices

    def _acknowledgement(self, case: Case, source: str | None) -> Notice:
        return Notice(Template.ACKNOWLEDGEMENT, (case.referrer,), case.stage,
                      context=self._stage_context(case), in_reply_to=source)

    def _new_case_notice(self, case: Case) -> Notice:
        return Notice(Template.NEW_CASE, self.partnership.business_managers, case.stage,
                      context=self._stage_context(case))

    def _stage_context(self, case: Case) -> dict:
        """What every template may say about the case's current stage."""
        stage = self.policy.stage(case.stage)
        people, unassigned = self._holders(case)
        phase = stage.phases[case.phase]
        return {
            "stage_number": stage.number,
            "stage_name": stage.name,
            "what_happens": stage.what_happens,
            "phase_what": phase.what,
            "record": stage.record,
            "guidance": list(stage.guidance),
            "roles": [self.policy.role_name(r)
                      for r in self.policy.roles_at(case.stage, case.facts, case.phase)],
            "people": [p.formatted() for p in people],
            "unassigned": [self.policy.role_name(r) for r in unassigned],
            "deadline": case.deadline.isoformat() if case.deadline else None,
            "decision_maker": self.policy.role_name(stage.decision_maker)
            if stage.decision_maker else "",
        }

    def _require_open(self, case: Case) -> None:
        if not case.is_open:
            raise CaseRuleRefused(f"{case.reference} is {case.status.value}; a closed case"
                                  " cannot be changed. Send a new referral to reopen the concern.")


def _suffix(reason: str) -> str:
    return f" Reason: {reason}" if reason else ""


def _require_text(text: str, problem: str) -> None:
    if not text.strip():
        raise CaseRuleRefused(problem)


def _moment_key(moment: datetime) -> str:
    return f"{moment:%Y%m%dT%H%M%S}"
