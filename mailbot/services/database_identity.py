"""Use case: at start, make sure the database is the one mailbot issued references from.

An emptied, mistyped or restored database would silently start again at reference 0001, and
replies to old threads (matched by ``[REF]``) would land on another child's case. The
database carries an identity of its own (a random id in its state table); a marker outside
it (``ReferenceMarker``) names that identity and the highest reference issued in each
series. A database without the identity, with another one, or with counters behind the
marker's is refused, unless the operator says it is deliberate (``accept``); even then,
counters are raised to the marker's, so no reference is ever issued twice.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from mailbot.services.context import Services
from mailbot.services.ports import KeptMarker, ReferenceMarker

DATABASE_ID = "database-id"


@dataclass(frozen=True)
class DatabaseCheck:
    database_id: str
    problem: str  # "" when this is the database the marker names, as far on as it
    accepted: bool = False


def check_database(services: Services, marker: ReferenceMarker, *, accept: bool) -> DatabaseCheck:
    """The check's outcome; when ``problem`` is set and not ``accept``, nothing was changed."""
    kept = marker.read()
    with services.uow_factory() as uow:
        own = uow.state.get(DATABASE_ID)
        counters = uow.cases.reference_counters()
        problem = _problem(own, counters, kept)
        if problem and not accept:
            return DatabaseCheck(own or "", problem)
        if own is None:  # two workers starting at once on one database agree on one identity
            own = uow.state.setdefault(DATABASE_ID, secrets.token_hex(16))
        if kept is not None:
            uow.cases.raise_counters(kept.references)
        counters = uow.cases.reference_counters()
        uow.commit()
    marker.write(KeptMarker(own, counters))
    return DatabaseCheck(own, problem, accepted=bool(problem))


def _problem(own: str | None, counters: dict[str, int], kept: KeptMarker | None) -> str:
    if kept is None or not kept.references:
        return ""  # the first start (or the first since this check came in): nothing to reuse
    highest = _highest(kept.references)
    if own is None:
        return (f"it has no cases mailbot made, but references up to {highest} were issued"
                " before: it looks emptied, newly made or mistyped")
    if own != kept.database_id:
        return (f"it is not the database mailbot last used (which issued references up to"
                f" {highest}): it looks mistyped or swapped")
    behind = {series: n for series, n in kept.references.items() if counters.get(series, 0) < n}
    if behind:
        return (f"it is behind: references up to {_highest(behind)} were issued from it, but"
                " it does not know them: it looks restored from an older copy")
    return ""


def _highest(references: dict[str, int]) -> str:
    if not references:
        return "none"
    return ", ".join(f"{series}-{number:04d}" for series, number in sorted(references.items()))
