"""What a policy's conditions may look at, and when a condition holds for a case.

Routing rules, extra roles and notification rules carry a ``Condition`` (``policies/README.md``,
*Conditions*); the case engine asks it about the ``CaseFacts`` of one case. A condition about
every agency involved holds only when every agency's type is known: a form that leaves a
type blank must not send a case down a short cut the policy keeps for schools (Birmingham).
"""

from __future__ import annotations

from dataclasses import dataclass

from mailbot.domain.referral import AgencyType


@dataclass(frozen=True)
class CaseFacts:
    """What routing rules may look at: facts about the case, never about people."""

    agency_types: frozenset[AgencyType] = frozenset()
    child_protection_plan: bool = False
    looked_after: bool = False
    immediate_risk: bool = False
    # The agencies involved whose type the form does not say ("the other agency").
    agencies_of_unknown_type: tuple[str, ...] = ()


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
        if self.agency_types_within and not _all_known_within(facts, self.agency_types_within):
            return False
        cp_or_la = facts.child_protection_plan or facts.looked_after
        if self.child_protection_plan_or_looked_after not in (None, cp_or_la):
            return False
        if self.child_protection_plan not in (None, facts.child_protection_plan):
            return False
        if self.looked_after not in (None, facts.looked_after):
            return False
        return self.immediate_risk in (None, facts.immediate_risk)

    def undecided(self, facts: CaseFacts) -> bool:
        """True when the condition fails only for want of an agency type: it would hold if the
        unknown types turned out to fit, so a person must be asked."""
        if self.holds(facts) or not facts.agencies_of_unknown_type:
            return False
        if not (self.agency_types_within or self.agency_types_include):
            return False
        if self.agency_types_within and not facts.agency_types <= self.agency_types_within:
            return False
        guess = set(self.agency_types_include or self.agency_types_within)
        complete = CaseFacts(frozenset(facts.agency_types | {next(iter(sorted(guess)))}),
                             facts.child_protection_plan, facts.looked_after,
                             facts.immediate_risk)
        return self.holds(complete)

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


def _all_known_within(facts: CaseFacts, allowed: frozenset[AgencyType]) -> bool:
    """Every agency involved has a known type, and each is one of ``allowed``."""
    if facts.agencies_of_unknown_type or not facts.agency_types:
        return False
    return facts.agency_types <= allowed


def _or_list(types: frozenset[AgencyType]) -> str:
    return " or ".join(sorted(t.value.replace("_", " ") for t in types))
