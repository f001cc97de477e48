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
from datetime import date

from mailbot.domain.case import Case
from mailbot.services.context import Services
from mailbot.services.stored import ChildOnRecord


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
