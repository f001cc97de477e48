"""What the record and the acknowledgement say about where a new case opened, and why.

A referral that states no stage opens at the policy's entry stage; the record quotes the
policy's own words for it, with the earlier evidence the referral carries and any warnings
about the form, so nothing the referrer said is lost from the case's history.
"""

from __future__ import annotations

from mailbot.domain.case import Case
from mailbot.domain.policy import Policy


def entry_words(policy: Policy, case: Case) -> str:
    """Why the case opened where it did, when the referral did not say."""
    entry, stated = policy.entry, case.referral.stage_reached
    if entry is None or (stated and policy.has_stage(stated)):
        return ""
    return (f"The referral did not state the {policy.step_word.lower()} it has reached,"
            f" so it opened at {policy.label(entry.stage)}, where the policy sends"
            f" referrals to the partnership: \"{entry.words}\"")


def opening_text(policy: Policy, case: Case, warnings: tuple[str, ...]) -> str:
    """The CaseOpened event's text: where, why there, the evidence carried, the warnings."""
    referral = case.referral
    text = f"Case opened at {policy.label(case.stage)}."
    if entry := entry_words(policy, case):
        text += f"\n{entry}"
    for label, value in (("Evidence of earlier stages", referral.earlier_stages_evidence),
                         ("Actions taken to date", referral.actions_to_date),
                         ("Rationale for referring to the partnership",
                          referral.referral_rationale)):
        if value:
            text += f"\n{label}:\n{value}"
    if warnings:
        text += "\nThe form did not give everything it should:\n" + "\n".join(
            f"- {w}" for w in warnings)
    return text
