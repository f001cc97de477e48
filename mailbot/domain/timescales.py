"""How far a stage's deadline may move: EXTEND within the policy's limit, SHORTEN into the future.

The seeds set how long a stage may run ("Each stage should not exceed 10 working days", Bury;
"within one working week or a timescale that protects the child (whichever is shortest)",
City & Hackney). A binding limit refuses an extension past it in the policy's own words; a
guide lets it pass only with a reason, which the business managers are told. Pure.
"""

from __future__ import annotations

from datetime import datetime

from mailbot.domain.case import Case
from mailbot.domain.errors import CaseRuleRefused
from mailbot.domain.policy import Policy
from mailbot.domain.working_days import WorkingCalendar

MOST_DAYS = 60  # a typing slip ("EXTEND 500") is refused rather than obeyed


class Timescales:
    def __init__(self, policy: Policy, calendar: WorkingCalendar):
        self.policy, self.calendar = policy, calendar

    def extended(self, case: Case, days: int, reason: str) -> tuple[datetime, str]:
        """The deadline ``days`` working days later, and a note when it passes a guide."""
        _check_days("EXTEND", days)
        assert case.deadline is not None
        new = self._moved(case.deadline, days)
        limit = self.policy.stage_limit
        if limit is None:
            return new, ""
        latest = self.latest(case)
        if new <= latest:
            return new, ""
        quoted = f"\"{limit.words}\" ({limit.source})" if limit.source else f"\"{limit.words}\""
        where = (f"{self.policy.label(case.stage)} began on {case.stage_entered_at:%d %B %Y}, so"
                 f" under the {self.policy.name} policy it may run until {latest:%d %B %Y %H:%M}")
        if limit.binding:
            raise CaseRuleRefused(
                f"EXTEND {days} would move the deadline to {new:%d %B %Y %H:%M}. {where}: {quoted}."
                " Escalate the case instead, or extend it by fewer days.")
        if not reason.strip():
            raise CaseRuleRefused(
                f"EXTEND {days} would move the deadline to {new:%d %B %Y %H:%M}, beyond the"
                f" policy's timescale: {quoted}. {where}. To go beyond it, give the reason the"
                f" agencies agreed: EXTEND {days}: reason.")
        return new, (f"This goes beyond the policy's timescale, {quoted}; {where}. The business"
                     " managers are told.")

    def shortened(self, case: Case, days: int, now: datetime) -> datetime:
        """The deadline ``days`` working days sooner; never a moment already past."""
        _check_days("SHORTEN", days)
        assert case.deadline is not None
        day = self.calendar.local(case.deadline).date()
        for _ in range(days):
            day = self.calendar.previous_working_day(day)
        new = self.calendar.close_of(day)
        if new <= now:
            raise CaseRuleRefused(
                f"SHORTEN {days} would move the deadline to {new:%d %B %Y %H:%M}, which has"
                f" already passed. The deadline is now {case.deadline:%d %B %Y %H:%M}.")
        return new

    def latest(self, case: Case) -> datetime:
        """The latest a stage may run to under the policy's limit (its close of business)."""
        assert self.policy.stage_limit is not None
        return self.calendar.deadline_in_working_days(case.stage_entered_at,
                                                      self.policy.stage_limit.working_days)

    def _moved(self, deadline: datetime, days: int) -> datetime:
        day = self.calendar.add_working_days(self.calendar.local(deadline).date(), days)
        return self.calendar.close_of(day)


def _check_days(verb: str, days: int) -> None:
    if days < 1 or days > MOST_DAYS:
        raise CaseRuleRefused(f"{verb} takes a number of working days from 1 to {MOST_DAYS}.")
