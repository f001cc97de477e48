"""Rules every case change checks first, shared by the case engine's sections."""

from __future__ import annotations

from mailbot.domain.case import Case
from mailbot.domain.errors import CaseRuleRefused


def require_open(case: Case) -> None:
    if not case.is_open:
        raise CaseRuleRefused(f"{case.reference} is {case.status.value}; a closed case"
                              " cannot be changed. Send a new referral to reopen the concern.")


def require_text(text: str, problem: str) -> None:
    if not text.strip():
        raise CaseRuleRefused(problem)


def with_reason(reason: str) -> str:
    """The reason given with a command, as the record's sentence ends it."""
    return f" Reason: {reason}" if reason else ""
