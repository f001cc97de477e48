"""Turns a policy file's parsed TOML into a ``Policy``, naming file, key and problem on error.

The schema is documented in ``policies/README.md``. Parsing is pure: the caller reads the
file and passes the mapping with the file's name, so this runs the same in tests.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mailbot.domain.errors import PolicyError
from mailbot.domain.policy import (
    REFERRER,
    ChaserSettings,
    Condition,
    ConditionalRoles,
    FormRules,
    NoticeMoment,
    NotifyRule,
    Phase,
    Policy,
    Role,
    SkipRule,
    Stage,
    TimeUnit,
)
from mailbot.domain.policy_reader import TableReader
from mailbot.domain.policy_schema_parts import (
    check_entry_and_form,
    form_fields,
    parse_entry,
    parse_notice_terms,
    parse_stage_limit,
)
from mailbot.domain.referral import AgencyType

NATIONS = ("ENG", "WLS", "SCT", "NIR")
ROLE_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
PREFIX = re.compile(r"^[A-Z]{2,10}$")
DEFAULT_REQUIRED = ("child_name", "referrer_name", "referrer_email", "summary")


def parse_policy(file: str, data: Mapping[str, Any]) -> Policy:
    """Build and validate a policy; raises PolicyError naming the first problem found."""
    top = TableReader(file, data)
    top.unknown_keys({"partnership", "calendar", "roles", "stages", "routing", "immediate_risk",
                      "chasers", "form", "guidance", "entry", "timescale", "notify",
                      "decision_notice"})
    partnership = top.table("partnership")
    partnership.unknown_keys({"key", "name", "reference_prefix", "source", "step_word"})
    calendar = top.table("calendar", {})
    calendar.unknown_keys({"nation", "close_of_business"})
    risk = top.table("immediate_risk")
    risk.unknown_keys({"guidance", "source", "local_addition"})
    policy = Policy(
        key=partnership.text("key"),
        name=partnership.text("name"),
        reference_prefix=partnership.text("reference_prefix"),
        source_document=partnership.text("source", ""),
        step_word=partnership.text("step_word", "Stage").strip() or "Stage",
        nation=calendar.text("nation", "ENG"),
        close_of_business=calendar.clock("close_of_business", "17:00"),
        roles=_parse_roles(top.table("roles")),
        stages=tuple(_parse_stage(r) for r in top.tables("stages", required=True)),
        skip_rules=tuple(_parse_skip(r) for r in top.tables("routing")),
        immediate_risk_guidance=risk.text("guidance"),
        immediate_risk_source=risk.text("source", ""),
        immediate_risk_local=risk.text("local_addition", ""),
        chasers=_parse_chasers(top.table("chasers", {})),
        form=_parse_form(top.table("form", {})),
        general_guidance=top.strings("guidance"),
        entry=parse_entry(top.table("entry")) if "entry" in data else None,
        stage_limit=parse_stage_limit(top.table("timescale")) if "timescale" in data else None,
        notify=tuple(rule for n in top.tables("notify") for rule in _parse_notify(n)),
        decision_notice=parse_notice_terms(top.table("decision_notice", {})),
    )
    _check_references(file, policy)
    check_entry_and_form(file, policy)
    return policy


def _parse_roles(table: TableReader) -> dict[str, Role]:
    roles = {}
    for key in table.data:
        if not ROLE_KEY.match(key):
            raise table.fail(key, "role keys must be snake_case")
        role = table.table(key)
        role.unknown_keys({"name", "level", "description"})
        level = role.text("level")
        if level not in ("case", "partnership"):
            raise role.fail("level", "must be 'case' or 'partnership'")
        roles[key] = Role(key, role.text("name"), level, role.text("description", ""))
    if not roles:
        raise table.fail("", "must declare at least one role")
    return roles


def _parse_stage(r: TableReader) -> Stage:
    r.unknown_keys({"number", "name", "responsible", "phases", "what_happens", "record",
                    "guidance", "decision_maker", "decided_by", "conditional_roles", "notify",
                    "source", "must_carry", "must_carry_why"})
    return Stage(
        number=r.get("number", int),
        name=r.text("name"),
        responsible=r.strings("responsible"),
        phases=tuple(_parse_phase(p) for p in r.tables("phases", required=True)),
        what_happens=r.text("what_happens", ""),
        record=r.text("record", ""),
        guidance=r.strings("guidance"),
        decision_maker=r.get("decision_maker", str, None),
        decided_by=r.text("decided_by", ""),
        conditional_roles=tuple(_parse_conditional(c) for c in r.tables("conditional_roles")),
        notify=tuple(rule for n in r.tables("notify") for rule in _parse_notify(n)),
        source=r.text("source", ""),
        must_carry=form_fields(r, "must_carry"),
        must_carry_why=r.text("must_carry_why", ""),
    )


def _parse_phase(r: TableReader) -> Phase:
    r.unknown_keys({"amount", "unit", "what", "roles", "source"})
    amount = r.get("amount", int)
    if amount < 0:
        raise r.fail("amount", "cannot be negative")
    unit = r.text("unit")
    if unit not in TimeUnit.__members__.values():
        raise r.fail("unit", f"must be one of {', '.join(TimeUnit)}, not {unit!r}")
    return Phase(amount, TimeUnit(unit), r.text("what"), r.strings("roles"), r.text("source", ""))


def _parse_conditional(r: TableReader) -> ConditionalRoles:
    r.unknown_keys({"roles", "when", "source"})
    return ConditionalRoles(_role_list(r), _parse_condition(r.table("when")), r.text("source", ""))


def _role_list(r: TableReader) -> tuple[str, ...]:
    roles = r.strings("roles")
    if not roles:
        raise r.fail("roles", "must name at least one role")
    return roles


def _parse_notify(r: TableReader) -> list[NotifyRule]:
    """One rule per moment: ``on`` is one moment or a list of them."""
    r.unknown_keys({"on", "roles", "why", "when", "source"})
    moments = r.get("on", (str, list), NoticeMoment.STAGE_START.value)
    moments = [moments] if isinstance(moments, str) else moments
    if not moments:
        raise r.fail("on", "must name at least one moment")
    for on in moments:
        if on not in NoticeMoment.__members__.values():
            raise r.fail("on", f"must be one of {', '.join(NoticeMoment)}, not {on!r}")
    when = _parse_condition(r.table("when")) if "when" in r.data else Condition()
    return [NotifyRule(_role_list(r), r.text("why"), when, NoticeMoment(on),
                       r.text("source", "")) for on in moments]


def _parse_condition(r: TableReader) -> Condition:
    r.unknown_keys({"agency_types_include", "agency_types_within",
                    "child_protection_plan_or_looked_after", "child_protection_plan",
                    "looked_after", "immediate_risk"})
    return Condition(
        agency_types_include=_agency_types(r, "agency_types_include"),
        agency_types_within=_agency_types(r, "agency_types_within"),
        child_protection_plan_or_looked_after=r.get(
            "child_protection_plan_or_looked_after", bool, None),
        child_protection_plan=r.get("child_protection_plan", bool, None),
        looked_after=r.get("looked_after", bool, None),
        immediate_risk=r.get("immediate_risk", bool, None),
    )


def _agency_types(r: TableReader, name: str) -> frozenset[AgencyType]:
    values = r.strings(name)
    known = {t.value for t in AgencyType}
    for value in values:
        if value not in known:
            raise r.fail(name, f"{value!r} is not an agency type ({', '.join(sorted(known))})")
    return frozenset(AgencyType(v) for v in values)


def _parse_skip(r: TableReader) -> SkipRule:
    r.unknown_keys({"key", "from_stage", "to_stage", "when", "why", "source"})
    return SkipRule(r.text("key"), r.get("from_stage", int), r.get("to_stage", int),
                    _parse_condition(r.table("when")), r.text("why"), r.text("source", ""))


def _parse_chasers(r: TableReader) -> ChaserSettings:
    r.unknown_keys({"reminder_working_days_before", "on_the_day", "overdue_every_working_days",
                    "send_at"})
    return ChaserSettings(
        reminder_working_days_before=r.get("reminder_working_days_before", int, 1),
        on_the_day=r.get("on_the_day", bool, True),
        overdue_every_working_days=max(1, r.get("overdue_every_working_days", int, 2)),
        send_at=r.clock("send_at", "09:00"),
    )


def _parse_form(r: TableReader) -> FormRules:
    r.unknown_keys({"required", "warned", "fields", "fields_source"})
    return FormRules(form_fields(r, "required", DEFAULT_REQUIRED), form_fields(r, "warned"),
                     form_fields(r, "fields"), r.text("fields_source", ""))


def _check_references(file: str, policy: Policy) -> None:
    """Cross-checks that need the whole policy: every role and stage named must exist."""
    if not PREFIX.match(policy.reference_prefix):
        raise PolicyError(file, "partnership.reference_prefix", "must be 2 to 10 capital letters")
    if policy.nation not in NATIONS:
        raise PolicyError(file, "calendar.nation", f"must be one of {', '.join(NATIONS)}")
    if not policy.stages:
        raise PolicyError(file, "stages", "must list at least one stage")
    numbers = [stage.number for stage in policy.stages]
    if numbers != sorted(set(numbers)) or numbers[0] < 1:
        raise PolicyError(file, "stages", "stage numbers must be unique, ascending and from 1")
    for i, stage in enumerate(policy.stages):
        _check_stage_roles(file, f"stages[{i}]", stage, policy.roles)
    for i, rule in enumerate(policy.notify):
        _check_roles(file, f"notify[{i}].roles", rule.roles, policy.roles)
    for i, rule in enumerate(policy.skip_rules):
        for name in ("from_stage", "to_stage"):
            if not policy.has_stage(getattr(rule, name)):
                raise PolicyError(file, f"routing[{i}].{name}", "names a stage that does not exist")
        # A rule that led back down the ladder would let ESCALATE go round in a loop.
        if rule.to_stage <= rule.from_stage:
            raise PolicyError(file, f"routing[{i}].to_stage",
                              "must be a later stage than from_stage")
    # Without a decision maker at the last stage a case there could neither climb nor close.
    if not policy.last_stage.decision_maker:
        raise PolicyError(file, f"stages[{len(policy.stages) - 1}].decision_maker",
                          "the last stage needs a decision_maker: who makes the final decision?")


def _check_stage_roles(file: str, path: str, stage: Stage, roles: Mapping[str, Role]) -> None:
    named = [("responsible", stage.responsible)]
    named += [(f"phases[{i}].roles", p.roles) for i, p in enumerate(stage.phases)]
    named += [(f"conditional_roles[{i}].roles", c.roles)
              for i, c in enumerate(stage.conditional_roles)]
    named += [(f"notify[{i}].roles", n.roles) for i, n in enumerate(stage.notify)]
    named += [("decision_maker", (stage.decision_maker,) if stage.decision_maker else ())]
    for key, keys in named:
        _check_roles(file, f"{path}.{key}", keys, roles)
    if not stage.responsible:
        raise PolicyError(file, f"{path}.responsible", "a stage needs at least one responsible role")


def _check_roles(file: str, key: str, keys: tuple[str, ...], roles: Mapping[str, Role]) -> None:
    for role in keys:
        if role not in roles and role != REFERRER:
            raise PolicyError(file, key, f"role {role!r} is not declared under [roles]",
                              f"Add a [roles.{role}] table, or use one of: {', '.join(roles)}.")
