"""A partnership's escalation policy as frozen values: the ladder the case engine climbs.

Policies are data (``policies/*.toml``, validated and read by ``adapters/policy_toml``); this
module only says what a policy means for one case: which stage comes next, who acts at a
stage, who must be told, and how long each phase of a stage may take.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum

from mailbot.domain.conditions import CaseFacts, Condition

# Every policy knows the referrer without declaring the role: the person whose Request for
# Resolution opened the case (the seeds' "worker who raised the initial concern").
REFERRER = "referrer"


class TimeUnit(StrEnum):
    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"
    CLOCK_HOURS = "clock_hours"


class NoticeMoment(StrEnum):
    """When a notification rule fires."""

    STAGE_START = "stage_start"
    OUTCOME = "outcome"  # a resolution or the final decision is recorded at that stage
    DEADLINE_CHANGED = "deadline_changed"  # EXTEND or SHORTEN at that stage
    WITHDRAWN = "withdrawn"


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
    decided_by: str = ""  # how the decision is attributed, when not to the role itself
    conditional_roles: tuple[ConditionalRoles, ...] = ()
    notify: tuple[NotifyRule, ...] = ()
    source: str = ""
    must_carry: tuple[str, ...] = ()  # form fields a referral opening here must give
    must_carry_why: str = ""  # the policy's words, for the reply that asks for them


@dataclass(frozen=True)
class Entry:
    """Where a referral that does not state its stage opens: where the policy sends cases to
    the partnership mailbox, in the policy's own words."""

    stage: int
    words: str
    source: str = ""


@dataclass(frozen=True)
class StageLimit:
    """How long any one stage may run, from the day the case entered it.

    ``binding``: EXTEND beyond it is refused; otherwise it is a guide, and going beyond it
    needs a reason, which the business managers are told.
    """

    working_days: int
    binding: bool
    words: str
    source: str = ""


@dataclass(frozen=True)
class NoticeTerms:
    """The decision notice (.docx) in the partnership's own terms."""

    title: str = "Decision notice"
    decision_row: str = "Final decision"
    closing: str = ""
    layout: str = "summary"  # "summary", or "appendix_1" for Bury's own form
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
    fields: tuple[str, ...] = ()  # the fields the partnership's own form has; () = every field
    fields_source: str = ""


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
    immediate_risk_local: str = ""  # a line the partnership added to the seed's words
    entry: Entry | None = None
    stage_limit: StageLimit | None = None
    step_word: str = "Stage"  # what the policy calls its steps (Bury: "Level")
    notify: tuple[NotifyRule, ...] = ()  # rules that hold at every stage
    decision_notice: NoticeTerms = field(default_factory=NoticeTerms)

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

    def label(self, number: int) -> str:
        """"Level 4: Exceptional Circumstances - BSCP": the stage as the policy names it."""
        name = self.stage(number).name if self.has_stage(number) else ""
        return f"{self.step_word} {number}" + (f": {name}" if name else "")

    def opening_stage(self, stated: int | None) -> Stage:
        """A stated stage wins; otherwise the entry stage, else the first stage."""
        if stated and self.has_stage(stated):
            return self.stage(stated)
        return self.stage(self.entry.stage) if self.entry else self.first_stage

    def passed_over(self, below: int, above: int, facts: CaseFacts) -> list[tuple[Stage, NotifyRule]]:
        """Stage-start rules of the stages strictly between two stages a case jumped across."""
        return [(stage, rule) for stage in self.stages if below < stage.number < above
                for rule in stage.notify
                if rule.on is NoticeMoment.STAGE_START and rule.when.holds(facts)]

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

    def undecided_rules(self, current: int, facts: CaseFacts) -> list[SkipRule]:
        """Routing rules at this stage that cannot be decided until an agency type is known."""
        return [rule for rule in self.skip_rules
                if rule.from_stage == current and rule.when.undecided(facts)]

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
        """The stage's own rules for this moment, then the policy's rules for every stage."""
        return [rule for rule in (*self.stage(number).notify, *self.notify)
                if rule.on is on and rule.when.holds(facts)]

    def role_name(self, key: str) -> str:
        role = self.roles.get(key)
        if role:
            return role.name
        return "Referrer" if key == REFERRER else key.replace("_", " ")

    def decided_by(self, stage: Stage) -> str:
        """Whose decision the notice records: the stage's own words, else its decision maker."""
        if stage.decided_by:
            return stage.decided_by
        return f"the {self.role_name(stage.decision_maker)}" if stage.decision_maker else ""
