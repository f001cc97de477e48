"""A policy file's parsed TOML, validated with pydantic and mapped onto the domain's ``Policy``.

Every problem pydantic finds becomes a ``PolicyError`` naming the file, the dotted key
(``stages[1].notify[0].roles``), the problem and the fix, like a config error; all of a
file's problems are reported together. The cross-checks that need the whole policy run in
the domain (``policy_checks``) once the file is well formed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from mailbot.adapters.policy_model import (
    ConditionTable,
    NotifyTable,
    PhaseTable,
    PolicyFile,
    StageTable,
)
from mailbot.domain.conditions import Condition
from mailbot.domain.errors import PolicyError, PolicyProblems
from mailbot.domain.policy import (
    ChaserSettings,
    ConditionalRoles,
    Entry,
    FormRules,
    NoticeMoment,
    NoticeTerms,
    NotifyRule,
    Phase,
    Policy,
    Role,
    SkipRule,
    Stage,
    StageLimit,
    TimeUnit,
)
from mailbot.domain.policy_checks import cross_check
from mailbot.domain.referral import AgencyType

_KINDS = {"int_type": "a whole number", "string_type": "text", "list_type": "a list",
          "model_type": "a table", "dict_type": "a table", "bool_type": "true/false"}
_UNKNOWN_FIX = ("Remove it or correct its spelling; a key written below a [table] header belongs to"
                " that table, so top-level keys go above the first one.")


def parse_policy(file: str, data: Mapping[str, Any]) -> Policy:
    """Validate and build a policy; raises ``PolicyProblems`` listing every problem found."""
    try:
        model = PolicyFile.model_validate(dict(data))
    except ValidationError as error:
        raise PolicyProblems(schema_problems(file, error)) from None
    policy = to_policy(model)
    problems = cross_check(file, policy)
    if problems:
        raise PolicyProblems(problems)
    return policy


def schema_problems(file: str, error: ValidationError) -> list[PolicyError]:
    # A misspelt key shows up twice: unknown, and a required one missing. The unknown one
    # names the misspelling, which is what the reader needs to see first.
    details = sorted(error.errors(), key=lambda e: e["type"] != "extra_forbidden")
    return [_problem(file, detail) for detail in details]


def _problem(file: str, detail: Mapping[str, Any]) -> PolicyError:
    kind, loc, value = detail["type"], detail["loc"], detail["input"]
    key = _dotted(loc)
    if kind == "missing":
        return PolicyError(file, key, "is required but missing",
                           "Add it; policies/README.md says what it holds.")
    if kind == "extra_forbidden":
        known = ", ".join(sorted(_table_at(loc[:-1]).model_fields))
        return PolicyError(file, key, f"is not a known key here (known: {known})", _UNKNOWN_FIX)
    if kind in _KINDS:
        return PolicyError(file, key, f"must be {_KINDS[kind]}, not {type(value).__name__}",
                           f"Write it as {_KINDS[kind]}.")
    return PolicyError(file, key, detail["msg"].removeprefix("Value error, "))


def _dotted(loc: tuple[int | str, ...]) -> str:
    parts = [part for part in loc if part != "[key]"]  # a dict key's own problem names the key
    key = ".".join(f"[{part}]" if isinstance(part, int) else str(part) for part in parts)
    return key.replace(".[", "[") or "-"


def _table_at(loc: tuple[int | str, ...]) -> type[BaseModel]:
    """The model of the table at ``loc``, for the list of keys it knows."""
    table: type[BaseModel] = PolicyFile
    for part in loc:
        field = table.model_fields.get(part) if isinstance(part, str) else None
        if field is not None:  # else a list index or a role's key: the same table goes on
            table = _model_in(field.annotation) or table
    return table


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for arg in get_args(annotation) if (m := _model_in(arg))), None)


def to_policy(file: PolicyFile) -> Policy:
    p, risk, chasers, form = file.partnership, file.immediate_risk, file.chasers, file.form
    notice, entry, limit = file.decision_notice, file.entry, file.timescale
    return Policy(
        key=p.key, name=p.name, reference_prefix=p.reference_prefix, source_document=p.source,
        step_word=p.step_word.strip() or "Stage",
        nation=file.calendar.nation, close_of_business=file.calendar.close_of_business,
        roles={key: Role(key, role.name, role.level, role.description) for key, role in file.roles.items()},
        stages=tuple(_stage(stage) for stage in file.stages),
        skip_rules=tuple(SkipRule(r.key, r.from_stage, r.to_stage, _condition(r.when), r.why, r.source)
                         for r in file.routing),
        immediate_risk_guidance=risk.guidance, immediate_risk_source=risk.source,
        immediate_risk_local=risk.local_addition,
        chasers=ChaserSettings(chasers.reminder_working_days_before, chasers.on_the_day,
                               max(1, chasers.overdue_every_working_days), chasers.send_at),
        form=FormRules(tuple(form.required), tuple(form.warned), tuple(form.fields), form.fields_source),
        general_guidance=tuple(file.guidance),
        entry=Entry(entry.stage, entry.words, entry.source) if entry else None,
        stage_limit=StageLimit(limit.stage_limit_working_days, limit.limit == "binding", limit.words,
                               limit.source) if limit else None,
        notify=_notify(file.notify),
        decision_notice=NoticeTerms(notice.title, notice.decision_row, notice.closing, notice.layout,
                                    notice.source),
    )


def _stage(s: StageTable) -> Stage:
    return Stage(
        number=s.number, name=s.name, responsible=tuple(s.responsible),
        phases=tuple(_phase(p) for p in s.phases), what_happens=s.what_happens, record=s.record,
        guidance=tuple(s.guidance), decision_maker=s.decision_maker, decided_by=s.decided_by,
        conditional_roles=tuple(ConditionalRoles(tuple(c.roles), _condition(c.when), c.source)
                                for c in s.conditional_roles),
        notify=_notify(s.notify), source=s.source, must_carry=tuple(s.must_carry),
        must_carry_why=s.must_carry_why,
    )


def _phase(p: PhaseTable) -> Phase:
    return Phase(p.amount, TimeUnit(p.unit), p.what, tuple(p.roles), p.source)


def _notify(tables: list[NotifyTable]) -> tuple[NotifyRule, ...]:
    """One rule per moment: ``on`` may list several."""
    return tuple(NotifyRule(tuple(n.roles), n.why, _condition(n.when), NoticeMoment(on), n.source)
                 for n in tables for on in n.on)


def _condition(c: ConditionTable) -> Condition:
    return Condition(
        agency_types_include=frozenset(AgencyType(t) for t in c.agency_types_include),
        agency_types_within=frozenset(AgencyType(t) for t in c.agency_types_within),
        child_protection_plan_or_looked_after=c.child_protection_plan_or_looked_after,
        child_protection_plan=c.child_protection_plan, looked_after=c.looked_after,
        immediate_risk=c.immediate_risk,
    )
