"""What each notice of the case engine tells its template, as typed values.

Each is a frozen dataclass the engine fills and the renderer reads, so a missing or misspelt
fact is a type error where the notice is made, not a blank in an email. All of them start
from ``StageFacts``, what every template may say about the case's current stage (a bounce's
``BounceDetails`` also stands alone, for mail no case is about). They read as mappings of
their fields too (``context["why"]``, ``"rule_roles" in context``), which is how the renderer
hands them to the templates. The service layer's own notices carry ``service_notice_contexts``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

# Each context type's field names, read once: asking the dataclass on every key of every
# render was a fifth of building a template's context.
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


@dataclass(frozen=True)
class NoticeContext:
    """The base of every typed context: its fields, read as a mapping."""

    def keys(self) -> tuple[str, ...]:
        names = _FIELD_NAMES.get(type(self))
        if names is None:
            names = _FIELD_NAMES[type(self)] = tuple(f.name for f in fields(self))
        return names

    def __getitem__(self, key: str) -> Any:
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in self.keys()

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in self.keys() else default

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.keys()}


@dataclass(frozen=True, kw_only=True)
class StageFacts(NoticeContext):
    """What every template may say about the case's current stage."""

    stage_number: int
    stage_name: str
    stage_label: str
    step_word: str
    what_happens: str
    phase_what: str
    record: str
    guidance: list[str]
    roles: list[str]  # the names of the roles acting now
    people: list[str]  # those holding them, formatted
    unassigned: list[str]  # the names of the roles nobody holds yet
    deadline: str | None  # ISO 8601
    decision_maker: str
    decision_by: str


@dataclass(frozen=True, kw_only=True)
class OpeningFacts(StageFacts):
    """The acknowledgement and the business managers' new-case notice."""

    warnings: list[str]
    entry_words: str
    routing_questions: list[str]
    held_for: list[str] = field(default_factory=list)  # addresses whose mail waits for ACCEPT


@dataclass(frozen=True, kw_only=True)
class StageNoticeFacts(StageFacts):
    why: str = ""  # why this person is told, when it is not that they act now
    rule_source: str = ""  # where the policy says so


@dataclass(frozen=True, kw_only=True)
class RuleNoticeFacts(StageNoticeFacts):
    """A stage notice a notify rule of the policy asks for."""

    why: str
    rule_source: str
    rule_roles: list[str]


@dataclass(frozen=True, kw_only=True)
class StageChangeFacts(StageFacts):
    from_stage: int
    text: str
    audience: str = "business_managers"  # or "referrer", or "released" (need act no more)


@dataclass(frozen=True, kw_only=True)
class ChaseFacts(StageFacts):
    overdue_number: int = 0


@dataclass(frozen=True, kw_only=True)
class OutcomeFacts(StageFacts):
    outcome: str


@dataclass(frozen=True, kw_only=True)
class DecisionFacts(StageFacts):
    decision: str
    decided_by: str


@dataclass(frozen=True, kw_only=True)
class WithdrawnFacts(StageFacts):
    reason: str


@dataclass(frozen=True, kw_only=True)
class DeadlineChangeFacts(StageFacts):
    text: str
    direction: str  # "extended" or "brought forward"


@dataclass(frozen=True, kw_only=True)
class BounceDetails(NoticeContext):
    """Mail that could not be delivered, as the bounce alert tells it with or without a case."""

    text: str
    failed_recipient: str = ""
    diagnostic: str = ""


@dataclass(frozen=True, kw_only=True)
class BounceFacts(StageFacts, BounceDetails):
    """A bounce of mail about a case: the details and the case's stage."""
