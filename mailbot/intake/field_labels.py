"""Which field a printed label names: tolerant matching of a form's labels and headings.

Both form readers (Word and email) find answers by label. A label is folded (case, quotes,
punctuation, spacing) and looked up among each field's key, label and aliases in the catalogue
(``fields``); generic labels ("Name", "Role") mean what the section heading above them says.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from typing import TypeVar

from mailbot.intake.fields import FIELDS

T = TypeVar("T")

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


def normalise_once(text: str) -> str:
    """``normalise_label`` for a text that may be an answer: worked out, not remembered."""
    return _normalise(text)


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


# ---------------------------------------------------------------- what cannot be a label
# Every line and cell of a form is asked whether it is a label or a heading, its answers too,
# and each answer is new text: folding them cost more than the rest of reading them (issue 18),
# and remembering them kept children's details in memory. Folding keeps each ASCII letter
# and digit in order (lower-cased, "&" spelt "and") and makes everything else a space or
# nothing, so for text of ASCII and the punctuation Word types, its letters and digits alone
# show that no label or heading is there: folded text cannot start with a label whose own
# letters and digits it does not start with. Such text is turned away unfolded, unremembered.

# Characters NFKC leaves as they are (or makes a space) and folding then makes a space or an
# apostrophe: curly quotes, dashes, a non-breaking space.
_TYPED_PUNCTUATION = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                                    "\u2013": "-", "\u2014": "-", "\u00a0": " "})


def _letters_and_digits(text: str) -> bytes | None:
    """The letters and digits of ``normalise_label(text)``, in order; None when the text
    holds a character folding could make letters of (accents, ligatures, other scripts)."""
    if not text.isascii():
        text = text.translate(_TYPED_PUNCTUATION)
        if not text.isascii():
            return None
    return text.encode().lower().replace(b"&", b"and").translate(None, _NOT_ASCII_ALNUM)


def _any_of(spellings: Iterable[str]) -> re.Pattern[bytes]:
    """One pattern for the letters and digits of every one of ``spellings``."""
    spelt = {words.encode().translate(None, _NOT_ASCII_ALNUM) for words in spellings}
    return re.compile(b"|".join(map(re.escape, sorted(spelt, key=len, reverse=True))))


_LABEL_NAMES = {*_ALIASES, *(a for m in _SECTION_ALIASES.values() for a in m)}
_LABEL = _any_of(_LABEL_NAMES)
# How every label's letters and digits open, as many of them as the shortest label has: most
# answers open otherwise, and are told so by one look-up rather than by the whole pattern.
_OPENING = min(len(name.encode().translate(None, _NOT_ASCII_ALNUM)) for name in _LABEL_NAMES)
_LABEL_OPENINGS = frozenset(name.encode().translate(None, _NOT_ASCII_ALNUM)[:_OPENING]
                            for name in _LABEL_NAMES)
_HEADING_WORDS = _any_of(words for words, _ in _SECTION_WORDS)


def may_start_with_label(text: str) -> bool:
    """False when neither ``text`` nor any start of it (a line before its colon) can be a
    label of any section; True when it may be, or when only folding it can tell."""
    spelt = _letters_and_digits(text)
    return spelt is None or _opens_with_label(spelt)


def _opens_with_label(spelt: bytes) -> bool:
    return spelt[:_OPENING] in _LABEL_OPENINGS and _LABEL.match(spelt) is not None


def _may_be_heading(text: str) -> bool:
    spelt = _letters_and_digits(text)
    return spelt is None or _HEADING_WORDS.search(spelt) is not None


def is_plain_answer(line: str) -> bool:
    """True when ``line`` can neither start with a label nor be a heading, told in one look
    (the commonest line of a form, asked both)."""
    spelt = _letters_and_digits(line)
    return spelt is not None and not _opens_with_label(spelt) and \
        _HEADING_WORDS.search(spelt) is None


class LabelMemo(dict):
    """What was worked out for texts that may be labels, by text: a form prints the same few
    hundred every time. Only texts that pass ``may_start_with_label`` (or hold a heading's
    words) are kept, and the memo empties when full, so it holds a bounded number of them.
    (``normalise_label`` remembers the same texts, as only their look-ups fold them.)"""

    UNSEEN = object()

    def __init__(self, size: int = 8192) -> None:
        super().__init__()
        self._size = size

    def keep(self, key: object, found: T) -> T:
        if len(self) >= self._size:
            self.clear()
        self[key] = found
        return found


# ---------------------------------------------------------------- labels and headings

_LONGEST_LABEL, _LONGEST_HEADING = 200, 80
_MATCHES = LabelMemo()
_HEADINGS = LabelMemo()


def match_label(text: str, section: str = "referrer") -> str | None:
    """The field key (or ``CONTACT``) a printed label names, or None when it names none."""
    if (found := _MATCHES.get((text, section), LabelMemo.UNSEEN)) is not LabelMemo.UNSEEN:
        return found
    if not may_start_with_label(text):
        return None
    if len(text) > _CACHED_LENGTH:
        return None if _surely_longer(text, _LONGEST_LABEL) else _match(text, section)
    return _MATCHES.keep((text, section), _match(text, section))


def _match(text: str, section: str) -> str | None:
    norm = normalise_label(text)
    if not norm or len(norm) > _LONGEST_LABEL:
        return None
    found = _SECTION_ALIASES.get(section, {}).get(norm) or _ALIASES.get(norm)
    if found:
        return found
    candidates = _PREFIXES.get(norm.split(" ", 1)[0], ())
    return next((_ALIASES[a] for a in candidates if norm.startswith(a + " ")), None)


def section_of_heading(text: str) -> str | None:
    """The section a heading line opens ("Referrer details", "Other agency"), if any."""
    if (found := _HEADINGS.get(text, LabelMemo.UNSEEN)) is not LabelMemo.UNSEEN:
        return found
    if not _may_be_heading(text):
        return None
    if len(text) > _CACHED_LENGTH:
        return None if _surely_longer(text, _LONGEST_HEADING) else _section_of_heading(text)
    return _HEADINGS.keep(text, _section_of_heading(text))


def _section_of_heading(text: str) -> str | None:
    norm = normalise_label(text)
    if len(norm) > _LONGEST_HEADING or match_label(text) not in (None, "referrer_name"):
        return None
    return next((s for words, s in _SECTION_WORDS if words in norm), None)
