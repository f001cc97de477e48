"""What an email template can see of a notice's case, policy and recipient: plain dicts.

The jinja renderer hands templates these views rather than domain objects, so a template
cannot reach into a case and change it. The notice's own facts come from its typed context
(``notice_contexts``, ``service_notice_contexts``), whose defaults say what a template shows
when a fact does not apply, so the templates run under StrictUndefined and a misspelt name
still fails loudly.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from mailbot.adapters.plain_dates import date_phrase
from mailbot.domain.case import Case
from mailbot.domain.commands import COMMANDS
from mailbot.domain.policy import Policy
from mailbot.domain.referral import Person


def person_view(person: Person) -> dict[str, str]:
    return {"name": person.name, "email": person.email, "formatted": person.formatted()}


def case_view(case: Case, policy: Policy | None, tz: ZoneInfo) -> dict[str, Any]:
    """Everything a template may say about the case itself."""
    r = case.referral
    stage_name = _stage_name(policy, case.stage)
    return {
        "reference": case.reference,
        "child_name": r.child_name,
        "child_initials": initials(r.child_name),
        "child_dob": date_phrase(r.child_dob) or "not given",
        "date_of_notification": date_phrase(r.date_of_notification),
        "referrer": {**person_view(case.referrer), "role": r.referrer_role,
                     "agency": r.referrer_agency, "phone": r.referrer_phone},
        "other_agency": r.other_agency,
        "summary": r.summary,
        "desired_outcome": r.desired_outcome,
        "earlier_stages_evidence": r.earlier_stages_evidence,
        "disagreement_category": r.disagreement_category,
        "immediate_risk": bool(r.immediate_risk),
        "child_protection_plan": bool(r.child_protection_plan),
        "looked_after": bool(r.looked_after),
        "status": case.status.value,
        "is_open": case.is_open,
        "stage": case.stage,
        "stage_name": stage_name,
        "stage_label": stage_label(policy, case.stage, stage_name),
        "evidence": evidence(case),
        "safeguarding_lead_name": r.safeguarding_lead_name,
        "deadline": case.deadline.isoformat() if case.deadline else "",
        "opened_on": date_phrase(case.opened_at, tz=tz),
        "parties": _parties(case, policy),
        "outcome": case.outcome,
        "decision": case.decision,
    }


# What a referral says about what happened before it reached the partnership, as the decision
# makers need it in full (labels as the forms print them).
_EVIDENCE = (
    ("earlier_stages_evidence", None, "Evidence of the challenge that has taken place at earlier"
     " stages and the outcome at each stage"),
    ("actions_to_date", None, "Actions taken to date"),
    ("referral_rationale", None, "Rationale for referring to the partnership"),
    ("stage_3_evidence", "stage_3_outcome_date", "Stage 3: supporting evidence"),
    ("stage_4_final_decision", "stage_4_outcome_date", "Stage 4: final decision on the form"),
)


def evidence(case: Case) -> list[dict[str, str]]:
    """The referral's account of the earlier stages, each part with its label."""
    parts = []
    for key, date_key, label in _EVIDENCE:
        text = str(getattr(case.referral, key) or "")
        day = getattr(case.referral, date_key) if date_key else None
        if day:
            text = f"Date outcome resolved: {date_phrase(day)}\n{text}".strip()
        if text:
            parts.append({"label": label, "text": text})
    return parts


def stage_label(policy: Policy | None, number: int, stage_name: str | None = None) -> str:
    """``Level 2: Managers``, as the templates and the calendar entry name a stage."""
    name = _stage_name(policy, number) if stage_name is None else stage_name
    step = policy.step_word if policy else "Stage"
    return f"{step} {number}: {name}" if name else f"{step} {number}"


def _stage_name(policy: Policy | None, number: int) -> str:
    if policy is None or not policy.has_stage(number):
        return ""
    return policy.stage(number).name


def _parties(case: Case, policy: Policy | None) -> dict[str, list[str]]:
    """Case-level people by role name, in the order the policy declares its roles."""
    order = list(policy.roles) if policy else []
    keys = sorted(case.parties, key=lambda k: order.index(k) if k in order else len(order))
    name = policy.role_name if policy else (lambda key: key.replace("_", " "))
    return {name(key): [p.formatted() for p in case.parties[key]]
            for key in keys if case.parties[key]}


def initials(name: str) -> str:
    return "".join(f"{part[0].upper()}." for part in name.split() if part[:1].isalpha())


def policy_view(policy: Policy) -> dict[str, Any]:
    """The policy's name, guidance and the reply commands with this policy's own values."""
    return {
        "key": policy.key,
        "name": policy.name,
        "immediate_risk_guidance": policy.immediate_risk_guidance,
        "immediate_risk_local": policy.immediate_risk_local,
        "general_guidance": list(policy.general_guidance),
        "step_word": policy.step_word,
        "stages": [{"number": s.number, "name": s.name,
                    "label": policy.label(s.number)} for s in policy.stages],
        "roles": [{"key": r.key, "name": r.name} for r in policy.roles.values()],
        "commands": commands_help(policy),
    }


def commands_help(policy: Policy) -> list[dict[str, str]]:
    deciders = "; ".join(f"at {policy.step_word} {s.number}, of {policy.decided_by(s)}"
                         for s in policy.stages if s.decision_maker) or "at the last stage"
    limit = policy.stage_limit
    values = {
        "limit": (f"; the policy's timescale: \"{limit.words}\"" + (
            "" if limit.binding else " Going beyond it needs a reason") if limit else ""),
        "policy": policy.name,
        "stages": ", ".join(str(s.number) for s in policy.stages),
        "deciders": deciders,
        "roles": ", ".join(policy.roles),
    }
    return [{"syntax": word.syntax, "effect": word.effect.format(**values)} for word in COMMANDS]


def unassigned_roles(names: list[str], policy: Policy | None) -> list[dict[str, str]]:
    """The roles nobody holds, with the key an ASSIGN line needs for each."""
    keys = {role.name: role.key for role in policy.roles.values()} if policy else {}
    return [{"name": name, "key": keys.get(name, name.lower().replace(" ", "_"))}
            for name in names]
