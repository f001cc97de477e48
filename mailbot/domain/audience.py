"""Who hears of a change to a case, and what every notice may say about the case's stage.

The case engine decides what happens; this module turns it into ``Notice`` values for the
people the policy names: those holding the stage's roles, the people its notification rules
name (at this stage, at every stage, and at stages a case jumped over), the referrer, and the
business managers when nobody holds a role yet. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from mailbot.domain.case import Case
from mailbot.domain.notice_contexts import (
    OpeningFacts,
    RuleNoticeFacts,
    StageChangeFacts,
    StageNoticeFacts,
)
from mailbot.domain.notices import Attachment, Notice, Partnership, Template, unique_people
from mailbot.domain.policy import REFERRER, NoticeMoment, NotifyRule, Policy, SkipRule, Stage
from mailbot.domain.referral import Person


class Audience:
    def __init__(self, policy: Policy, partnership: Partnership):
        self.policy, self.partnership = policy, partnership

    # --- people ------------------------------------------------------------------------

    def people_for_role(self, case: Case, role: str) -> tuple[Person, ...]:
        """Case-level holders first, then the partnership's contacts for that role."""
        if role == REFERRER:
            return (case.referrer,) if case.referrer.email else ()
        people = case.people_in(role) or tuple(self.partnership.contacts.get(role, ()))
        if not people and role == "business_manager":
            people = self.partnership.business_managers
        return people

    def holders(self, case: Case) -> tuple[tuple[Person, ...], list[str]]:
        """The people holding the current stage's roles, and the roles nobody holds yet."""
        people: list[Person] = []
        unassigned = []
        for role in self.policy.roles_at(case.stage, case.facts, case.phase):
            found = self.people_for_role(case, role)
            people.extend(found)
            if not found:
                unassigned.append(role)
        return unique_people(people), unassigned

    # --- notices -----------------------------------------------------------------------

    def stage_notices(self, case: Case, why: str) -> list[Notice]:
        """The stage notice for those acting now, and for the business managers to assign."""
        holders = people, unassigned = self.holders(case)
        context = StageNoticeFacts(**self.stage_fields(case, holders), why=why)
        ics = (Attachment.STAGE_DEADLINE_ICS,)
        key = f"phase{case.phase}@{moment_key(case.stage_entered_at)}"
        notices = []
        if people:
            notices.append(Notice(Template.STAGE_NOTICE, people, case.stage, key=key,
                                  context=context, attachments=ics))
        if unassigned:
            notices.append(Notice(Template.STAGE_NOTICE, self.partnership.business_managers,
                                  case.stage, key=f"assign:{key}", context=context,
                                  attachments=ics))
        return notices + self.rule_notices(case, NoticeMoment.STAGE_START, key=key)

    def rule_notices(self, case: Case, moment: NoticeMoment, key: str = "") -> list[Notice]:
        """Notices the policy requires beyond the stage's own people (CP Chair, IRO, DSL)."""
        acting = self.holders(case)[0] if moment is NoticeMoment.STAGE_START else ()
        rules = self.policy.notify_rules(case.stage, case.facts, moment)
        key = key or moment_key(case.stage_entered_at)
        # A rule for every stage ("consulted throughout") is met for those acting at this one;
        # a stage's own rule says why they must know, so it goes to them as well.
        return [notice for i, rule in enumerate(rules)
                if (notice := self._rule_notice(case, rule, f"{moment}:rule{i}@{key}",
                                                acting if rule in self.policy.notify else ()))]

    def passed_over_notices(self, case: Case, below: int) -> list[Notice]:
        """A case that jumps past a stage still tells the people that stage's rules name."""
        notices = []
        for stage, rule in self.policy.passed_over(below, case.stage, case.facts):
            why = (f"{rule.why} The case passed over {self.policy.label(stage.number)} and is"
                   f" now at {self.policy.label(case.stage)}, so you are told now.")
            notice = self._rule_notice(case, rule, f"passed:{stage.number}:{rule.roles}@"
                                       f"{moment_key(case.stage_entered_at)}", (), why)
            if notice:
                notices.append(notice)
        return notices

    def _rule_notice(self, case: Case, rule: NotifyRule, key: str, acting: Iterable[Person],
                     why: str = "") -> Notice | None:
        holders = {p.email.lower() for p in acting}
        people = unique_people(p for role in rule.roles for p in self.people_for_role(case, role)
                               if p.email.lower() not in holders)
        missing = [r for r in rule.roles if not self.people_for_role(case, r)]
        if missing:
            people = unique_people((*people, *self.partnership.business_managers))
        if not people:
            return None  # everyone the rule names already has the stage notice
        context = RuleNoticeFacts(**{**self.stage_fields(case),
                                     "unassigned": [self.policy.role_name(r) for r in missing]},
                                  why=why or rule.why, rule_source=rule.source, rule_roles=list(rule.roles))
        return Notice(Template.STAGE_NOTICE, people, case.stage, key=key, context=context)

    def referrer_update(self, case: Case, context: StageChangeFacts, key: str) -> list[Notice]:
        """The worker who raised the concern hears of every change of stage (Hackney 3.1)."""
        if not case.referrer.email:
            return []
        return [Notice(Template.STAGE_CHANGE, (case.referrer,), case.stage, key=f"referrer:{key}",
                       context=replace(context, audience="referrer"),
                       attachments=(Attachment.STAGE_ENDED_ICS,))]

    def released(self, case: Case, acted: tuple[Person, ...], told: list[Notice], context: StageChangeFacts,
                 key: str) -> list[Notice]:
        """Those who had to act at the stage the case has just left and hear nothing else of
        the move: told they need not, with the cancellation of their calendar entry."""
        heard = {p.email.lower() for notice in told for p in notice.to}
        left = tuple(p for p in acted if p.email.lower() not in heard)
        if not left:
            return []
        return [Notice(Template.STAGE_CHANGE, left, case.stage, key=f"released:{key}",
                       context=replace(context, audience="released"),
                       attachments=(Attachment.STAGE_ENDED_ICS,))]

    def acknowledgement(self, case: Case, source: str | None, context: OpeningFacts) -> Notice:
        return Notice(Template.ACKNOWLEDGEMENT, (case.referrer,), case.stage, context=context,
                      in_reply_to=source)

    def new_case(self, case: Case, context: OpeningFacts) -> Notice:
        return Notice(Template.NEW_CASE, self.partnership.business_managers, case.stage,
                      context=context)

    def with_business_managers(self, people: Iterable[Person]) -> tuple[Person, ...]:
        return unique_people((*people, *self.partnership.business_managers))

    # --- what a notice may say -----------------------------------------------------------

    def stage_fields(self, case: Case,
                     holders: tuple[tuple[Person, ...], list[str]] | None = None) -> dict[str, Any]:
        """What every template may say about the case's current stage (the fields of
        ``notice_contexts.StageFacts``), for a notice's own facts to start from; given the
        stage's ``holders`` when the caller has them already."""
        stage = self.policy.stage(case.stage)
        people, unassigned = holders or self.holders(case)
        phase = stage.phases[case.phase]
        return dict(
            stage_number=stage.number,
            stage_name=stage.name,
            stage_label=self.policy.label(stage.number),
            step_word=self.policy.step_word,
            what_happens=stage.what_happens,
            phase_what=phase.what,
            record=stage.record,
            guidance=list(stage.guidance),
            roles=[self.policy.role_name(r)
                   for r in self.policy.roles_at(case.stage, case.facts, case.phase)],
            people=[p.formatted() for p in people],
            unassigned=[self.policy.role_name(r) for r in unassigned],
            deadline=case.deadline.isoformat() if case.deadline else None,
            decision_maker=self.policy.role_name(stage.decision_maker) if stage.decision_maker else "",
            decision_by=self.policy.decided_by(stage),
        )

    def routing_questions(self, case: Case) -> list[str]:
        """What the business managers are asked when a routing rule waits on an agency type."""
        return [self._question(case, rule)
                for rule in self.policy.undecided_rules(case.stage, case.facts)]

    def _question(self, case: Case, rule: SkipRule) -> str:
        unknown = " and ".join(case.facts.agencies_of_unknown_type)
        target: Stage = self.policy.stage(rule.to_stage)
        return (f"The form does not say what type of agency {unknown} is, so this rule was not"
                f" applied: {rule.why} ({rule.source}) It applies only when"
                f" {rule.when.describe()}. If it does apply, reply with"
                f" STAGE {target.number}: and the agencies' types; otherwise ESCALATE takes the"
                f" ordinary way, to {self.policy.label(self._ordinary_next(case))}.")

    def _ordinary_next(self, case: Case) -> int:
        later = [s.number for s in self.policy.stages if s.number > case.stage]
        return later[0] if later else case.stage


def moment_key(moment: datetime) -> str:
    return f"{moment:%Y%m%dT%H%M%S}"
