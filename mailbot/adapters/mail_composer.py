"""Composer adapter: renders a notice with jinja2 and wraps it as a MIME message.

Threading headers point at the message a reply answers; everything else about the
headers (Auto-Submitted, X-Auto-Response-Suppress, the loop header) is the builder's.
"""

from __future__ import annotations

from datetime import datetime

from mailbot.adapters.email_builder import build_email
from mailbot.adapters.jinja_renderer import JinjaRenderer
from mailbot.domain.case import Case
from mailbot.domain.notices import Notice
from mailbot.domain.policy import Policy
from mailbot.domain.referral import Person


class MailComposer:
    def __init__(self, renderer: JinjaRenderer):
        self.renderer = renderer

    def compose(self, notice: Notice, *, case: Case | None, policy: Policy | None,
                sender: Person, recipient: Person, message_id: str, now: datetime) -> bytes:
        rendered = self.renderer.render(notice, case=case, policy=policy,
                                        partnership_name=sender.name, recipient=recipient)
        reply_to = notice.in_reply_to
        return build_email(
            from_addr=sender.formatted(), to=[recipient.formatted()], subject=rendered.subject,
            text=rendered.text, html=rendered.html, message_id=message_id,
            in_reply_to=reply_to, references=(reply_to,) if reply_to else (),
            auto_submitted=notice.auto_submitted, attachments=rendered.attachments, date=now,
            # For the partnership's mail rules (and our tests): what this is and which case.
            extra_headers={"X-Mailbot-Template": notice.template,
                           "X-Mailbot-Case": case.reference if case else ""})
