"""Moving a case between stages: ESCALATE (to the next phase, or the next stage the policy
allows this case), and STAGE n. A section of the case engine (``engine.CaseEngine``).

Each method changes the case, records what happened, and returns the notices to send: the
business managers' stage change, the referrer's update, the new stage's notices, the release
of those who had to act at the stage just left, and the stages a case jumped across.
"""

from __future__ import annotations

from datetime import datetime

from mailbot.domain.audience import Audience, moment_key
from mailbot.domain.case import Case, Event, EventKind
from mailbot.domain.case_rules import require_open, with_reason
from mailbot.domain.deadline_pass import DeadlinePass
from mailbot.domain.errors import CaseRuleRefused
from mailbot.domain.notice_contexts import StageChangeFacts
from mailbot.domain.notices import Attachment, Notice, Partnership, Template
from mailbot.domain.policy import Policy, Stage


class StageMoves:
    def __init__(self, policy: Policy, partnership: Partnership, audience: Audience,
                 deadlines: DeadlinePass):
        self.policy, self.partnership = policy, partnership
        self.audience, self.deadlines = audience, deadlines

    def escalate(self, case: Case, now: datetime, actor: str, reason: str = "",
                 source: str | None = None) -> list[Notice]:
        """To the stage's next phase if it has one (Bury's directors, Berkshire's line
        managers), else to the next stage the policy allows for this case."""
        require_open(case)
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
                f" {self.policy.label(target.number)}." + with_reason(reason))
        text += (f"\nRouting rule: {why}" if why else "") + "".join(f"\n{q}" for q in questions)
        return self._enter_stage(case, target, now, EventKind.ESCALATED, actor, text, source, why)

    def _next_phase(self, case: Case, now: datetime, actor: str, reason: str,
                    source: str | None) -> list[Notice]:
        """ESCALATE during a phase moves to the phase the policy gives next, not past it."""
        previous = case.phase
        self.deadlines.set_deadline(case, case.stage, previous + 1, now)
        phase = self.policy.stage(case.stage).phases[case.phase]
        text = (f"Escalated within {self.policy.label(case.stage)} to its next step:"
                f" {phase.what}" + with_reason(reason))
        case.record(Event(now, EventKind.ESCALATED, actor, text, case.stage, source))
        context = StageChangeFacts(**self.audience.stage_fields(case),
                                   from_stage=case.stage, text=text)
        key = moment_key(now)
        change = Notice(Template.STAGE_CHANGE, self.partnership.business_managers, case.stage,
                        key=key, context=context)
        return [change, *self.audience.referrer_update(case, context, key),
                *self.audience.stage_notices(case, why=phase.what)]

    def move_to_stage(self, case: Case, number: int, now: datetime, actor: str,
                      reason: str = "", source: str | None = None) -> list[Notice]:
        require_open(case)
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
                f" {self.policy.label(number)}." + with_reason(reason))
        return self._enter_stage(case, target, now, EventKind.MOVED_TO_STAGE, actor, text, source)

    def _enter_stage(self, case: Case, stage: Stage, now: datetime, kind: EventKind,
                     actor: str, text: str, source: str | None, why: str = "") -> list[Notice]:
        previous, acted = case.stage, self.audience.holders(case)[0]
        case.stage, case.stage_entered_at = stage.number, now
        self.deadlines.set_deadline(case, stage.number, 0, now)
        case.record(Event(now, kind, actor, text, stage.number, source))
        context = StageChangeFacts(**self.audience.stage_fields(case),
                                   from_stage=previous, text=text)
        key, ended = moment_key(now), (Attachment.STAGE_ENDED_ICS,)
        change = Notice(Template.STAGE_CHANGE, self.partnership.business_managers, stage.number,
                        key=key, context=context, attachments=ended)
        notices = [change, *self.audience.referrer_update(case, context, key),
                   *self.audience.stage_notices(case, why=why)]
        notices += self.audience.released(case, acted, notices, context, key)
        return notices + self.audience.passed_over_notices(case, below=previous)
