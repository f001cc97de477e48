"""The intake's form readers in one place, for the services to call.

``read_form_attachment`` takes attachment bytes through the type gate and the Word reader;
``read_email_form`` reads the same fields from an email body; ``validate`` turns either
reading into a ``Referral`` or a reply naming what to fix. Only ``FormError`` is raised.
"""

from mailbot.intake.docx_form import read_form_attachment
from mailbot.intake.email_form import read_email_form
from mailbot.intake.form_validation import (
    DEFAULT_REQUIRED,
    DEFAULT_WARNED,
    REFERRER_CONTACT,
    ValidationResult,
    validate,
)
from mailbot.intake.reading import FieldValue, FormControl, FormReading
from mailbot.intake.typegate import DEFAULT_BUDGETS, Budgets

__all__ = [
    "DEFAULT_BUDGETS", "DEFAULT_REQUIRED", "DEFAULT_WARNED", "REFERRER_CONTACT", "Budgets",
    "FieldValue", "FormControl", "FormReading", "ValidationResult", "read_email_form",
    "read_form_attachment", "validate",
]
