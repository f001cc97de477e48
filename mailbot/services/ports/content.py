"""Ports for what mail carries: the Word form reader and the notice composer."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from mailbot.domain.case import Case
from mailbot.domain.notices import Notice
from mailbot.domain.policy import Policy
from mailbot.domain.referral import Person
from mailbot.intake.reading import FormReading

# ---------------------------------------------------------------------------------------------
# Forms (adapter: intake.forms reads Word .docx forms)
# ---------------------------------------------------------------------------------------------


class FormReader(Protocol):
    """Reads a Request for Resolution attachment: the fields it holds, or a ``FormError``
    whose ``reply_text`` tells the sender what to fix."""

    def __call__(self, data: bytes) -> FormReading: ...


# ---------------------------------------------------------------------------------------------
# Rendering (adapter: mail_composer over the Jinja renderer)
# ---------------------------------------------------------------------------------------------


class Composer(Protocol):
    """Renders a notice for one recipient into a complete RFC 5322 message."""

    def compose(self, notice: Notice, *, case: Case | None, policy: Policy | None,
                sender: Person, recipient: Person, message_id: str, now: datetime) -> bytes: ...

    def same_case(self) -> AbstractContextManager[None]:
        """While it is open, the case handed to ``compose`` is not changed (the notices one
        change of a case causes), so what is made from it may be made once."""
        ...
