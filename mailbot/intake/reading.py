"""What a form reader hands on: the answers it found, where, and what it could not read.

Both readers (Word attachments and structured emails) collect raw answers into a
``ReadingBuilder``, which types them through ``fields.parse_value`` and freezes the result into
a ``FormReading``; validation then turns that into a ``Referral`` or a reply naming what to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

from mailbot.domain.referral import AgencyType
from mailbot.intake import field_labels as L
from mailbot.intake import fields as F
from mailbot.intake.field_values import MARK_CLOSE as _MARK_CLOSE
from mailbot.intake.field_values import MARK_OPEN as _MARK_OPEN


# The two values a form holds dozens of are named tuples: as immutable as a frozen dataclass,
# and made in a third of the time (a frozen dataclass sets each field with a call of
# object.__setattr__), about 2% of reading a form (issue 18).
class FieldValue(NamedTuple):
    """One answer: the text as written, its typed value, and where in the form it was found."""

    raw: str
    value: object
    where: str


class FormControl(NamedTuple):
    """A content control or legacy form field as the document holds it, whatever it is for."""

    source: str  # "content control" or "legacy field"
    kind: str  # text, checkbox, dropdown, combobox, date, picture
    name: str  # the tag of a content control, the bookmark name of a legacy field
    value: str | bool | None
    alias: str = ""
    placeholder: bool = False  # an untouched content control still showing its prompt
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class FormReading:
    """Everything one form said: typed answers, unreadable answers, warnings, raw controls."""

    fields: Mapping[str, FieldValue]
    errors: Mapping[str, str]  # field key -> why the answer written there cannot be read
    warnings: tuple[str, ...] = ()
    controls: tuple[FormControl, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()
    source: str = "docx"

    def value(self, key: str, default: object = None) -> object:
        found = self.fields.get(key)
        return default if found is None else found.value

    def values(self) -> dict[str, object]:
        return {key: found.value for key, found in self.fields.items()}


# A name written with its email ("Jo Bloggs <jo@x.org>") fills the matching email field too.
_PERSON_EMAIL = {"referrer_name": "referrer_email",
                 "safeguarding_lead_name": "safeguarding_lead_email",
                 "other_agency_contact_name": "other_agency_contact_email"}


@dataclass
class ReadingBuilder:
    """Collects answers in the order of trust: the first non-empty answer for a field wins."""

    source: str = "docx"
    _fields: dict[str, FieldValue] = field(default_factory=dict)
    _errors: dict[str, str] = field(default_factory=dict)
    _warnings: list[str] = field(default_factory=list)
    _extra: list[tuple[str, str]] = field(default_factory=list)
    # The words each kept answer was read from: a form that gives the same words again (a
    # content control, then the table cell holding it) would be read to the same value.
    _read_from: dict[str, str] = field(default_factory=dict)
    controls: list[FormControl] = field(default_factory=list)

    def has(self, key: str) -> bool:
        return key in self._fields or key in self._errors

    def read_from(self, key: str, text: str) -> bool:
        """Whether ``text`` is, word for word, what the answer kept for ``key`` was read from:
        a table cell holding the content control already read says nothing new."""
        return self._read_from.get(key) == text

    def add_text(self, key: str, raw: str, where: str) -> None:
        """A written answer for ``key`` (or Bury's combined contact box), typed on the way in."""
        spec = F.FIELD_BY_KEY.get(key)
        if spec is None or spec.kind is not F.YES_NO:
            # A highlight says something only about Yes / No. Nearly every answer holds no
            # mark, and is not handed to unmarked() to be found so (issue 18).
            if _MARK_OPEN in raw or _MARK_CLOSE in raw:
                raw = F.unmarked(raw)
            raw = raw.strip()
            if not raw:
                return
        else:
            raw = raw.strip()
            if not raw or not F.unmarked(raw).strip():
                return
        if key == L.CONTACT:
            self._add_contact(raw, where)
            return
        if key in _PERSON_EMAIL and F.EMAIL_RE.search(raw):
            self.add_text(_PERSON_EMAIL[key], F.EMAIL_RE.search(raw)[0], where)
            raw = F.strip_email(raw)
        if self._read_from.get(key) == raw:
            return
        try:
            value = F.parse_value(key, raw)
        except ValueError as error:
            self._record_error(key, F.unmarked(raw), str(error), where)
            return
        kept = key in self._fields
        self.add_typed(key, value, F.unmarked(raw) if _MARK_OPEN in raw or _MARK_CLOSE in raw
                       else raw, where)
        if not kept and key in self._fields:
            self._read_from[key] = raw

    def add_typed(self, key: str, value: object, raw: str, where: str) -> None:
        """An answer already typed (a ticked box, a date picker); empty answers are skipped."""
        if value is None or value == "":
            return
        spec = F.FIELD_BY_KEY[key]
        if spec.kind is F.AGENCY_TYPE and not isinstance(value, AgencyType):
            self._warnings.append(f'{spec.label}: "{raw}" is not one of the agency types, '
                                  "so it was recorded as Other")
            value = AgencyType.OTHER
        if key in self._fields:
            self._note_repeat(key, value, where)
            return
        self._errors.pop(key, None)
        self._fields[key] = FieldValue(raw, value, where)

    def add_extra(self, label: str, value: str) -> None:
        label, value = " ".join(F.unmarked(label).split()).rstrip(":"), F.unmarked(value).strip()
        if label and value and (label, value) not in self._extra:
            self._extra.append((label, value))

    def warn(self, text: str) -> None:
        if text not in self._warnings:
            self._warnings.append(text)

    def build(self) -> FormReading:
        return FormReading(
            fields=MappingProxyType(dict(self._fields)), errors=MappingProxyType(dict(self._errors)),
            warnings=tuple(self._warnings), controls=tuple(self.controls),
            extra=tuple(self._extra), source=self.source)

    def _add_contact(self, raw: str, where: str) -> None:
        email, phone = F.split_contact(raw)
        if email:
            self.add_text("referrer_email", email, where)
        if phone:
            self.add_text("referrer_phone", phone, where)
        if not email and not phone:
            self.add_text("referrer_phone", raw, where)

    def _record_error(self, key: str, raw: str, why: str, where: str) -> None:
        if key in self._fields or key in self._errors:
            return
        hint = F.FIELD_BY_KEY[key].hint
        self._errors[key] = f"{why}; {hint}" if hint else why

    def _note_repeat(self, key: str, value: object, where: str) -> None:
        first = self._fields[key]
        if first.value != value:
            label = F.FIELD_BY_KEY[key].label
            self.warn(f"{label} was answered twice with different answers ({first.where} and "
                      f"{where}); the answer in {first.where} was used")
