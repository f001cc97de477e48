"""The emails the domain asks for, and who receives them.

The case engine never sends anything: each change returns ``Notice`` values naming a
template, the people, and the facts the template needs. The service layer renders them
and writes one outbox row per recipient in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from mailbot.domain import notice_contexts as engine_facts
from mailbot.domain import service_notice_contexts as service_facts
from mailbot.domain.notice_contexts import NoticeContext
from mailbot.domain.referral import Person


class Template(StrEnum):
    """Template names, one per kind of email (``templates/<name>.txt`` and ``.html``)."""

    ACKNOWLEDGEMENT = "acknowledgement"
    NEW_CASE = "new_case"
    STAGE_NOTICE = "stage_notice"
    STAGE_CHANGE = "stage_change"
    REMINDER = "reminder"
    DUE_TODAY = "due_today"
    OVERDUE = "overdue"
    OUTCOME = "outcome"
    DECISION = "decision"
    WITHDRAWN = "withdrawn"
    DEADLINE_EXTENDED = "deadline_extended"
    COMMAND_CONFIRMATION = "command_confirmation"
    COMMAND_REFUSAL = "command_refusal"
    PLEASE_CORRECT = "please_correct"
    BOUNCE_ALERT = "bounce_alert"
    QUARANTINE_ALERT = "quarantine_alert"
    MAILBOX_FAILURE = "mailbox_failure"
    MAILBOX_RECOVERED = "mailbox_recovered"
    JOB_FAILURE = "job_failure"
    JOB_RECOVERED = "job_recovered"
    FOR_ATTENTION = "for_attention"
    SECURITY_ALERT = "security_alert"
    WEEKLY_DIGEST = "weekly_digest"


# The context each template is written for (a subclass will do): the template tests check
# that a template uses no name its contexts lack, and a notice is refused one of another kind.
CONTEXTS: Mapping[Template, type[NoticeContext]] = {
    Template.ACKNOWLEDGEMENT: engine_facts.OpeningFacts,
    Template.NEW_CASE: engine_facts.OpeningFacts,
    Template.STAGE_NOTICE: engine_facts.StageNoticeFacts,
    Template.STAGE_CHANGE: engine_facts.StageChangeFacts,
    Template.REMINDER: engine_facts.ChaseFacts,
    Template.DUE_TODAY: engine_facts.ChaseFacts,
    Template.OVERDUE: engine_facts.ChaseFacts,
    Template.OUTCOME: engine_facts.OutcomeFacts,
    Template.DECISION: engine_facts.DecisionFacts,
    Template.WITHDRAWN: engine_facts.WithdrawnFacts,
    Template.DEADLINE_EXTENDED: engine_facts.DeadlineChangeFacts,
    Template.BOUNCE_ALERT: engine_facts.BounceDetails,  # BounceFacts when about a case
    Template.COMMAND_CONFIRMATION: service_facts.CommandConfirmation,
    Template.COMMAND_REFUSAL: service_facts.CommandRefusal,
    Template.PLEASE_CORRECT: service_facts.PleaseCorrect,
    Template.QUARANTINE_ALERT: service_facts.QuarantineAlert,
    Template.MAILBOX_FAILURE: service_facts.MailboxAlert,
    Template.MAILBOX_RECOVERED: service_facts.MailboxAlert,
    Template.JOB_FAILURE: service_facts.JobAlert,
    Template.JOB_RECOVERED: service_facts.JobAlert,
    Template.FOR_ATTENTION: service_facts.ForAttention,
    Template.SECURITY_ALERT: service_facts.SecurityAlert,
    Template.WEEKLY_DIGEST: service_facts.DigestFacts,
}

# Mail to the business managers about the system itself: a bounce of one of these is recorded,
# never alerted about, or a full mailbox would start a loop of alerts about alerts.
ALERT_TEMPLATES = (Template.BOUNCE_ALERT, Template.QUARANTINE_ALERT, Template.MAILBOX_FAILURE,
                   Template.MAILBOX_RECOVERED, Template.FOR_ATTENTION, Template.SECURITY_ALERT,
                   Template.JOB_FAILURE, Template.JOB_RECOVERED)

# Answers to a person's own message: what the loop guard counts.
ANSWER_TEMPLATES = (Template.COMMAND_CONFIRMATION, Template.COMMAND_REFUSAL,
                    Template.PLEASE_CORRECT)


class Attachment(StrEnum):
    """Attachments the renderer builds for a notice."""

    STAGE_DEADLINE_ICS = "stage_deadline_ics"
    STAGE_ENDED_ICS = "stage_ended_ics"  # cancels the entry of the stage just left or closed
    DECISION_NOTICE = "decision_notice"
    BLANK_FORM = "blank_form"
    CASE_RECORD = "case_record"  # the whole record (.docx), for the child's file
    DIGEST_CHART = "digest_chart"  # an inline image the HTML shows by Content-ID


# Every Message-ID mailbot makes starts with this, so that mail from people who share the
# partnership's domain (and so its Message-ID domain) is never mistaken for our own.
OWN_MESSAGE_ID_PREFIX = "mailbot."

AUTO_GENERATED = "auto-generated"
AUTO_REPLIED = "auto-replied"


@dataclass(frozen=True)
class Partnership:
    """The partnership-level people a mailbox's config names (contract section 3)."""

    address: str
    business_managers: tuple[Person, ...]
    contacts: Mapping[str, tuple[Person, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Notice:
    """One email the domain wants sent, before rendering.

    ``key`` tells apart notices of the same template and stage (a second overdue notice, a
    notice to a newly assigned person); with the case, template, stage and recipient it is
    the outbox's uniqueness key, so the same notice can never be queued twice.
    """

    template: Template
    to: tuple[Person, ...]
    stage: int | None = None
    key: str = ""
    # What the template may say: the engine's notices carry ``notice_contexts``, the service
    # layer's ``service_notice_contexts``; ``CONTEXTS`` says which class each template takes.
    context: NoticeContext = field(default_factory=NoticeContext)
    attachments: tuple[Attachment, ...] = ()
    auto_submitted: str = AUTO_GENERATED
    in_reply_to: str | None = None

    def __post_init__(self) -> None:
        wanted = CONTEXTS.get(self.template)
        if wanted is not None and not isinstance(self.context, wanted):
            raise TypeError(f"a {self.template} notice takes a {wanted.__name__} context,"
                            f" not a {type(self.context).__name__}")


def unique_people(people: Iterable[Person]) -> tuple[Person, ...]:
    """People in order, each address once (addresses compare case-insensitively)."""
    seen: dict[str, Person] = {}
    for person in people:
        seen.setdefault(person.email.lower(), person)
    return tuple(seen.values())
