"""Which field a printed label names: tolerant matching of a form's labels and headings.

Both form readers (Word and email) find answers by label. A label is folded (case, quotes,
punctuation, spacing) and looked up among each field's key, label and aliases in the catalogue
(``fields``); generic labels ("Name", "Role") mean what the section heading above them says.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from mailbot.intake.fields import FIELDS

# Labels that may follow another answer on the same line of one cell: Bury's Appendix 1 puts
# "Yes / No" and "Name of safeguarding lead:" in one box, and people type both on one line.
INLINE_LABELS = re.compile(r"(?=\bname of (?:the )?(?:designated )?safeguarding lead\s*:)",
                           re.IGNORECASE)

# Generic labels (Bury's "Name", "Role", "Contact Details") mean different fields depending on
# the section heading above them; "referrer" is the default because Bury's form says so.
CONTACT = "contact_details"
SECTION_LABELS: dict[str, dict[str, str]] = {
    "referrer": {"name": "referrer_name", "role": "referrer_role", "agency/team": "referrer_agency",
                 "agency": "referrer_agency", "team": "referrer_agency",
                 "email": "referrer_email", "email address": "referrer_email",
                 "e-mail": "referrer_email", "phone": "referrer_phone",
                 "telephone": "referrer_phone", "tel": "referrer_phone",
                 "phone number": "referrer_phone", "telephone number": "referrer_phone",
                 "mobile": "referrer_phone", "contact number": "referrer_phone",
                 "contact details": CONTACT, "contact": CONTACT},
    "safeguarding_lead": {"name": "safeguarding_lead_name", "email": "safeguarding_lead_email",
                          "email address": "safeguarding_lead_email",
                          "contact details": "safeguarding_lead_email"},
    "other_agency": {"name": "other_agency_contact_name", "agency": "other_agency",
                     "agency/team": "other_agency", "email": "other_agency_contact_email",
                     "email address": "other_agency_contact_email",
                     "contact": "other_agency_contact_name",
                     "contact details": "other_agency_contact_name"},
}
_SECTION_WORDS = (("safeguarding lead", "safeguarding_lead"), ("other agency", "other_agency"),
                  ("referrer", "referrer"))


_NOT_WORD = re.compile(r"[^\w/' ]+")
_SLASH = re.compile(r"\s*/\s*")
_POSSESSIVE = re.compile(r"'s\b")


def normalise_label(text: str) -> str:
    """Lower case, straight quotes, punctuation and spacing folded, trailing colons gone."""
    return _normalise_short(text) if len(text) <= _CACHED_LENGTH else _normalise(text)


# A form prints the same few hundred labels every time: reading them was most of a form's
# reading time until each short text was worked out once per process (issue 18).
_CACHED_LENGTH = 400


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'")
    text = text.lower().replace("&", " and ").replace("d.o.b", "dob").replace("_", " ")
    text = _NOT_WORD.sub(" ", text)
    text = _SLASH.sub("/", text)
    text = _POSSESSIVE.sub("s", text).replace("'", "")
    return " ".join(text.split())


_normalise_short = functools.lru_cache(maxsize=8192)(_normalise)
# Bytes that are not an ASCII letter or digit; a multi-byte UTF-8 character is all such bytes.
_NOT_ASCII_ALNUM = bytes(b for b in range(256) if b > 127 or not chr(b).isalnum())


def _surely_longer(text: str, limit: int) -> bool:
    """Whether ``normalise_label(text)`` is longer than ``limit``, told without normalising:
    every ASCII letter and digit of a text outlives folding (NFKC composes a letter only with
    the marks after it, and lower case never drops one), so more of them than ``limit``
    settles it. A form's long answers are not normalised just to be found too long for a
    label or heading (issue 18: 58 us for a 940-character summary)."""
    return len(text.encode("utf-8", "surrogatepass").translate(None, _NOT_ASCII_ALNUM)) > limit


def _alias_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for spec in FIELDS:
        for text in (spec.key.replace("_", " "), spec.label, *spec.aliases):
            table.setdefault(normalise_label(text), spec.key)
    return table


_ALIASES = _alias_table()
# Prefix matches only for aliases of several words, longest first, so that a long printed label
# ("Desired outcome for the child ... Please include details ...") still finds its field.
_PREFIXES: dict[str, list[str]] = {}
for _alias in sorted((a for a in _ALIASES if len(a.split()) >= 2), key=len, reverse=True):
    _PREFIXES.setdefault(_alias.split()[0], []).append(_alias)
_SECTION_ALIASES = {s: {normalise_label(k): v for k, v in m.items()}
                    for s, m in SECTION_LABELS.items()}


def match_label(text: str, section: str = "referrer") -> str | None:
    """The field key (or ``CONTACT``) a printed label names, or None when it names none."""
    if len(text) <= _CACHED_LENGTH:
        return _match_short(text, section)
    return None if _surely_longer(text, _LONGEST_LABEL) else _match(text, section)


_LONGEST_LABEL, _LONGEST_HEADING = 200, 80


def _match(text: str, section: str) -> str | None:
    norm = normalise_label(text)
    if not norm or len(norm) > _LONGEST_LABEL:
        return None
    found = _SECTION_ALIASES.get(section, {}).get(norm) or _ALIASES.get(norm)
    if found:
        return found
    candidates = _PREFIXES.get(norm.split(" ", 1)[0], ())
    return next((_ALIASES[a] for a in candidates if norm.startswith(a + " ")), None)


_match_short = functools.lru_cache(maxsize=8192)(_match)


def section_of_heading(text: str) -> str | None:
    """The section a heading line opens ("Referrer details", "Other agency"), if any."""
    if len(text) <= _CACHED_LENGTH:
        return _section_short(text)
    return None if _surely_longer(text, _LONGEST_HEADING) else _section_of_heading(text)


def _section_of_heading(text: str) -> str | None:
    norm = normalise_label(text)
    if len(norm) > _LONGEST_HEADING or match_label(text) not in (None, "referrer_name"):
        return None
    return next((s for words, s in _SECTION_WORDS if words in norm), None)


_section_short = functools.lru_cache(maxsize=8192)(_section_of_heading)
