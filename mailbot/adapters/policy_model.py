"""The schema of a policy file (``policies/README.md``) as pydantic models, one per table.

``policy_toml`` validates a file's parsed TOML against ``PolicyFile`` and maps the result
onto the frozen dataclasses of ``mailbot.domain.policy``. Checks that need the whole policy
(every role named is declared, routing leads up the ladder) stay in the domain
(``mailbot.domain.policy_checks``); what is here is what one key can say about itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import time
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from mailbot.domain.policy import NoticeMoment, TimeUnit
from mailbot.domain.referral import AgencyType, Referral

NATIONS = ("ENG", "WLS", "SCT", "NIR")
LAYOUTS = ("summary", "appendix_1")
FORM_FIELDS = frozenset(Referral.__dataclass_fields__) - {"extra"}
DEFAULT_REQUIRED = ("child_name", "referrer_name", "referrer_email", "summary")
_ROLE_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_PREFIX = re.compile(r"^[A-Z]{2,10}$")


def _check(test: Callable[[Any], bool], problem: Callable[[Any], str]) -> AfterValidator:
    """A validator whose message is the problem as the error line shows it after the key."""

    def check(value: Any) -> Any:
        if not test(value):
            raise ValueError(problem(value))
        return value

    return AfterValidator(check)


def _one_of(values: Iterable[str]) -> AfterValidator:
    allowed = tuple(values)
    return _check(lambda v: v in allowed, lambda v: f"must be one of {', '.join(allowed)}, not {v!r}")


def _listed(known: Iterable[str], what: str) -> AfterValidator:
    names = sorted(known)
    return _check(lambda values: all(v in names for v in values),
                  lambda values: f"{next(v for v in values if v not in names)!r} is not {what}"
                                 f" ({', '.join(names)})")


def _clock(value: Any) -> Any:
    """'17:00' (TOML has no time-of-day literal we ask people to write) read as a time."""
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"must be a time like 17:00, not {value!r}") from None


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Text = Annotated[str, _check(lambda v: bool(v.strip()), lambda v: "must not be empty")]
Clock = Annotated[time, BeforeValidator(_clock)]
RoleList = Annotated[list[str], _check(bool, lambda v: "must name at least one role")]
FormFields = Annotated[list[str], _listed(FORM_FIELDS, "a form field")]
AgencyTypes = Annotated[list[str], _listed((t.value for t in AgencyType), "an agency type")]
RoleKey = Annotated[str, _check(lambda v: bool(_ROLE_KEY.match(v)), lambda v: "role keys must be snake_case")]
Moments = Annotated[list[str], BeforeValidator(_as_list),
                    _check(bool, lambda v: "must name at least one moment"),
                    _check(lambda v: all(on in tuple(NoticeMoment) for on in v), lambda v: (
                        f"must be one of {', '.join(NoticeMoment)},"
                        f" not {next(on for on in v if on not in tuple(NoticeMoment))!r}"))]


class Table(BaseModel):
    # Strict: a number written as text, or text as a number, is a mistake to name, not to guess.
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class PartnershipTable(Table):
    key: Text
    name: Text
    reference_prefix: Annotated[str, _check(lambda v: bool(_PREFIX.match(v)),
                                            lambda v: "must be 2 to 10 capital letters")]
    source: str = ""
    step_word: str = "Stage"


class CalendarTable(Table):
    nation: Annotated[str, _one_of(NATIONS)] = "ENG"
    close_of_business: Clock = time(17, 0)


class ImmediateRiskTable(Table):
    guidance: Text
    source: str = ""
    local_addition: str = ""


class RoleTable(Table):
    name: Text
    level: Annotated[str, _check(lambda v: v in ("case", "partnership"),
                                 lambda v: "must be 'case' or 'partnership'")]
    description: str = ""


class ConditionTable(Table):
    agency_types_include: AgencyTypes = []
    agency_types_within: AgencyTypes = []
    child_protection_plan_or_looked_after: bool | None = None
    child_protection_plan: bool | None = None
    looked_after: bool | None = None
    immediate_risk: bool | None = None


class PhaseTable(Table):
    amount: Annotated[int, _check(lambda v: v >= 0, lambda v: "cannot be negative")]
    unit: Annotated[str, _one_of(TimeUnit)]
    what: Text
    roles: list[str] = []
    source: str = ""


class ConditionalRolesTable(Table):
    roles: RoleList
    when: ConditionTable
    source: str = ""


class NotifyTable(Table):
    """``on`` is one moment or a list of them; the domain gets one rule per moment."""

    on: Moments = [NoticeMoment.STAGE_START.value]
    roles: RoleList
    why: Text
    when: ConditionTable = ConditionTable()
    source: str = ""


class StageTable(Table):
    number: int
    name: Text
    responsible: list[str] = []
    phases: list[PhaseTable]
    what_happens: str = ""
    record: str = ""
    guidance: list[str] = []
    decision_maker: str | None = None
    decided_by: str = ""
    conditional_roles: list[ConditionalRolesTable] = []
    notify: list[NotifyTable] = []
    source: str = ""
    must_carry: FormFields = []
    must_carry_why: str = ""


class RoutingTable(Table):
    key: Text
    from_stage: int
    to_stage: int
    when: ConditionTable
    why: Text
    source: str = ""


class ChasersTable(Table):
    reminder_working_days_before: int = 1
    on_the_day: bool = True
    overdue_every_working_days: int = 2
    send_at: Clock = time(9, 0)


class FormTable(Table):
    required: FormFields = list(DEFAULT_REQUIRED)
    warned: FormFields = []
    fields: FormFields = []
    fields_source: str = ""


class EntryTable(Table):
    stage: int
    words: Text
    source: str = ""


class TimescaleTable(Table):
    stage_limit_working_days: Annotated[int, _check(lambda v: v >= 1, lambda v: "must be at least 1")]
    limit: Annotated[str, _check(lambda v: v in ("binding", "guide"), lambda v: (
        "must be 'binding' (EXTEND beyond it is refused) or 'guide' (going beyond it needs a reason)"))]
    words: Text
    source: str = ""


class DecisionNoticeTable(Table):
    title: str = "Decision notice"
    decision_row: str = "Final decision"
    closing: str = ""
    layout: Annotated[str, _one_of(LAYOUTS)] = "summary"
    source: str = ""


class PolicyFile(Table):
    guidance: list[str] = []
    partnership: PartnershipTable
    entry: EntryTable | None = None
    timescale: TimescaleTable | None = None
    notify: list[NotifyTable] = []
    decision_notice: DecisionNoticeTable = DecisionNoticeTable()
    calendar: CalendarTable = CalendarTable()
    immediate_risk: ImmediateRiskTable
    chasers: ChasersTable = ChasersTable()
    form: FormTable = FormTable()
    roles: Annotated[dict[RoleKey, RoleTable], _check(bool, lambda v: "must declare at least one role")]
    stages: list[StageTable]
    routing: list[RoutingTable] = []
