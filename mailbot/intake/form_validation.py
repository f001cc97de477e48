"""Validation of a form reading against a policy: a ``Referral``, or a reply naming what to fix.

The required set is kept small (the child, the referrer and a way to reach them, the summary);
a policy may ask for more, or only warn about more. An answer that was written but cannot be
read (an impossible date, "maybe" for Yes/No) is always a problem, because guessing it would be
worse than asking. The referrer's address may come from the sender of the email.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date

from mailbot.domain.referral import AgencyType, Referral
from mailbot.intake import fields as F
from mailbot.intake.field_values import born_by
from mailbot.intake.reading import FormReading

# Not a field of its own: "some way to reach the referrer", met by an email or a phone number.
REFERRER_CONTACT = "referrer_contact"
DEFAULT_REQUIRED: tuple[str, ...] = ("child_name", "referrer_name", REFERRER_CONTACT, "summary")
# Fields every partnership's form has (Bury's Appendix 1 has no "other agency" box).
DEFAULT_WARNED: tuple[str, ...] = ("child_dob", "referrer_agency", "safeguarding_lead_aware",
                                   "desired_outcome")


@dataclass(frozen=True)
class ValidationResult:
    referral: Referral | None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    reply_text: str = ""

    @property
    def ok(self) -> bool:
        return self.referral is not None


def _label(key: str) -> str:
    if key == REFERRER_CONTACT:
        return "A way to reach the referrer (their email or phone number)"
    return F.FIELD_BY_KEY[key].label.rstrip("?")


def _missing(key: str, reading: FormReading, sender_email: str) -> bool:
    sender_is_an_address = bool(F.EMAIL_RE.fullmatch(sender_email.strip() or "-"))
    if key == REFERRER_CONTACT:
        return not (reading.value("referrer_email") or reading.value("referrer_phone")
                    or sender_is_an_address)
    if key == "referrer_email":  # the sender's address stands in, as the referral will use it
        return not (reading.value("referrer_email") or sender_is_an_address)
    if key not in F.FIELD_BY_KEY:
        raise KeyError(f"unknown form field in policy: {key!r}")
    return reading.value(key) in (None, "")


def _problems(reading: FormReading, required: Iterable[str], sender_email: str,
              must_carry: tuple[str, ...], why: str) -> list[str]:
    problems = [f"{_label(key)}: {why}" for key, why in reading.errors.items()]
    problems += [f"{_label(key)} is missing" for key in required
                 if key not in reading.errors and _missing(key, reading, sender_email)]
    carried = [key for key in must_carry if key not in reading.errors and key not in required
               and _missing(key, reading, sender_email)]
    problems += [f"{_label(key)} is missing" + (f". {why}" if why else "") for key in carried]
    return problems


def _referral(reading: FormReading, sender_email: str) -> Referral:
    values = reading.values()
    email = values.get("referrer_email") or (sender_email.strip() if F.EMAIL_RE.fullmatch(
        sender_email.strip() or "-") else "")
    kwargs: dict[str, object] = {k: v for k, v in values.items() if k in F.FIELD_BY_KEY}
    kwargs["referrer_email"] = email
    for key in ("child_name", "referrer_name", "summary"):
        kwargs.setdefault(key, "")
    _check_types(kwargs)
    return Referral(**kwargs, extra=tuple(reading.extra))


# Built once: a dict of kinds written out for each answer read each kind through EnumType's
# __getattr__ hook, about a thousand instructions a time in Python 3.11.
_EXPECTED_TYPES: dict[F.Kind, type] = {F.DATE: date, F.YES_NO: bool, F.STAGE: int,
                                       F.AGENCY_TYPE: AgencyType}


def _check_types(kwargs: dict[str, object]) -> None:
    """The reader types every answer; this keeps a wrong type from ever reaching the domain."""
    for key, value in kwargs.items():
        expected = _EXPECTED_TYPES.get(F.FIELD_BY_KEY[key].kind, str)
        if not isinstance(value, expected):
            raise TypeError(f"{key} should be {expected.__name__}, got {type(value).__name__}")


def reply_for(problems: list[str], warnings: list[str]) -> str:
    """The text sent back to the referrer, naming exactly what to fix."""
    if not problems:
        return ""
    lines = ["Thank you for your Request for Resolution. We could not open a case from it yet, "
             "because:", ""]
    lines += [f"  - {p}" for p in problems]
    if warnings:
        lines += ["", "Please also check:", ""] + [f"  - {w}" for w in warnings]
    lines += ["", "Please correct the form and send it again as a Word document (.docx), or "
              "reply with the missing answers as \"Label: value\" lines, for example:",
              "", "  Child's name: ...", "  Summary of disagreement: ...", "",
              "We have kept what you sent; nothing has been lost."]
    return "\n".join(lines)


def validate(reading: FormReading, *, required: Iterable[str] = DEFAULT_REQUIRED,
             warned: Iterable[str] = DEFAULT_WARNED, sender_email: str = "",
             must_carry: Iterable[str] = (), must_carry_why: str = "",
             today: date | None = None) -> ValidationResult:
    """A ``Referral`` when every required answer is there and every answer is readable.

    ``today`` (the day the referral arrived) keeps a date of birth out of the future, and
    has one that is still after it named among the warnings.

    ``must_carry`` names what a referral opening at its stage must also set out (Hackney's
    actions to date and rationale); a missing one is asked for with ``must_carry_why``."""
    required, must_carry = tuple(required), tuple(must_carry)
    problems = _problems(reading, required, sender_email, must_carry, must_carry_why)
    warnings = list(reading.warnings)
    warnings += [f"{_label(key)} was not given" for key in warned
                 if key not in required and key not in must_carry and key not in reading.errors
                 and _missing(key, reading, sender_email)]
    if problems:
        return ValidationResult(None, problems, warnings, reply_for(problems, warnings))
    referral = _referral(reading, sender_email)
    if today is not None and referral.child_dob is not None:
        born = born_by(referral.child_dob, reading.fields["child_dob"].raw, today)
        referral = replace(referral, child_dob=born)
        if born > today:
            warnings.append(f"{_label('child_dob')} is after today ({born:%d %B %Y}); please check it")
    return ValidationResult(referral, [], warnings, "")
