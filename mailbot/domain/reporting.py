"""The thematic report for the partnership's board: what the tables say, from case outlines.

A ``CaseOutline`` is all the report reads of a case: its reference, partnership, status and
dates, the category of disagreement, the two agency types and each event's time, kind and
stage. None of it names a person, and anonymisation keeps all of it, so the report counts
anonymised cases exactly as before. Which cases each table counts:

- opened in the period: the categories and the agency-type pairs;
- closed in the period: the outcomes and the stage at which cases were resolved;
- a stage that ended in the period: the time in each stage against the policy's timescale;
- an event in the period: the chasers and the extensions.

Pure: the calendars and the period are arguments.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from statistics import median

from mailbot.domain.case import CaseStatus, EventKind
from mailbot.domain.policy import Policy
from mailbot.domain.referral import AgencyType
from mailbot.domain.report_values import Median, Share, Summed, Value, Withheld, withheld_cells
from mailbot.domain.stage_visits import EventOutline, StageVisit, stage_visits, timescale_words
from mailbot.domain.working_days import WorkingCalendar

NOT_GIVEN = "Not given"
ALL = "All partnerships"
CLOSED_BY = {CaseStatus.RESOLVED: "Resolved by agreement",
             CaseStatus.DECIDED: "Decided at the final stage",
             CaseStatus.WITHDRAWN: "Withdrawn"}
CHASER_ROWS = ((EventKind.REMINDER_SENT, "Reminders before a deadline"),
               (EventKind.DUE_TODAY_SENT, "Notices on the day of a deadline"),
               (EventKind.DEADLINE_MISSED, "Overdue notices"),
               (EventKind.DEADLINE_EXTENDED, "Deadlines extended"))
AgencyLabel = Callable[[AgencyType | None], str]


@dataclass(frozen=True)
class CaseOutline:
    reference: str
    policy_key: str
    status: CaseStatus
    opened_at: datetime
    closed_at: datetime | None
    stage: int
    category: str
    raised_by: AgencyType | None  # the referrer's agency
    raised_about: AgencyType | None  # the other agency
    events: tuple[EventOutline, ...]


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime  # the first moment after the period

    def __contains__(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end


@dataclass(frozen=True)
class Row:
    label: str
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Table:
    key: str  # names the chart's file and the CSV's rows
    title: str
    counts: str  # which cases the table counts, said in the report
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    charted: tuple[int, ...] = (0,)  # the columns the chart draws
    summed: tuple[Summed, ...] = ()  # counts whose total is shown: see report_values


@dataclass(frozen=True)
class ThematicReport:
    period: Period
    partnerships: tuple[str, ...]
    cases: int  # the outlines the report read
    tables: tuple[Table, ...]


@dataclass(frozen=True)
class PolicyCalendar:
    policy: Policy
    calendar: WorkingCalendar


def build_report(outlines: Sequence[CaseOutline], policies: Mapping[str, PolicyCalendar],
                 period: Period, agency_label: AgencyLabel) -> ThematicReport:
    """Every table, from the outlines of cases whose life overlaps the period."""
    names = {key: pc.policy.name for key, pc in policies.items()}
    visits = {o.reference: _visits(o, policies) for o in outlines}
    tables: tuple[Table, ...] = (
        _cases_table(outlines, period, names),
        _category_table(outlines, period),
        _pairs_table(outlines, period, agency_label),
        _resolved_at_table(outlines, period, policies),
        _time_in_stage_table(outlines, visits, period, policies),
        _chasers_table(outlines, period),
        _outcomes_table(outlines, period),
    )
    tables = tuple(_with_secondary_suppression(table) for table in tables)
    partnerships = tuple(sorted({names.get(o.policy_key, o.policy_key) for o in outlines}))
    return ThematicReport(period, partnerships, len(outlines), tables)


def _with_secondary_suppression(table: Table) -> Table:
    """The table with the counts withheld that would give a suppressed one away, and the
    shares in their rows (a share and its whole give the part back)."""
    withheld = withheld_cells([row.values for row in table.rows], table.summed)
    if not withheld:
        return table
    rows_touched = {row for row, _ in withheld}
    rows = tuple(
        Row(row.label, tuple(
            Withheld(value) if isinstance(value, int | Share)
            and ((r, c) in withheld or (r in rows_touched and isinstance(value, Share)))
            else value
            for c, value in enumerate(row.values)))
        for r, row in enumerate(table.rows))
    return replace(table, rows=rows)


def _every_row(rows: Sequence[Row], column: int = 0) -> tuple[Summed, ...]:
    return (Summed(column, tuple(range(len(rows)))),)


def _visits(outline: CaseOutline, policies: Mapping[str, PolicyCalendar]) -> list[StageVisit]:
    known = policies.get(outline.policy_key)
    if known is None:
        return []
    return stage_visits(outline.events, known.policy, known.calendar)


def _cases_table(outlines: Sequence[CaseOutline], period: Period,
                 names: Mapping[str, str]) -> Table:
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    for o in outlines:
        row = tally[names.get(o.policy_key, o.policy_key)]
        row["opened"] += o.opened_at in period
        closed_now = o.closed_at in period
        row["closed"] += closed_now and o.status in (CaseStatus.RESOLVED, CaseStatus.DECIDED)
        row["withdrawn"] += closed_now and o.status is CaseStatus.WITHDRAWN
    labels = sorted(tally)
    if len(labels) > 1:
        tally[ALL] = sum(tally.values(), Counter())
        labels.append(ALL)
    rows = tuple(Row(label, (tally[label]["opened"], tally[label]["closed"],
                             tally[label]["withdrawn"])) for label in labels)
    parts = tuple(range(len(rows) - 1)) if ALL in tally else ()  # the partnerships add up
    return Table("cases", "Cases opened, closed and withdrawn",
                 "Cases opened, and cases closed (resolved or decided) or withdrawn, in the period.",
                 ("Opened", "Closed", "Withdrawn"), rows, charted=(0, 1, 2),
                 summed=tuple(Summed(column, parts) for column in range(3)) if parts else ())


def _category_table(outlines: Sequence[CaseOutline], period: Period) -> Table:
    labels: dict[str, str] = {}  # one spelling per category, however it was typed
    tally: Counter[str] = Counter()
    for o in outlines:
        if o.opened_at in period:
            key = " ".join(o.category.casefold().split())
            labels.setdefault(key, " ".join(o.category.split()) or NOT_GIVEN)
            tally[key] += 1
    rows = _ranked(tally, labels)
    return Table("categories", "By category of disagreement", "Cases opened in the period.",
                 ("Cases",), rows, summed=_every_row(rows))  # they add up to the cases opened


def _pairs_table(outlines: Sequence[CaseOutline], period: Period, label: AgencyLabel) -> Table:
    tally: Counter[str] = Counter()
    for o in outlines:
        if o.opened_at in period:
            tally[f"{label(o.raised_by)} about {label(o.raised_about).lower()}"] += 1
    rows = _ranked(tally, {k: k for k in tally})
    return Table("agency_pairs", "By agency types: who raised it, about whom",
                 "Cases opened in the period: the referrer's agency, then the other agency.",
                 ("Cases",), rows, summed=_every_row(rows))  # they add up to the cases opened


def _ranked(tally: Counter[str], labels: Mapping[str, str]) -> tuple[Row, ...]:
    order = sorted(tally, key=lambda key: (-tally[key], labels[key]))
    return tuple(Row(labels[key], (tally[key],)) for key in order)


def _resolved_at_table(outlines: Sequence[CaseOutline], period: Period,
                       policies: Mapping[str, PolicyCalendar]) -> Table:
    tally: dict[tuple[str, int], Counter[CaseStatus]] = defaultdict(Counter)
    for o in outlines:
        if o.closed_at in period and o.status in (CaseStatus.RESOLVED, CaseStatus.DECIDED):
            tally[(o.policy_key, o.stage)][o.status] += 1
    rows = tuple(Row(_stage_label(policies, key, stage),
                     (tally[(key, stage)][CaseStatus.RESOLVED], tally[(key, stage)][CaseStatus.DECIDED]))
                 for key, stage in sorted(tally))
    return Table("resolved_at", "Stage at which cases were resolved",
                 "Cases closed in the period by agreement (RESOLVED) or by a final decision.",
                 ("Resolved by agreement", "Decided"), rows, charted=(0, 1),
                 summed=_every_row(rows, 0) + _every_row(rows, 1))  # to the outcomes' counts


def _time_in_stage_table(outlines: Sequence[CaseOutline], visits: Mapping[str, list[StageVisit]],
                         period: Period, policies: Mapping[str, PolicyCalendar]) -> Table:
    ended: dict[tuple[str, int], list[StageVisit]] = defaultdict(list)
    for o in outlines:
        for visit in visits[o.reference]:
            if visit.left in period:
                ended[(o.policy_key, visit.stage)].append(visit)
    rows = [_stage_time_row(policies, key, stage, ended[(key, stage)])
            for key, stage in sorted(ended)]
    every = [v for group in ended.values() for v in group]
    over = sum(v.ran_over for v in every)
    stages = tuple(range(len(rows)))  # they add up to the "All stages" row
    rows.append(Row("All stages", (len(every), "", "", over, Share(over, len(every)))))
    return Table("time_in_stage", "Time in each stage against the policy's timescale",
                 "Stages that ended in the period (moved on, resolved, decided or withdrawn);"
                 " a stage ran over when it ended after the policy's timescale for it.",
                 ("Stages ended", "Median time", "Policy timescale", "Ran over",
                  "Share that ran over"), tuple(rows), charted=(4,),
                 summed=(Summed(0, stages), Summed(3, stages)))


def _stage_time_row(policies: Mapping[str, PolicyCalendar], key: str, stage: int,
                    group: list[StageVisit]) -> Row:
    known = policies[key]
    days = [known.calendar.working_days_between(known.calendar.local(v.entered).date(),
                                                known.calendar.local(v.left).date())
            for v in group if v.left is not None]
    over = sum(v.ran_over for v in group)
    return Row(_stage_label(policies, key, stage),
               (len(group), Median(median(days) if days else 0.0, len(days)),
                timescale_words(known.policy, stage), over, Share(over, len(group))))


def _stage_label(policies: Mapping[str, PolicyCalendar], key: str, stage: int) -> str:
    known = policies.get(key)
    if known is None:
        return f"{key}: Stage {stage}"
    return f"{known.policy.name}: {known.policy.label(stage)}"


def _chasers_table(outlines: Iterable[CaseOutline], period: Period) -> Table:
    tally: Counter[EventKind] = Counter(kind for o in outlines for at, kind, _ in o.events
                                        if at in period)
    return Table("chasers", "Chasers and extensions",
                 "Reminders, notices and extensions of any case, sent or made in the period.",
                 ("Number",), tuple(Row(label, (tally[kind],)) for kind, label in CHASER_ROWS))


def _outcomes_table(outlines: Iterable[CaseOutline], period: Period) -> Table:
    tally: Counter[CaseStatus] = Counter(o.status for o in outlines if o.closed_at in period
                                         and o.status in CLOSED_BY)
    return Table("outcomes", "Outcomes", "Cases closed or withdrawn in the period.",
                 ("Cases",), tuple(Row(label, (tally[status],)) for status, label in CLOSED_BY.items()),
                 summed=(Summed(0, (0, 1)),))  # resolved and decided: the cases closed
