"""What `mailbot cases` and `mailbot policies` print: plain text for a terminal."""

from __future__ import annotations

from pathlib import Path

from mailbot.adapters.policy_files import load_policy, load_policy_file, policy_paths
from mailbot.domain.case import Case
from mailbot.domain.errors import PolicyError
from mailbot.domain.policy import Policy
from mailbot.domain.working_days import LONDON
from mailbot.services.context import Services


def _when(moment) -> str:
    return moment.astimezone(LONDON).strftime("%Y-%m-%d %H:%M") if moment else "-"


def list_cases(services: Services) -> str:
    with services.uow_factory() as uow:
        rows = uow.cases.summaries()
    lines = [f"{'REFERENCE':<16} {'PARTNERSHIP':<12} {'STAGE':<6} {'STATUS':<10} NEXT DEADLINE"]
    for row in rows:
        deadline = _when(row.deadline) if row.status == "open" else "-"
        lines.append(f"{row.reference:<16} {row.policy_key:<12} {row.stage:<6} {row.status:<10} {deadline}")
    if not rows:
        lines.append("(no cases yet)")
    return "\n".join(lines)


def show_case(services: Services, reference: str) -> str | None:
    with services.uow_factory() as uow:
        case = uow.cases.get(reference)
    if case is None:
        return None
    policy = services.for_policy(case.policy_key).policy
    return "\n".join(_case_lines(case, policy))


def _case_lines(case: Case, policy: Policy) -> list[str]:
    stage = policy.stage(case.stage)
    lines = [f"{case.reference}  {policy.name}",
             f"Status: {case.status.value}",
             f"Stage {stage.number}: {stage.name}",
             f"Deadline: {_when(case.deadline) if case.is_open else '-'}",
             f"Referrer: {case.referrer.formatted()}",
             "People by role:"]
    if case.anonymised_at:
        lines.insert(2, f"Anonymised: {_when(case.anonymised_at)} (personal data removed at the"
                        " end of the retention period)")
    for role, people in sorted(case.parties.items()):
        lines.append(f"  {policy.role_name(role)}: {', '.join(p.formatted() for p in people)}")
    if case.outcome:
        lines += ["Outcome:", *_indent(case.outcome)]
    if case.decision:
        lines += ["Decision:", *_indent(case.decision)]
    lines.append("History:")
    for event in case.history:
        lines.append(f"  {_when(event.at)}  {event.kind.value}  by {event.actor}  (Stage {event.stage})")
        lines += _indent(event.text, 4)
    return lines


def _indent(text: str, spaces: int = 2) -> list[str]:
    return [" " * spaces + line for line in text.splitlines()]


def check_policies(directory: Path) -> tuple[str, bool]:
    lines, ok = [], True
    paths = policy_paths(directory)
    for path in paths:
        try:
            policy = load_policy_file(path)
            lines.append(f"ok      {path.name}: {policy.name}, {len(policy.stages)} stages")
        except PolicyError as error:
            ok = False
            lines.append(f"INVALID {error}")
    if not paths:
        ok = False
        lines.append(f"no policy files in {directory}")
    return "\n".join(lines), ok


def show_policy(directory: Path, name: str) -> str:
    policy = load_policy(name, directory)
    lines = [f"{policy.name} ({policy.key}), case references {policy.reference_prefix}-YYYY-NNNN",
             f"Calendar: bank holidays of {policy.nation}, close of business"
             f" {policy.close_of_business:%H:%M}", "", "Stages:"]
    for stage in policy.stages:
        lines += _stage_lines(policy, stage)
    lines += ["", "Roles (and the stages they act at):"]
    for key, role in policy.roles.items():
        at = [str(s.number) for s in policy.stages if key in _all_roles(s)]
        lines.append(f"  {key}: {role.name} [{role.level}] stages {', '.join(at) or '-'}")
    lines += ["", "Routing rules:"]
    for rule in policy.skip_rules:
        lines.append(f"  {rule.key}: Stage {rule.from_stage} -> Stage {rule.to_stage} when"
                     f" {rule.when.describe()}. {rule.why}")
    if not policy.skip_rules:
        lines.append("  (none: escalation goes to the next stage)")
    lines += ["", "Immediate risk:", *_indent(policy.immediate_risk_guidance)]
    if policy.general_guidance:
        lines += ["", "Guidance:", *[f"  - {g}" for g in policy.general_guidance]]
    return "\n".join(lines)


def _all_roles(stage) -> set[str]:
    roles = set(stage.responsible)
    roles.update(r for p in stage.phases for r in p.roles)
    roles.update(r for c in stage.conditional_roles for r in c.roles)
    roles.update(r for n in stage.notify for r in n.roles)
    if stage.decision_maker:
        roles.add(stage.decision_maker)
    return roles


def _stage_lines(policy: Policy, stage) -> list[str]:
    lines = [f"  Stage {stage.number}: {stage.name}",
             f"    responsible: {', '.join(policy.role_name(r) for r in stage.responsible)}"]
    for phase in stage.phases:
        who = f" ({', '.join(policy.role_name(r) for r in phase.roles)})" if phase.roles else ""
        lines.append(f"    timescale: {phase.amount} {phase.unit.value.replace('_', ' ')}{who}"
                     f" - {phase.what}")
    for extra in stage.conditional_roles:
        lines.append(f"    also {', '.join(policy.role_name(r) for r in extra.roles)} when"
                     f" {extra.when.describe()}")
    for rule in stage.notify:
        lines.append(f"    notify {', '.join(policy.role_name(r) for r in rule.roles)} at"
                     f" {rule.on.value.replace('_', ' ')} when {rule.when.describe()}: {rule.why}")
    if stage.decision_maker:
        lines.append(f"    final decision by: {policy.role_name(stage.decision_maker)}")
    if stage.record:
        lines.append(f"    record: {stage.record}")
    return lines
