"""A stored case's values read back as the domain ``Case``: its columns, the referral and the
parties kept as JSON on the case row, and its history. No SQLAlchemy here, so the looking
commands (`mailbot cases`, `cases show`) can read a case without importing it (issue 18);
``sqlalchemy_store.case_rows`` writes rows with the same conversions.

Values are converted by the type each ``Referral`` field declares, so a field added to the
form later round-trips without a change here, and a stored key the dataclass no longer has
is dropped, not fatal.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from datetime import date
from enum import Enum
from typing import Any

from mailbot.domain.case import Case, CaseStatus, Event, EventKind
from mailbot.domain.referral import Person, Referral

# Case fields that are not plain columns of the same name.
_NOT_COLUMNS = frozenset({"history", "referral", "parties", "status"})


@functools.cache
def case_columns() -> tuple[str, ...]:
    """The ``Case`` fields copied one-to-one onto a ``cases`` column."""
    return tuple(f.name for f in dataclasses.fields(Case) if f.name not in _NOT_COLUMNS)


def case_from_rows(row: Any, events: typing.Iterable[Any]) -> Case:
    """``row`` and ``events`` are anything with the columns as attributes: ORM rows, or the
    plain rows ``case_reading`` decodes."""
    values = {name: getattr(row, name) for name in case_columns()}
    parties = {role: [Person(p["name"], p["email"]) for p in people]
               for role, people in (row.parties or {}).items()}
    return Case(**values, status=CaseStatus(row.status), referral=referral_from_json(row.referral),
                parties=parties, history=[event_from_row(e) for e in events])


def event_from_row(row: Any) -> Event:
    return Event(row.at, EventKind(row.kind), row.actor, row.text, row.stage,
                 row.source_message_id)


# --- the referral as JSON ------------------------------------------------------------------

def referral_to_json(referral: Referral) -> dict[str, Any]:
    return {name: _to_json(getattr(referral, name)) for name in _referral_fields()}


def referral_from_json(data: dict[str, Any]) -> Referral:
    readers = _field_readers()
    values = {}
    for name, value in data.items():
        if name in readers:
            reader = readers[name]
            values[name] = value if reader is None else reader(value)
    return Referral(**values)


def _to_json(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    return value


def _reader_for(hint: Any) -> typing.Callable[[Any], Any]:
    """A reader of a stored value as the declared type ``hint`` (``X | None``, a tuple, a
    scalar); None reads as None at every level."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return _reader_for(next(a for a in typing.get_args(hint) if a is not type(None)))
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            each = _reader_for(args[0])
            return lambda value: None if value is None else tuple(each(v) for v in value)
        readers = [_reader_for(a) for a in args]
        return lambda value: None if value is None else tuple(
            read(v) for read, v in zip(readers, value, strict=True))
    if isinstance(hint, type) and issubclass(hint, Enum):
        return lambda value: None if value is None else hint(value)
    if hint is date:
        return lambda value: None if value is None else date.fromisoformat(value)
    return lambda value: value


@functools.cache
def _referral_hints() -> dict[str, Any]:
    return typing.get_type_hints(Referral)


@functools.cache
def _referral_fields() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(Referral))


@functools.cache
def _field_readers() -> dict[str, typing.Callable[[Any], Any] | None]:
    """Each field's reader of a stored value, made once from its declared type: None for
    those read back as they are stored (text, numbers, flags). Working out a field's type
    on every case loaded had been most of reading a case's referral."""
    readers: dict[str, typing.Callable[[Any], Any] | None] = {}
    for name, hint in _referral_hints().items():
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        if typing.get_origin(hint) in (types.UnionType, typing.Union) and len(inner) == 1:
            hint = inner[0]
        readers[name] = None if hint in (str, int, float, bool) else _reader_for(hint)
    return readers
