"""Use case: the thematic report for the partnership's board (`mailbot report`).

Reads the outlines of every case alive in the period in one transaction (no row locks, no
names: see ``adapters/sqlalchemy_store/records``) and works out the tables with
``domain.reporting``; the entry point writes them out as a Word report, charts and a CSV.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mailbot.domain.referral import AgencyType
from mailbot.domain.reporting import Period, PolicyCalendar, ThematicReport, build_report
from mailbot.domain.working_days import LONDON
from mailbot.intake.fields import AGENCY_TYPE_LABELS
from mailbot.services.context import Services


def period_of(first_day: date, last_day: date, tz: ZoneInfo = LONDON) -> Period:
    """From the start of ``first_day`` to the end of ``last_day``, both included, local time."""
    if last_day < first_day:
        raise ValueError(f"the period ends ({last_day}) before it starts ({first_day})")
    return Period(datetime.combine(first_day, time(0), tzinfo=tz),
                  datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=tz))


def thematic_report(services: Services, period: Period, policies: Mapping[str, PolicyCalendar],
                    policy_keys: Sequence[str] | None = None) -> ThematicReport:
    """The report over the cases of ``policy_keys`` (every partnership when None)."""
    with services.uow_factory() as uow:
        outlines = uow.records.outlines(period.start, period.end,
                                        list(policy_keys) if policy_keys is not None else None)
    return build_report(outlines, policies, period, agency_label)


def agency_label(kind: AgencyType | None) -> str:
    return AGENCY_TYPE_LABELS[kind] if kind else "Agency type not given"
