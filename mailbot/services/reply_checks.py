"""Before a reply acts: who sent it, what they wrote themselves, and whether it came before.

``standing`` says what the sender may do (contract section 4: state-changing commands only
from a business manager, in a reply to mail this mailbox sent them, passing ``sender_trust``)
and what they may hear back (a reference in a subject proves nothing, so it gets nothing).
``written_by_sender`` is the reply's own text with every line mailbot itself wrote removed,
however it was quoted. ``replay_keys`` identify a command message so it acts only once.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from mailbot.domain.case import Case
from mailbot.domain.command_parser import parse_reply
from mailbot.domain.text import printable
from mailbot.intake.message import InboundMessage, parse_message
from mailbot.intake.reply_text import is_bottom_posted, own_text
from mailbot.intake.sender_trust import TrustVerdict, check_sender_trust
from mailbot.services.case_matching import CaseMatch
from mailbot.services.context import MailboxContext
from mailbot.services.ports import UnitOfWork

# An out-of-office written by a person's mail client without any of the automatic-mail
# headers: its "Note: ..." line is not a NOTE command.
_OUT_OF_OFFICE = re.compile(
    r"^\W*(i am|i'm|i will be)\s+(currently\s+)?(out of (the )?office|on (annual |parental |"
    r"maternity |sick )?leave|away|not in the office)|^\W*(automatic reply|out of office)",
    re.IGNORECASE)


@dataclass(frozen=True)
class Standing:
    address: str  # the one clean From address, lower case; "" when there is none
    name: str
    business_manager: bool
    on_case: bool  # on the case, a business manager or a partnership contact
    threaded: bool  # replies to mail this mailbox sent to this very address
    trust: TrustVerdict

    @property
    def verified(self) -> bool:
        """The sender is who the From line says and belongs on the case."""
        return self.on_case and (self.threaded or self.trust.passed)

    def why_not_manager(self, partnership: str) -> str:
        """Empty when this sender may change the case; otherwise the reason, for a person."""
        if not self.address:
            return "The From line of your message does not hold exactly one clean address."
        if not self.business_manager:
            return f"Only the business managers of {partnership} can change a case by email."
        if not self.threaded:
            return ("Commands are taken only in a reply to a message mailbot sent to you;"
                    " please reply to one of the case emails you received.")
        if not self.trust.passed:
            return f"Your message could not be verified as yours: {self.trust.reason}"
        return ""


def standing(mailbox: MailboxContext, case: Case, match: CaseMatch,
             message: InboundMessage) -> Standing:
    clean = message.sender if not message.from_header_defects else None
    address = clean.email.lower() if clean else ""
    managers = mailbox.business_manager_addresses
    contacts = {p.email.lower() for people in mailbox.partnership.contacts.values()
                for p in people}
    on_case = {p.email.lower() for p in case.everyone()} | managers | contacts
    trust = check_sender_trust(message, mailbox.sender_trust,
                               trusted_authserv_ids=mailbox.trusted_authserv_ids,
                               trusted_received_hops=mailbox.trusted_received_hops)
    return Standing(address, clean.name if clean else "", address in managers,
                    bool(address) and address in on_case, match.threaded and bool(address), trust)


def written_by_sender(uow: UnitOfWork, message: InboundMessage) -> str:
    """The reply's own text. When it was written below the quote (bottom-posted), where a
    quoting mistake could pass mailbot's own words off as the sender's, any command line that
    mailbot's emails in this thread carry (the command list, a form's summary quoted in a
    notice) is left out too. Above the quote everything is the sender's: a confirmation there
    quotes back their own earlier commands, which they may well write again."""
    text = printable(own_text(message))
    if not is_bottom_posted(message):
        return text
    ours = {_normal(line) for data in uow.outbox.data_of([*message.in_reply_to,
                                                          *message.references])
            for line in parse_message(data).text_body.splitlines() if line.strip()}
    if not ours:
        return text
    kept = [line for line in text.split("\n")
            if not (_normal(line) in ours and parse_reply(line).commands)]
    return "\n".join(kept)


def has_quoted_commands(message: InboundMessage) -> bool:
    """Whether the message holds command lines anywhere, quoted parts included."""
    return bool(parse_reply(message.text_body).commands)


def is_out_of_office(text: str) -> bool:
    return bool(_OUT_OF_OFFICE.search(text.strip()[:200]))


def replay_keys(message: InboundMessage, sender: str, text: str) -> list[str]:
    """A command message's identities: its Message-ID, and its sender, date and own text
    (for a replay under a new Message-ID). Hashed, so any length fits the store's key."""
    keys = []
    if message.message_id:
        keys.append("mid:" + _digest(message.message_id.lower()))
    if message.date is not None:
        keys.append("txt:" + _digest(f"{sender}\n{message.date.isoformat()}\n{_normal(text)}"))
    return keys


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


def _normal(line: str) -> str:
    return " ".join(line.lstrip("> \t").split()).lower()
