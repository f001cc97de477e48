"""Use cases over the record of cases as a whole: the port they read through, the case
record for the child's file, and subject access (which cases are about a child).

``CaseRecords`` is the store's partnership-wide view (``adapters/sqlalchemy_store/records``):
bulk reads without row locks, and the rewrite retention needs. Names are compared without
regard to case, spacing or punctuation, and a search lists every case whose child's name
holds all the words searched for: a subject access request must find every record, so it
errs towards listing one too many for a person to rule out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from mailbot.domain.case import Case, CaseStatus
from mailbot.domain.digest import CaseDates
from mailbot.domain.reporting import CaseOutline
from mailbot.services.context import Services


@dataclass(frozen=True)
class ChildOnRecord:
    reference: str
    policy_key: str
    status: CaseStatus
    opened_at: datetime
    child_name: str
    child_dob: str  # ISO date as stored, '' when the form gave none


@dataclass(frozen=True)
class MailErased:
    inbound: int  # raw messages emptied
    outbox: int  # sent (or queued) messages emptied


class CaseRecords(Protocol):
    def open_cases(self, policy_key: str) -> list[Case]: ...
    def opened_or_closed(self, policy_key: str, since: datetime,
                         until: datetime) -> list[CaseDates]: ...
    def outlines(self, start: datetime, end: datetime,
                 policy_keys: list[str] | None = None) -> list[CaseOutline]: ...
    def children(self) -> list[ChildOnRecord]: ...
    def closed_before(self, moment: datetime) -> list[tuple[str, str, datetime]]: ...
    def get_for_update(self, reference: str) -> Case | None: ...
    def replace_anonymised(self, case: Case) -> None: ...
    def erase_mail(self, reference: str, note: str) -> MailErased: ...


def load_case(services: Services, reference: str) -> Case | None:
    """The case, matched case-insensitively (contract section 2)."""
    with services.uow_factory() as uow:
        return uow.cases.get(reference.strip().upper())


def cases_about_child(services: Services, name: str, dob: date | None = None) -> list[ChildOnRecord]:
    """Every case whose child's name holds each word of ``name`` (and, if given, whose date
    of birth is ``dob``), oldest first."""
    wanted = name_words(name)
    if not wanted:
        raise ValueError("give the child's name to search for")
    with services.uow_factory() as uow:
        children = uow.records.children()
    return [child for child in children
            if wanted <= name_words(child.child_name)
            and (dob is None or child.child_dob == dob.isoformat())]


def name_words(name: str) -> frozenset[str]:
    """'O'Brien-Smith,  Amy' as {'obrien', 'smith', 'amy'}: case, spacing, apostrophes and
    punctuation do not count, hyphens split."""
    plain = re.sub(r"['\u2019`]", "", name.casefold())
    return frozenset(re.findall(r"\w+", plain))
