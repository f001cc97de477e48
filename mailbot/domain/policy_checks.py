"""The checks a policy needs the whole of itself, or every policy, to make.

The policy file's adapter checks each key on its own (types, allowed values, unknown keys);
these ask whether the parts agree: every role named is declared, stage numbers climb from 1,
routing leads up the ladder, the last stage has someone to decide, the policy asks only for
fields its own form has, and no two policies share a reference prefix. Each returns every
problem it finds, so one run of `mailbot policies check` shows them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath

from mailbot.domain.errors import PolicyError
from mailbot.domain.policy import REFERRER, Policy, Role, Stage


def cross_check(file: str, policy: Policy) -> list[PolicyError]:
    if not policy.stages:
        return [PolicyError(file, "stages", "must list at least one stage")]
    problems = _stage_problems(file, policy) + _routing_problems(file, policy)
    problems += _entry_and_form_problems(file, policy)
    for i, rule in enumerate(policy.notify):
        problems += _undeclared(file, f"notify[{i}].roles", rule.roles, policy.roles)
    # Without a decision maker at the last stage a case there could neither climb nor close.
    if not policy.last_stage.decision_maker:
        problems.append(PolicyError(file, f"stages[{len(policy.stages) - 1}].decision_maker",
                                    "the last stage needs a decision_maker: who makes the final decision?"))
    return problems


def shared_prefixes(policies: Mapping[str, Policy]) -> list[PolicyError]:
    """Two policies with one reference prefix would hand out the same case references.

    ``policies`` maps each file to its policy, in the order the files are read. Two mailboxes
    may share one policy; two policies may not share a prefix.
    """
    first: dict[str, str] = {}
    problems = []
    for file, policy in policies.items():
        owner = first.setdefault(policy.reference_prefix, file)
        if owner != file and policies[owner].key != policy.key:
            used = f"{policy.reference_prefix!r} is already used by {PurePath(owner).name}"
            problems.append(PolicyError(file, "partnership.reference_prefix", used,
                                        "Choose another prefix: case references must never clash."))
    return problems


def _stage_problems(file: str, policy: Policy) -> list[PolicyError]:
    problems = []
    numbers = [stage.number for stage in policy.stages]
    if numbers != sorted(set(numbers)) or numbers[0] < 1:
        problems.append(PolicyError(file, "stages", "stage numbers must be unique, ascending and from 1"))
    for i, stage in enumerate(policy.stages):
        problems += _stage_roles(file, f"stages[{i}]", stage, policy.roles)
    return problems


def _stage_roles(file: str, path: str, stage: Stage, roles: Mapping[str, Role]) -> list[PolicyError]:
    named = [("responsible", stage.responsible)]
    named += [(f"phases[{i}].roles", p.roles) for i, p in enumerate(stage.phases)]
    named += [(f"conditional_roles[{i}].roles", c.roles) for i, c in enumerate(stage.conditional_roles)]
    named += [(f"notify[{i}].roles", n.roles) for i, n in enumerate(stage.notify)]
    named += [("decision_maker", (stage.decision_maker,) if stage.decision_maker else ())]
    problems = [problem for key, keys in named for problem in _undeclared(file, f"{path}.{key}", keys, roles)]
    if not stage.responsible:
        problems.append(PolicyError(file, f"{path}.responsible",
                                    "a stage needs at least one responsible role"))
    return problems


def _undeclared(file: str, key: str, keys: tuple[str, ...], roles: Mapping[str, Role]) -> list[PolicyError]:
    return [PolicyError(file, key, f"role {role!r} is not declared under [roles]",
                        f"Add a [roles.{role}] table, or use one of: {', '.join(roles)}.")
            for role in keys if role not in roles and role != REFERRER]


def _routing_problems(file: str, policy: Policy) -> list[PolicyError]:
    problems = []
    for i, rule in enumerate(policy.skip_rules):
        missing = [name for name in ("from_stage", "to_stage") if not policy.has_stage(getattr(rule, name))]
        problems += [PolicyError(file, f"routing[{i}].{name}", "names a stage that does not exist")
                     for name in missing]
        # A rule that led back down the ladder would let ESCALATE go round in a loop.
        if not missing and rule.to_stage <= rule.from_stage:
            problems.append(PolicyError(file, f"routing[{i}].to_stage",
                                        "must be a later stage than from_stage"))
    return problems


def _entry_and_form_problems(file: str, policy: Policy) -> list[PolicyError]:
    """The entry stage exists, and the policy asks only for fields its own form has."""
    problems = []
    if policy.entry and not policy.has_stage(policy.entry.stage):
        problems.append(PolicyError(file, "entry.stage", f"names Stage {policy.entry.stage}, which the"
                                    " policy does not have"))
    own = set(policy.form.fields)
    if not own:
        return problems
    asked = [("form.required", policy.form.required), ("form.warned", policy.form.warned)]
    asked += [(f"stages[{i}].must_carry", s.must_carry) for i, s in enumerate(policy.stages)]
    for key, fields in asked:
        # The referrer's email can always come from the message that carried the form.
        missing = [f for f in fields if f not in own and f != "referrer_email"]
        if missing:
            problems.append(PolicyError(file, key, f"{missing[0]!r} is not on this partnership's own form"
                                        " (form.fields): a referrer cannot be asked for it"))
    return problems
