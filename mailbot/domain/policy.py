"""A partnership's escalation policy as frozen values: the ladder the case engine climbs.

Policies are data (``policies/*.toml``, parsed by ``policy_schema``); this module only says
what a policy means for one case: which stage comes next, who acts at a stage, who must be
told, and how long each phase of a stage may take.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum

from mailbot.domain.referral import AgencyType


class TimeUnit(StrEnum):
    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"
    CLOCK_HOURS = "clock_hours"


class NoticeMoment(StrEnum):
    """When a notification rule fires."""

    STAGE_START = "stage_start"
    OUTCOME = "outcome"  # a resolution or the final decision is recorded at that stage


@dataclass(frozen=True)
class CaseFacts:
    """What routing rules may look at: facts about the case, never about people."""

    agency_types: frozenset[AgencyType] = frozenset()
    child_protection_plan: bool = False
    looked_after: bool = False
    immediate_risk: bool = False


@dataclass(frozen=True)
class Condition:
    """All given tests must hold; an empty condition always holds."""

    agency_types_include: frozenset[AgencyType] = frozenset()
    agency_types_within: frozenset[AgencyType] = frozenset()
    child_protection_plan_or_looked_after: bool | None = None
    child_protection_plan: bool | None = None
    looked_after: bool | None = None
    immediate_risk: bool | None = None

    def holds(self, facts: CaseFacts) -> bool:
        if self.agency_types_include and not (facts.agency_types & self.agency_types_include):
            return False
        if self.agency_types_within and not (
            facts.agency_types and facts.agency_types <= self.agency_types_within
        ):
            return False
        cp_or_la = facts.child_protection_plan or facts.looked_after
        if self.child_protection_plan_or_looked_after not in (None, cp_or_la):
            return False
        if self.child_protection_plan not in (None, facts.child_protection_plan):
            return False
        if self.looked_after not in (None, facts.looked_after):
            return False
        return self.immediate_risk in (None, facts.immediate_risk)

    def describe(self) -> str:
        parts = []
        if self.agency_types_include:
            parts.append("an agency involved is " + _or_list(self.agency_types_include))
        if self.agency_types_within:
            parts.append("every agency involved is " + _or_list(self.agency_types_within))
        if self.child_protection_plan_or_looked_after is not None:
            neg = "" if self.child_protection_plan_or_looked_after else "not "
            parts.append(f"the child is {neg}on a Child Protection Plan or Looked After")
        if self.child_protection_plan is not None:
            neg = "" if self.child_protection_plan else "not "
            parts.append(f"the child is {neg}on a Child Protection Plan")
        if self.looked_after is not None:
            parts.append("the child is Looked After" if self.looked_after
                         else "the child is not Looked After")
        if self.immediate_risk is not None:
            parts.append("the child is at immediate risk" if self.immediate_risk
                         else "the child is not at immediate risk")
        return " and ".join(parts) or "always"


def _or_list(types: frozenset[AgencyType]) -> str:
    return " or ".join(sorted(t.value.replace("_", " ") for t in types))


@dataclass(frozen=True)
class Role:
    key: str
    name: str
    level: str  # "case" (from the form or ASSIGN) or "partnership" (from [mailbox.contacts])
    description: str = ""


@dataclass(frozen=True)
class Phase:
    """One timed step of a stage; most stages have one, Bury's level 3 has two."""

    amount: int
    unit: TimeUnit
    what: str
    roles: tuple[str, ...] = ()  # empty: the stage's own responsible roles
    source: str = ""


@dataclass(frozen=True)
class NotifyRule:
    roles: tuple[str, ...]
    why: str
    when: Condition = field(default_factory=Condition)
    on: NoticeMoment = NoticeMoment.STAGE_START
    source: str = ""


@dataclass(frozen=True)
class ConditionalRoles:
    """Birmingham's "if one of the agencies is a school, the Head Teacher deals with this"."""

    roles: tuple[str, ...]
    when: Condition
    source: str = ""


@dataclass(frozen=True)
class Stage:
    number: int
    name: str
    responsible: tuple[str, ...]
    phases: tuple[Phase, ...]
    what_happens: str = ""
    record: str = ""
    guidance: tuple[str, ...] = ()
    decision_maker: str | None = None  # role key whose DECISION closes the case here
    conditional_roles: tuple[ConditionalRoles, ...] = ()
    notify: tuple[NotifyRule, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class SkipRule:
    """A routing rule that changes the ladder: from stage ``from_stage`` go to ``to_stage``."""

    key: str
    from_stage: int
    to_stage: int
    when: Condition
    why: str
    source: str = ""


@dataclass(frozen=True)
class ChaserSettings:
    reminder_working_days_before: int = 1
    on_the_day: bool = True
    overdue_every_working_days: int = 2
    send_at: time = time(9, 0)


@dataclass(frozen=True)
class FormRules:
    required: tuple[str, ...]
    warned: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    key: str
    name: str
    reference_prefix: str
    nation: str  # holidays subdivision: ENG, WLS, SCT or NIR
    close_of_business: time
    roles: Mapping[str, Role]
    stages: tuple[Stage, ...]
    immediate_risk_guidance: str
    skip_rules: tuple[SkipRule, ...] = ()
    chasers: ChaserSettings = field(default_factory=ChaserSettings)
    form: FormRules = field(default_factory=lambda: FormRules(required=()))
    general_guidance: tuple[str, ...] = ()
    source_document: str = ""
    immediate_risk_source: str = ""

    @property
    def first_stage(self) -> Stage:
        return self.stages[0]

    @property
    def last_stage(self) -> Stage:
        return self.stages[-1]

    def stage(self, number: int) -> Stage:
        for stage in self.stages:
            if stage.number == number:
                return stage
        raise KeyError(number)

    def has_stage(self, number: int) -> bool:
        return any(stage.number == number for stage in self.stages)

    def next_stage(self, current: int, facts: CaseFacts) -> Stage | None:
        """The stage ESCALATE leads to for this case, or None past the last stage."""
        for rule in self.skip_rules:
            if rule.from_stage == current and rule.when.holds(facts):
                return self.stage(rule.to_stage)
        later = [stage for stage in self.stages if stage.number > current]
        return later[0] if later else None

    def skip_rule_applied(self, current: int, facts: CaseFacts) -> SkipRule | None:
        return next((rule for rule in self.skip_rules
                     if rule.from_stage == current and rule.when.holds(facts)), None)

    def roles_at(self, number: int, facts: CaseFacts, phase: int = 0) -> tuple[str, ...]:
        """Who acts at this stage (and phase) for this case, in a stable order."""
        stage = self.stage(number)
        phase_roles = stage.phases[phase].roles if phase < len(stage.phases) else ()
        roles = list(phase_roles or stage.responsible)
        for extra in stage.conditional_roles:
            if extra.when.holds(facts):
                roles.extend(extra.roles)
        return tuple(dict.fromkeys(roles))

    def notify_rules(self, number: int, facts: CaseFacts, on: NoticeMoment) -> list[NotifyRule]:
        return [rule for rule in self.stage(number).notify
                if rule.on is on and rule.when.holds(facts)]

    def role_name(self, key: str) -> str:
        role = self.roles.get(key)
        return role.name if role else key.replace("_", " ")
