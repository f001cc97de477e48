"""Classification: the step after parsing that decides whether mailbot may answer a message.

Every inbound message is one of: our own mail come back (``own``), a bounce of mail we sent
(``bounce``), other automatic mail that must never be answered (``automatic``), a reply in a
case thread (``reply``), or ``new`` mail. The rules follow CONTRACT section 4 and RFC 3834;
they are checked in order, most certain first, and the first that matches gives the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from mailbot.domain.notices import OWN_MESSAGE_ID_PREFIX
from mailbot.intake.message import InboundMessage

_SUBJECT_REFERENCE = re.compile(r"\[([A-Z]{2,10}-\d{4}-\d{4,6})\]", re.IGNORECASE)
_DAEMONS = {"mailer-daemon", "mailer_daemon", "mailerdaemon", "mail-daemon", "postmaster",
            "post_master", "mdaemon", "mailer daemon", "mail delivery system", "mail delivery subsystem",
            "mail.delivery.system"}
_NO_REPLY = re.compile(r"^(no-?reply|do-?not-?reply|donotreply)([-+._].*)?$")
# RFC 3464 actions that do not mean the message failed; anything else (failed, and the
# non-standard "expired" some providers send) counts as a failure.
_NOT_FAILED = {"delayed", "delivered", "relayed", "expanded"}
_LIST_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_FAILURE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery (status notification \(failure|failure|has failed"
    r"|failed|problem|incomplete)|mail delivery (failed|failure|subsystem)|returned mail"
    r"|failure notice|non[- ]?(remis|deliver)|could not be delivered|not delivered"
    r"|rejected|delivery notification|mail system error|nicht zustellbar|unzustellbar"
    r"|returned to sender|returning to sender|message bounced|bounce|mail failure|\bfail"
    r"|\berror\b|did not reach",
    re.IGNORECASE,
)
_FAILURE_BODY = re.compile(
    r"could not be delivered|couldn't be delivered|undeliverable|delivery (has )?failed"
    r"|permanent(ly)? (error|fatal|failure)|user unknown|no such (user|mailbox)|mailbox"
    r" (is )?(full|unavailable|not found)|does not exist|address rejected|rejected your"
    r" message|message was rejected|was not delivered|delivery to the following recipient"
    r"|unable to deliver|failed permanently|message could not be sent|recipient address"
    r" rejected|\b5\.\d{1,3}\.\d{1,3}\b|this is a permanent error|did not reach the"
    r" following recipient|error has occurred while attempting to deliver|failed addresses"
    r"|not able to be delivered|was aborted after|malformed (recipient )?address",
    re.IGNORECASE,
)
_OUT_OF_OFFICE = re.compile(
    r"^\s*(automatic reply|auto(matic)?[- ]?(reply|response|antwort)|auto:|out of (the )?"
    r"office|ooo\b|away from (the )?office|on (annual )?leave|abwesenheit|r[ée]ponse "
    r"automatique|respuesta autom[aá]tica|automatisch antwoord|autosvar|risposta automatica)",
    re.IGNORECASE,
)


class MessageKind(StrEnum):
    OWN = "own"
    BOUNCE = "bounce"
    AUTOMATIC = "automatic"
    REPLY = "reply"
    NEW = "new"


@dataclass(frozen=True)
class Classification:
    """What kind of message this is, why, and what it points to."""

    kind: MessageKind
    reason: str
    referenced_ids: tuple[str, ...] = ()
    subject_reference: str | None = None
    bounced_message_ids: tuple[str, ...] = ()


def subject_reference(subject: str) -> str | None:
    """The first case reference tagged in a subject, such as ``BSCP-2026-0007``."""
    match = _SUBJECT_REFERENCE.search(subject or "")
    return match.group(1).upper() if match else None


def classify(
    msg: InboundMessage, *, own_addresses: frozenset[str], own_message_id_domain: str
) -> Classification:
    own = frozenset(address.lower() for address in own_addresses)
    domain = own_message_id_domain.lower()
    referenced = tuple(dict.fromkeys(msg.in_reply_to + msg.references))
    reference = subject_reference(msg.subject)

    def result(kind: MessageKind, reason: str, bounced: tuple[str, ...] = ()) -> Classification:
        return Classification(kind, reason, referenced, reference, bounced)

    if reason := _own_reason(msg, own, domain):
        return result(MessageKind.OWN, reason)
    if reason := _bounce_reason(msg):
        return result(MessageKind.BOUNCE, reason, _bounced_ids(msg, domain))
    for rule in _AUTOMATIC_RULES:
        if reason := rule(msg):
            return result(MessageKind.AUTOMATIC, reason)
    if referenced:
        return result(MessageKind.REPLY, "It answers an earlier message (In-Reply-To/References).")
    if reference:
        return result(MessageKind.REPLY, f"Its subject carries the case reference [{reference}].")
    return result(MessageKind.NEW, "New mail: no sign of automation and no case thread.")


def _own_reason(msg: InboundMessage, own: frozenset[str], domain: str) -> str:
    if any(address.email in own for address in msg.from_addresses):
        return "It comes from one of mailbot's own addresses."
    if msg.loop_header:
        return "It carries mailbot's own loop header (X-Mailbot-Loop)."
    own_id = msg.message_id.lower()
    if domain and own_id.startswith(OWN_MESSAGE_ID_PREFIX) and own_id.endswith("@" + domain):
        return "Its Message-ID was made by mailbot."
    return ""


def _bounce_reason(msg: InboundMessage) -> str:
    if msg.is_delivery_report:
        if not set(msg.delivery_actions) <= _NOT_FAILED or not msg.delivery_actions:
            return "A delivery status report says a message could not be delivered."
        return ""
    if msg.failed_recipients:
        return "It lists failed recipients (X-Failed-Recipients)."
    from_server = _from_daemon(msg) or "x-ms-exchange-message-is-ndr" in msg.signal_headers
    # The body is searched only for mail a server sent: forty patterns over a referral's
    # body had been read for every message.
    if from_server and (_FAILURE_SUBJECT.search(msg.subject)
                        or _FAILURE_BODY.search(msg.text_body[:20000])):
        return "A mail server reports that a message could not be delivered."
    return ""


def _bounced_ids(msg: InboundMessage, domain: str) -> tuple[str, ...]:
    ours = tuple(i for i in msg.reported_message_ids if domain and i.lower().endswith("@" + domain))
    return ours or msg.reported_message_ids


def _from_daemon(msg: InboundMessage) -> bool:
    """Sent by a mail server itself: by its From, its display name or an empty Return-Path.

    Bounces often say ``From: MAILER-DAEMON <>``, so the display name has to count too.
    """
    names = {a.email.partition("@")[0] for a in msg.from_addresses}
    names |= {a.name.lower() for a in msg.from_addresses}
    names.add(msg.from_header.partition("<")[0].strip().strip('"').lower())
    if msg.return_path is not None:
        names.add(msg.return_path.partition("@")[0])
    return msg.return_path == "" or bool(names & _DAEMONS)


def _auto_submitted(msg: InboundMessage) -> str:
    value = msg.auto_submitted.split(";")[0].strip()
    return f"It is marked Auto-Submitted: {value}." if value and value != "no" else ""


def _precedence(msg: InboundMessage) -> str:
    value = msg.precedence.split(";")[0].strip()
    return f"It is marked Precedence: {value}." if value in _LIST_PRECEDENCE else ""


def _list_mail(msg: InboundMessage) -> str:
    return "It comes from a mailing list (List-* headers)." if msg.has_list_headers else ""


def _empty_return_path(msg: InboundMessage) -> str:
    return "Its Return-Path is empty, as for mail sent by a machine." if (
        msg.return_path == ""
    ) else ""


def _report(msg: InboundMessage) -> str:
    if msg.is_disposition_report:
        return "It is a read or disposition receipt."
    if msg.is_delivery_report:
        return "It is a delivery report that is not a failure (e.g. delayed or delivered)."
    if msg.report_type:
        return f"It is an automatic report ({msg.report_type})."
    return ""


def _daemon(msg: InboundMessage) -> str:
    return "It comes from a mailer-daemon or postmaster address." if _from_daemon(msg) else ""


def _no_reply(msg: InboundMessage) -> str:
    if any(_NO_REPLY.match(a.email.partition("@")[0]) for a in msg.from_addresses):
        return "It comes from a no-reply address, so nobody would read an answer."
    return ""


def _other_mailbot(msg: InboundMessage) -> str:
    return "It carries another system's loop header (X-Loop)." if (
        "x-loop" in msg.signal_headers
    ) else ""


def _autoreply_headers(msg: InboundMessage) -> str:
    names = [name for name in msg.signal_headers if name.startswith(("x-auto", "x-mail-auto"))]
    return f"It carries an auto-reply header ({names[0]})." if names else ""


def _out_of_office(msg: InboundMessage) -> str:
    return "Its subject says it is an automatic or out-of-office reply." if (
        _OUT_OF_OFFICE.search(msg.subject)
    ) else ""


def may_carry_referral(msg: InboundMessage) -> bool:
    """Automatic mail a person's Request for Resolution may still be in: a web-form portal's,
    a mail system's that marks everything bulk, an "On leave" subject. Mail servers' own
    reports and mailer-daemons never carry one."""
    return not (_report(msg) or _from_daemon(msg))


def answerable(address: str) -> bool:
    """Whether a person may read mail sent to this address: not a no-reply or daemon one."""
    local = address.strip().lower().partition("@")[0]
    return bool(local) and not _NO_REPLY.match(local) and local not in _DAEMONS


_AUTOMATIC_RULES: tuple[Callable[[InboundMessage], str], ...] = (
    _auto_submitted,
    _precedence,
    _list_mail,
    _empty_return_path,
    _report,
    _daemon,
    _no_reply,
    _autoreply_headers,
    _other_mailbot,
    _out_of_office,
)
