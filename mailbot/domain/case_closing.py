"""Closing a case: RESOLVED (the agencies agreed), DECISION (the final written decision, at
a stage with a decision maker) and WITHDRAW. A section of the case engine (``engine.CaseEngine``).

Each closes the case, records why, and returns the notices to send, the policy's own rules
for the moment included; the calendar entries of the stage are cancelled with them.
"""

from __future__ import annotations

from datetime import datetime

from mailbot.domain.audience import Audience, moment_key
from mailbot.domain.case import Case, CaseStatus, Event, EventKind
from mailbot.domain.case_rules import require_open, require_text
from mailbot.domain.errors import CaseRuleRefused
from mailbot.domain.notice_contexts import DecisionFacts, OutcomeFacts, WithdrawnFacts
from mailbot.domain.notices import Attachment, Notice, Partnership, Template, unique_people
from mailbot.domain.policy import NoticeMoment, Policy, Stage


class CaseClosing:
    def __init__(self, policy: Policy, partnership: Partnership, audience: Audience):
        self.policy, self.partnership, self.audience = policy, partnership, audience

    def record_outcome(self, case: Case, outcome: str, now: datetime, actor: str,
                       source: str | None = None) -> list[Notice]:
        """RESOLVED: the agencies agreed at the current stage; the outcome is the statement."""
        require_open(case)
        require_text(outcome, "RESOLVED needs the outcome: write it after RESOLVED:")
        case.outcome = outcome
        self._close(case, CaseStatus.RESOLVED, now)
        case.record(Event(now, EventKind.OUTCOME_RECORDED, actor,
                          f"Resolved at {self.policy.label(case.stage)}. Outcome:\n{outcome}",
                          case.stage, source))
        people = self.audience.with_business_managers(case.everyone())
        notices = [Notice(Template.OUTCOME, people, case.stage,
                          context=OutcomeFacts(**self.audience.stage_fields(case),
                                               outcome=outcome),
                          attachments=(Attachment.CASE_RECORD, Attachment.STAGE_ENDED_ICS))]
        return notices + self.audience.rule_notices(case, NoticeMoment.OUTCOME)

    def record_decision(self, case: Case, decision: str, now: datetime, actor: str,
                        source: str | None = None) -> list[Notice]:
        """DECISION: the final written decision, only at a stage with a decision maker."""
        require_open(case)
        stage = self.policy.stage(case.stage)
        if not stage.decision_maker:
            raise CaseRuleRefused(self._no_decision_maker(case, stage))
        require_text(decision, "DECISION needs the decision: write it after DECISION:")
        case.decision = decision
        self._close(case, CaseStatus.DECIDED, now)
        by = self.policy.decided_by(stage)
        case.record(Event(now, EventKind.DECISION_RECORDED, actor,
                          f"Final decision of {by} at {self.policy.label(stage.number)}:"
                          f"\n{decision}", case.stage, source))
        people = unique_people((case.referrer, *case.everyone(),
                                *self.partnership.business_managers))
        context = DecisionFacts(**self.audience.stage_fields(case), decision=decision,
                                decided_by=actor)
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
        require_open(case)
        require_text(reason, "WITHDRAW needs a reason: write it after WITHDRAW:")
        self._close(case, CaseStatus.WITHDRAWN, now)
        case.record(Event(now, EventKind.CASE_WITHDRAWN, actor, f"Withdrawn: {reason}",
                          case.stage, source))
        people = self.audience.with_business_managers(case.everyone())
        notices = [Notice(Template.WITHDRAWN, people, case.stage,
                          context=WithdrawnFacts(**self.audience.stage_fields(case),
                                                 reason=reason),
                          attachments=(Attachment.STAGE_ENDED_ICS,))]
        return notices + self.audience.rule_notices(case, NoticeMoment.WITHDRAWN,
                                                    key=moment_key(now))

    def _close(self, case: Case, status: CaseStatus, now: datetime) -> None:
        case.status, case.closed_at, case.next_chase_at = status, now, None
