"""Turns a domain ``Notice`` into an email's subject, text, HTML and attachments.

The service layer calls ``render`` once per recipient before queueing the message. The
templates live in ``templates/`` (``<name>.subject.txt``, ``<name>.txt``, ``<name>.html``),
and a partnership may override any of them in ``templates/<policy_key>/``. Templates run
under StrictUndefined, HTML is autoescaped, and a subject is always one line.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import TemplateError, TemplateNotFound

from mailbot.adapters import case_record_docx, decision_notice, ics_calendar
from mailbot.adapters.jinja_context import (
    case_view,
    person_view,
    policy_view,
    stage_label,
    unassigned_roles,
)
from mailbot.adapters.jinja_environment import ViewEnvironment, template_environment
from mailbot.adapters.plain_dates import deadline_phrase
from mailbot.adapters.policy_files import calendar_for
from mailbot.domain.case import Case
from mailbot.domain.errors import PermanentError
from mailbot.domain.notices import Attachment, Notice, Template
from mailbot.domain.policy import Policy
from mailbot.domain.referral import Person
from mailbot.domain.working_days import LONDON
from mailbot.shipped import shipped_dir

DEFAULT_TEMPLATE_DIR = shipped_dir("templates")
DEFAULT_FORMS_DIR = shipped_dir("forms")
TEMPLATE_NAMES = tuple(Template)
PARTS = ("subject.txt", "txt", "html")

AttachmentFile = tuple[str, str, bytes]  # filename, MIME type, content


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    attachments: tuple[AttachmentFile, ...] = ()


class JinjaRenderer:
    def __init__(self, template_dirs: Sequence[Path] = (DEFAULT_TEMPLATE_DIR,),
                 forms_dir: Path = DEFAULT_FORMS_DIR, tz: ZoneInfo = LONDON):
        self.template_dirs = tuple(Path(d) for d in template_dirs)
        self.forms_dir = Path(forms_dir)
        self.tz = tz
        self._environments: dict[str, ViewEnvironment] = {}
        self._policy_views: dict[int, tuple[Policy, dict[str, Any]]] = {}
        # The case views of the case being composed for (``same_case``), per thread.
        self._same_case = threading.local()

    def render(self, notice: Notice, *, case: Case | None, policy: Policy | None,
               partnership_name: str, recipient: Person, extra: Mapping | None = None,
               partnership_address: str = "") -> RenderedEmail:
        """Raises PermanentError when a template is missing or uses a name it was not given."""
        attachments = self.attachments(notice, case, policy, partnership_name,
                                       partnership_address)
        context = self.context(notice, case, policy, partnership_name, recipient, extra)
        context["attached"] = [name for name, _, _ in attachments]
        environment = self.environment(policy.key if policy else "")
        try:
            subject, text, html = environment.render_each(
                [f"{notice.template}.{part}" for part in PARTS], context)
        except TemplateError as error:
            raise PermanentError(f"template {notice.template}: {error}") from error
        return RenderedEmail(" ".join(subject.split()), text.strip() + "\n", html, attachments)

    # --- context -----------------------------------------------------------------------

    def context(self, notice: Notice, case: Case | None, policy: Policy | None,
                partnership_name: str, recipient: Person,
                extra: Mapping | None = None) -> dict[str, Any]:
        context: dict[str, Any] = {**notice.context.as_dict(), **(extra or {})}
        context.update(
            notice=notice.template,
            case=self._case_view(case, policy) if case else None,
            policy=self._policy_view(policy) if policy else None,
            partnership_name=partnership_name,
            recipient=person_view(recipient),
        )
        context["unassigned_roles"] = unassigned_roles(list(context.get("unassigned", [])), policy)
        return context

    @contextmanager
    def same_case(self) -> Iterator[None]:
        """While open, the case given to ``render`` is not changed, so its view is built once
        for all the emails its notices make (four for a referral) rather than for each. The
        views are dropped when it closes: nothing of a child's is kept past its emails."""
        outer = getattr(self._same_case, "views", None)
        self._same_case.views = {}
        try:
            yield
        finally:
            self._same_case.views = outer

    def _case_view(self, case: Case, policy: Policy | None) -> dict[str, Any]:
        views = getattr(self._same_case, "views", None)
        if views is None:
            return case_view(case, policy, self.tz)
        # Kept with the case and policy themselves, so an id another object reuses never matches.
        kept = views.get((id(case), id(policy)))
        if kept is None or kept[0] is not case or kept[1] is not policy:
            kept = views[(id(case), id(policy))] = (case, policy, case_view(case, policy, self.tz))
        return kept[2]

    def _policy_view(self, policy: Policy) -> dict[str, Any]:
        """The policy's view, built once per policy: it was a third of building a context.
        Kept with the policy itself, so a policy loaded anew never meets another's view."""
        kept = self._policy_views.get(id(policy))
        if kept is None or kept[0] is not policy:
            kept = self._policy_views[id(policy)] = (policy, policy_view(policy))
        return kept[1]

    def environment(self, policy_key: str) -> ViewEnvironment:
        """One jinja environment per partnership: its own folder first, then the shared one."""
        if policy_key not in self._environments:
            own = [d / policy_key for d in self.template_dirs if policy_key]
            self._environments[policy_key] = template_environment([*own, *self.template_dirs],
                                                                 self.tz)
        return self._environments[policy_key]

    def missing_templates(self, policy_key: str = "") -> list[str]:
        """The template files no folder of this partnership holds, for the check at start.

        Presence only (a few milliseconds; compiling them all would take half a second of
        every command's start): the template tests render every one of them.
        """
        environment, missing = self.environment(policy_key), []
        assert environment.loader is not None
        for name in TEMPLATE_NAMES:
            for part in PARTS:
                try:
                    environment.loader.get_source(environment, f"{name}.{part}")
                except TemplateNotFound:
                    missing.append(f"{name}.{part}")
        return missing

    # --- attachments -------------------------------------------------------------------

    def attachments(self, notice: Notice, case: Case | None, policy: Policy | None,
                    partnership_name: str, partnership_address: str = "",
                    ) -> tuple[AttachmentFile, ...]:
        """The files ``notice.attachments`` names; a blank form that is missing is skipped."""
        files = []
        for kind in notice.attachments:
            if kind == Attachment.STAGE_DEADLINE_ICS and case and case.deadline:
                files.append(self._ics(case, policy, partnership_name, partnership_address))
            elif kind == Attachment.STAGE_ENDED_ICS and case:
                ended = self._cancelled_ics(case, policy, partnership_name, partnership_address)
                files.extend([ended] if ended else [])
            elif kind == Attachment.DECISION_NOTICE and case and policy:
                files.append(self._decision_notice(notice, case, policy, partnership_address))
            elif kind == Attachment.CASE_RECORD and case and policy:
                files.append(self.case_record(case, policy, partnership_name))
            elif kind == Attachment.BLANK_FORM and policy:
                form = self.blank_form(policy.key)
                if form:
                    files.append(form)
        return tuple(files)

    def blank_form(self, policy_key: str) -> AttachmentFile | None:
        path = self.forms_dir / f"{policy_key}.docx"
        if not path.is_file():
            return None
        return (f"request-for-resolution-{policy_key}.docx", decision_notice.MIME_TYPE,
                path.read_bytes())

    def case_record(self, case: Case, policy: Policy, partnership_name: str) -> AttachmentFile:
        data = case_record_docx.build_case_record(case, policy, calendar_for(policy),
                                                  partnership_name, self.tz)
        return (case_record_docx.case_record_filename(case.reference), case_record_docx.MIME_TYPE,
                data)

    def _ics(self, case: Case, policy: Policy | None, partnership_name: str,
             partnership_address: str) -> AttachmentFile:
        assert case.deadline is not None
        # The stage's label alone: the whole case view, built here for it, is built again
        # for each email anyway.
        event = self._event(case, case.stage, case.deadline, policy, partnership_name,
                            partnership_address, description=(
                                f"{stage_label(policy, case.stage)} of case {case.reference} is due by"
                                f" {deadline_phrase(case.deadline, self.tz)}."))
        return event.filename, "text/calendar", ics_calendar.stage_deadline_ics(event)

    def _cancelled_ics(self, case: Case, policy: Policy | None, partnership_name: str,
                       partnership_address: str) -> AttachmentFile | None:
        """The cancellation of the entry of the stage the case has left, or closed at."""
        stage = ics_calendar.left_stage(case)
        if stage is None:
            return None
        moment = case.closed_at or case.stage_entered_at
        event = replace(self._event(case, stage, moment, policy, partnership_name,
                                    partnership_address), cancelled=True)
        return event.filename, "text/calendar", ics_calendar.stage_deadline_ics(event)

    def _event(self, case: Case, stage: int, when: datetime, policy: Policy | None,
               partnership_name: str, partnership_address: str,
               description: str = "") -> ics_calendar.DeadlineEvent:
        name = policy.stage(stage).name if policy and policy.has_stage(stage) else ""
        return ics_calendar.DeadlineEvent(
            reference=case.reference, stage_number=stage, stage_name=name,
            step_word=policy.step_word if policy else "Stage", deadline=when,
            created=_latest(case), partnership_name=partnership_name,
            organizer=partnership_address, description=description,
            sequence=ics_calendar.sequence(case.history, stage))

    def _decision_notice(self, notice: Notice, case: Case, policy: Policy,
                         partnership_address: str) -> AttachmentFile:
        decided_at = case.closed_at or _latest(case)
        decision = decision_notice.Decision(
            text=str(notice.context.get("decision", case.decision)),
            maker=str(notice.context.get("decision_by", "")),
            decided_at=decided_at, decided_by=str(notice.context.get("decided_by", "")))
        data = decision_notice.build_decision_notice(case, decision, policy,
                                                     partnership_address, self.tz)
        return (decision_notice.decision_notice_filename(case.reference),
                decision_notice.MIME_TYPE, data)


def _latest(case: Case) -> datetime:
    return case.history[-1].at if case.history else case.stage_entered_at
