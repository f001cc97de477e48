"""Composer adapter: renders a notice with jinja2 and wraps it as a MIME message.

Threading headers point at the message a reply answers; everything else about the
headers (Auto-Submitted, X-Auto-Response-Suppress, the loop header) is the builder's.
Pictures the HTML shows inline (the digest's chart) are drawn here, for each message.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime

from mailbot.adapters.email_builder import build_email
from mailbot.adapters.jinja_renderer import JinjaRenderer
from mailbot.domain.case import Case
from mailbot.domain.notices import Attachment, Notice
from mailbot.domain.policy import Policy
from mailbot.domain.referral import Person


class MailComposer:
    def __init__(self, renderer: JinjaRenderer):
        self.renderer = renderer

    def same_case(self) -> AbstractContextManager[None]:
        return self.renderer.same_case()

    def compose(self, notice: Notice, *, case: Case | None, policy: Policy | None,
                sender: Person, recipient: Person, message_id: str, now: datetime) -> bytes:
        rendered = self.renderer.render(notice, case=case, policy=policy,
                                        partnership_name=sender.name, recipient=recipient)
        reply_to = notice.in_reply_to
        inline = tuple(_inline_images(notice))
        return build_email(
            from_addr=sender.formatted(), to=[recipient.formatted()], subject=rendered.subject,
            text=rendered.text, html=rendered.html, message_id=message_id,
            in_reply_to=reply_to, references=(reply_to,) if reply_to else (),
            auto_submitted=notice.auto_submitted, attachments=rendered.attachments,
            inline_images=inline, date=now,
            # For the partnership's mail rules (and our tests): what this is and which case.
            extra_headers={"X-Mailbot-Template": str(notice.template),
                           "X-Mailbot-Case": case.reference if case else ""})


def _inline_images(notice: Notice):
    """The pictures the HTML shows inline: the digest's chart of open cases at each stage."""
    if Attachment.DIGEST_CHART in notice.attachments:
        from mailbot.adapters import charts  # matplotlib takes a second to load: only when drawing

        stages = list(notice.context["by_stage"])
        png = charts.open_cases_by_stage([label for label, _ in stages],
                                         [count for _, count in stages])
        yield (str(notice.context["chart_cid"]), "open-cases-by-stage.png", charts.PNG, png)
