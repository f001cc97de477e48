"""Parsing of the answers written on a form: UK dates, Yes/No, agency types, stages, emails.

Pure functions from the text a person wrote to a typed value, raising ``ValueError`` with a
sentence fit for the reply when the text cannot be read. ``fields.parse_value`` picks the
right one for each field of the catalogue.
"""

from __future__ import annotations

import re
from datetime import date

from mailbot.domain.referral import AgencyType

_MONTHS = {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}
_MONTH_RE = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DMY_NUM = re.compile(r"\b(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4}|\d{2})\b")
_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_DMY_WORD = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?(?:\s+of)?[\s\-]+" + _MONTH_RE
                       + r",?[\s\-]+'?(\d{4}|\d{2})\b")
_MDY_WORD = re.compile(r"\b" + _MONTH_RE + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")


def _full_year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        # Two-digit years on a child's form are this century unless they cannot be.
        year += 2000 if year < 70 else 1900
    return year


def parse_uk_date(text: str) -> date:
    """A UK date in its common written forms; an impossible or unclear date is a ValueError."""
    low = text.strip().lower()
    if m := _ISO.search(low):
        parts = (int(m[1]), int(m[2]), int(m[3]))
    elif m := _DMY_NUM.search(low):
        parts = (_full_year(m[3]), int(m[2]), int(m[1]))
    elif m := _DMY_WORD.search(low):
        parts = (_full_year(m[3]), _MONTHS[m[2]], int(m[1]))
    elif m := _MDY_WORD.search(low):
        parts = (int(m[3]), _MONTHS[m[1]], int(m[2]))
    else:
        raise ValueError(f'"{text.strip()}" is not a date we can read')
    try:
        return date(*parts)
    except ValueError:
        raise ValueError(f'"{text.strip()}" is not a real date') from None


def written_with_two_digit_year(text: str) -> bool:
    """Whether ``parse_uk_date`` read this date from a two-digit year ("01/02/69")."""
    low = text.strip().lower()
    if _ISO.search(low):
        return False
    found = _DMY_NUM.search(low) or _DMY_WORD.search(low)
    return found is not None and len(found[3]) == 2


def born_by(born: date, written: str, today: date) -> date:
    """A date of birth is never in the future: one written with a two-digit year that would
    fall after ``today`` in this century is the last century's ("01/02/69" is 1969)."""
    if born <= today or not written_with_two_digit_year(written):
        return born
    try:
        return born.replace(year=born.year - 100)
    except ValueError:  # 29 February of a year whose century before was no leap year
        return born.replace(year=born.year - 100, day=28)


# The Word reader wraps highlighted text in these (private-use characters no one types), so
# that "Yes / No" with one word highlighted is read as that word; every other field drops them.
MARK_OPEN, MARK_CLOSE = "\ue000", "\ue001"
_MARKED = re.compile(f"{MARK_OPEN}(.*?){MARK_CLOSE}", re.DOTALL)


def unmarked(text: str) -> str:
    """The text without highlight marks."""
    if MARK_OPEN not in text and MARK_CLOSE not in text:
        return text
    return text.replace(MARK_OPEN, "").replace(MARK_CLOSE, "")


def _marked_answer(text: str) -> bool | None:
    """"Yes / No" with exactly one of the two words highlighted: that word."""
    marked = " ".join(_MARKED.findall(text)).lower()
    found = {w for w in _LETTERS.findall(marked) if w in ("yes", "no")}
    return (found == {"yes"}) if len(found) == 1 else None


_CHECKED = "☒☑✔✓■x"
_UNCHECKED = "☐□"
# Compiled once: a form's Yes/No and agency answers are read a dozen times a form (issue 18).
_LETTERS = re.compile(r"[a-z]+")
_TICKED = re.compile(rf"[{_CHECKED}]\s*(yes|no)\b")
_UNTICKED_BOX = re.compile(rf"[{_UNCHECKED}]")
_YES_NO_WORDS = re.compile(r"[a-z'/]+")
_PRINTED_YES_NO = re.compile(r"\byes\s*/\s*no\b")
_WORDS = re.compile(r"[a-z']+")
_YES = {"yes", "true", "yep", "yeah", "y"}
_NO = {"no", "false", "nope", "n"}
_UNKNOWN = {"", "unknown", "not known", "n/a", "na", "dont know", "don't know", "unsure",
            "not sure", "tbc", "-", "yes no", "no yes"}


def _yes_no_word(word: str) -> bool | None:
    return True if word in _YES else False if word in _NO else None


def _checkbox_answer(low: str) -> bool | None:
    """"☒ Yes ☐ No": the word that follows a ticked box is the answer."""
    ticked = _TICKED.findall(low)
    if len(set(ticked)) == 1:
        return ticked[0] == "yes"
    stripped = low.strip()
    if len(stripped) == 1 and stripped in _CHECKED + _UNCHECKED:
        return stripped in _CHECKED
    return None


def parse_yes_no(text: str) -> bool | None:
    """Yes/No answers; None when unanswered, a ValueError when it says neither clearly.

    Handles the printed "Yes / No" pair left untouched (unanswered), with one word deleted
    ("Yes /"), highlighted (marked by the Word reader), or with the answer typed after it
    ("Yes / No  - No"); otherwise the first word decides ("Yes, no further concerns").
    """
    if MARK_OPEN in text and (marked := _marked_answer(text)) is not None:
        return marked
    text = unmarked(text)
    low = text.strip().lower().replace("\u2019", "'")
    if (boxed := _checkbox_answer(low)) is not None:
        return boxed
    low = _UNTICKED_BOX.sub(" ", low)
    plain = " ".join(_YES_NO_WORDS.findall(low))
    if plain in _UNKNOWN:
        return None
    low = _PRINTED_YES_NO.sub(" ", low, count=1)
    words = [w for w in _WORDS.findall(low) if len(w) > 1 or len(low.strip()) == 1]
    if not words:
        return None
    answers = [a for a in map(_yes_no_word, words) if a is not None]
    if answers and (len(set(answers)) == 1 or _yes_no_word(words[0]) is not None):
        return answers[0]
    raise ValueError(f'"{text.strip()}" is neither Yes nor No')


_AGENCY_WORDS: tuple[tuple[AgencyType, tuple[str, ...]], ...] = (
    (AgencyType.SELF_EMPLOYED, ("self employed", "self-employed", "selfemployed", "sole trader",
                                "childminder", "freelance")),
    (AgencyType.CHILDRENS_SOCIAL_CARE, ("social care", "social work", "csc", "children's services",
                                        "childrens services", "mash", "early help", "local authority")),
    (AgencyType.POLICE, ("police", "constabulary")),
    (AgencyType.HEALTH, ("health", "nhs", "gp", "hospital", "nurse", "nursing", "midwi", "camhs",
                         "icb", "clinical", "surgery", "paediatric")),
    (AgencyType.SCHOOL, ("school", "academy", "college", "education", "nursery", "early years")),
    (AgencyType.VOLUNTARY, ("voluntary", "charity", "vcs", "third sector", "community group")),
    (AgencyType.OTHER, ("other",)),
)
# Each type's words as one pattern: any of them starting a word names the type.
_AGENCY_PATTERNS = tuple((value, re.compile("|".join(rf"\b{re.escape(w)}" for w in words)))
                         for value, words in _AGENCY_WORDS)


# Each type's own name, as in code and with spaces ("self_employed", "self employed"), the first
# type to claim a name keeping it: looked up at once rather than by walking the enum, whose
# members' values are slow to read (two agency answers a form).
_AGENCY_NAMES: dict[str, AgencyType] = {}
for _type in AgencyType:
    for _name in (_type.value, _type.value.replace("_", " ")):
        _AGENCY_NAMES.setdefault(_name, _type)


def parse_agency_type(text: str) -> AgencyType | None:
    """The agency type named by a tick-box label or free words; None when nothing matches."""
    low = text.strip().lower().replace("\u2019", "'")
    if not low:
        return None
    if (named := _AGENCY_NAMES.get(low)) is not None:
        return named
    for value, pattern in _AGENCY_PATTERNS:
        if pattern.search(low):
            return value
    return None


_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                 "i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5}


_NUMBERS = re.compile(r"\b(\d{1,2})\b")


def parse_stage(text: str) -> int:
    """The highest stage a free answer mentions ("Stage 2", "1, 2 & 3", "level two")."""
    low = text.lower()
    numbers = [int(n) for n in _NUMBERS.findall(low)]
    numbers += [_NUMBER_WORDS[w] for w in _LETTERS.findall(low) if w in _NUMBER_WORDS
                and (len(w) > 1 or re.search(rf"\b(stage|level)\s+{w}\b", low))]
    valid = [n for n in numbers if 1 <= n <= 9]
    if not valid:
        raise ValueError(f'"{text.strip()}" does not say a stage number')
    return max(valid)


EMAIL_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
PHONE_RE = re.compile(r"(?:\+?\d[\d ()\-]{7,}\d)")


def parse_email(text: str) -> str:
    """The one email address in an answer ("Jane <jane@x.org>" too); else a ValueError."""
    found = EMAIL_RE.findall(text)
    if not found:
        raise ValueError(f'"{text.strip()}" is not an email address')
    return found[0]


def split_contact(text: str) -> tuple[str, str]:
    """Bury's "Contact Details" box: (email, phone), either possibly empty."""
    emails = EMAIL_RE.findall(text)
    rest = EMAIL_RE.sub(" ", text)
    phones = PHONE_RE.findall(rest)
    return (emails[0] if emails else "", " ".join(phones[0].split()) if phones else "")


_CONTACT_WORDS = re.compile(r"[<>()\[\]]|\b(e-?mail|tel|phone)\s*:?", re.IGNORECASE)


def strip_email(text: str) -> str:
    """A name with any email address (and its brackets) taken out: "Jo Bloggs <jo@x>" -> name."""
    text = EMAIL_RE.sub(" ", text)
    text = _CONTACT_WORDS.sub(" ", text)
    return " ".join(text.replace(" ,", ",").split()).strip(" ,;-")
