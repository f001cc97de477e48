"""What `mailbot cases` and `mailbot policies` print: plain text for a terminal.

The policy files are read (pydantic, the bank holidays) only by the commands that print a
policy: `mailbot cases` lists rows and answers without them (issue 18).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from mailbot.domain.errors import ConfigError
from mailbot.domain.text import printable
from mailbot.domain.working_days import LONDON

if TYPE_CHECKING:  # the looking commands pass the store view, and need not import the services
    from mailbot.domain.case import Case
    from mailbot.domain.policy import Policy
    from mailbot.services.context import Services


def _when(moment, zone: ZoneInfo = LONDON) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else "-"


def list_cases(services: Services, zone: ZoneInfo = LONDON) -> str:
    with services.uow_factory() as uow:
        rows = uow.cases.summaries()
    lines = [f"{'REFERENCE':<16} {'PARTNERSHIP':<12} {'STAGE':<6} {'STATUS':<10} NEXT DEADLINE"]
    for row in rows:
        deadline = _when(row.deadline, zone) if row.status == "open" else "-"
        lines.append(f"{row.reference:<16} {row.policy_key:<12} {row.stage:<6} {row.status:<10} {deadline}")
    if not rows:
        lines.append("(no cases yet)")
    return printable("\n".join(lines))


def show_case(services: Services, reference: str, zone: ZoneInfo = LONDON) -> str | None:
    with services.uow_factory() as uow:
        case = uow.cases.get(reference)
    if case is None:
        return None
    policy = services.for_policy(case.policy_key).policy
    # What a form or an email put in the record never reaches the terminal as control codes.
    return printable("\n".join(_case_lines(case, policy, zone)))


def _case_lines(case: Case, policy: Policy, zone: ZoneInfo = LONDON) -> list[str]:
    lines = [f"{case.reference}  {policy.name}",
             f"Status: {case.status.value}",
             policy.label(case.stage),
             f"Deadline: {_when(case.deadline, zone) if case.is_open else '-'}",
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
        lines.append(f"  {_when(event.at, zone)}  {event.kind.value}  by {event.actor}"
                     f"  ({policy.step_word} {event.stage})")
        lines += _indent(event.text, 4)
    return lines


def _indent(text: str, spaces: int = 2) -> list[str]:
    return [" " * spaces + line for line in text.splitlines()]


def check_policies(directory: Path) -> tuple[str, bool]:
    """One line per valid file, one per problem of an invalid one (file, key, problem, fix),
    and one per policy whose reference prefix another already uses."""
    from mailbot.adapters.policy_files import load_policy_file, policy_paths, policy_problems
    from mailbot.domain.policy_checks import shared_prefixes

    paths = policy_paths(directory)
    problems = {str(path): policy_problems(path) for path in paths}
    valid = {file: load_policy_file(Path(file)) for file, found in problems.items() if not found}
    for clash in shared_prefixes(valid):
        problems[clash.file].append(clash)
    lines = [f"INVALID {problem}" if found else
             f"ok      {Path(file).name}: {valid[file].name}, {len(valid[file].stages)} stages"
             for file, found in problems.items() for problem in (found or [None])]
    if not paths:
        lines.append(f"no policy files in {directory}")
    return "\n".join(lines), bool(paths) and not any(problems.values())


def show_policy(directory: Path, name: str) -> str:
    from mailbot.adapters.policy_files import load_policy, policy_paths

    if not (directory / f"{name}.toml").is_file():
        names = ", ".join(path.stem for path in policy_paths(directory)) or "none"
        raise ConfigError("command line", "policies show", f"{name!r} is not a policy in {directory}"
                          f" (there: {names})", "Name one of those.")
    policy = load_policy(name, directory)
    step = policy.step_word
    lines = [f"{policy.name} ({policy.key}), case references {policy.reference_prefix}-YYYY-NNNN",
             f"Calendar: bank holidays of {policy.nation}, close of business"
             f" {policy.close_of_business:%H:%M}", *_entry_lines(policy), *_limit_lines(policy),
             "", f"{step}s:"]
    for stage in policy.stages:
        lines += _stage_lines(policy, stage)
    if policy.notify:
        lines += ["", f"At every {step.lower()}:"]
        lines += [f"  notify {_names(policy, r.roles)} at {_moment(r)}: {r.why}"
                  for r in policy.notify]
    lines += ["", f"Roles (and the {step.lower()}s they act at):"]
    for key, role in policy.roles.items():
        everywhere = any(key in rule.roles for rule in policy.notify)
        at = [str(s.number) for s in policy.stages if everywhere or key in _all_roles(s)]
        lines.append(f"  {key}: {role.name} [{role.level}] {step.lower()}s {', '.join(at) or '-'}")
    lines += ["", "Routing rules:"]
    for rule in policy.skip_rules:
        lines.append(f"  {rule.key}: {step} {rule.from_stage} -> {step} {rule.to_stage} when"
                     f" {rule.when.describe()} (every agency's type must be known). {rule.why}")
    if not policy.skip_rules:
        lines.append(f"  (none: escalation goes to the next {step.lower()})")
    lines += ["", "Immediate risk:", *_indent(policy.immediate_risk_guidance)]
    if policy.immediate_risk_local:
        lines += _indent(f"{policy.immediate_risk_local} (local addition, not in the policy)")
    if policy.general_guidance:
        lines += ["", "Guidance:", *[f"  - {g}" for g in policy.general_guidance]]
    terms = policy.decision_notice
    lines += ["", f"Decision notice: \"{terms.title}\"; decision row \"{terms.decision_row}\""]
    return "\n".join(lines)


def _entry_lines(policy: Policy) -> list[str]:
    if policy.entry is None:
        return [f"Entry: a referral that states no {policy.step_word.lower()} opens at"
                f" {policy.label(policy.first_stage.number)}"]
    entry = policy.entry
    return [f"Entry: a referral that states no {policy.step_word.lower()} opens at"
            f" {policy.label(entry.stage)}; a stated {policy.step_word.lower()} wins.",
            f"  The policy: \"{entry.words}\" ({entry.source})"]


def _limit_lines(policy: Policy) -> list[str]:
    limit = policy.stage_limit
    if limit is None:
        return [f"Timescale: no limit on a {policy.step_word.lower()} beyond its phases;"
                " EXTEND takes 1 to 60 working days"]
    kind = ("binding: EXTEND beyond it is refused" if limit.binding
            else "a guide: EXTEND beyond it needs a reason, and the business managers are told")
    return [f"Timescale: at most {limit.working_days} working days a {policy.step_word.lower()}"
            f" from the day a case enters it ({kind}).", f"  The policy: \"{limit.words}\""
            f" ({limit.source})"]


def _names(policy: Policy, roles) -> str:
    return ", ".join(policy.role_name(r) for r in roles)


def _moment(rule) -> str:
    return f"{rule.on.value.replace('_', ' ')} when {rule.when.describe()}"


def _all_roles(stage) -> set[str]:
    roles = set(stage.responsible)
    roles.update(r for p in stage.phases for r in p.roles)
    roles.update(r for c in stage.conditional_roles for r in c.roles)
    roles.update(r for n in stage.notify for r in n.roles)
    if stage.decision_maker:
        roles.add(stage.decision_maker)
    return roles


def _stage_lines(policy: Policy, stage) -> list[str]:
    lines = [f"  {policy.label(stage.number)}",
             f"    responsible: {_names(policy, stage.responsible)}"]
    for phase in stage.phases:
        who = f" ({_names(policy, phase.roles)})" if phase.roles else ""
        lines.append(f"    timescale: {phase.amount} {phase.unit.value.replace('_', ' ')}{who}"
                     f" - {phase.what}")
    for extra in stage.conditional_roles:
        lines.append(f"    also {_names(policy, extra.roles)} when {extra.when.describe()}")
    for rule in stage.notify:
        lines.append(f"    notify {_names(policy, rule.roles)} at {_moment(rule)}: {rule.why}")
    if stage.decision_maker:
        lines.append(f"    final decision: of {policy.decided_by(stage)}"
                     f" (role: {policy.role_name(stage.decision_maker)})")
    if stage.must_carry:
        lines.append(f"    a referral opening here must carry: {', '.join(stage.must_carry)}")
    if stage.record:
        lines.append(f"    record: {stage.record}")
    return lines
