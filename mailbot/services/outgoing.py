"""Mail a partnership mailbox sends about its cases: who it may go to straight away.

The partnership address must not relay a stranger's words to other strangers. A referral
names people (the referrer, the other agency, a safeguarding lead) by address only; mail to
an address the partnership has not seen before waits, held in the outbox, until a business
manager accepts the case (``ACCEPT``), which vouches for everyone on it. Held back this way,
a mistyped address cannot receive a child's details either. The business managers, the
partnership's contacts, the referral's own sender and every address vouched for before
are never held.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from mailbot.domain.case import Case
from mailbot.domain.notices import Notice
from mailbot.domain.referral import Person
from mailbot.services.context import MailboxContext, Services
from mailbot.services.messaging import ReplyGuard, queue_notices, store_mail_waiting
from mailbot.services.ports import UnitOfWork


def queue_for(services: Services, uow: UnitOfWork, mailbox: MailboxContext,
              notices: list[Notice], case: Case | None, now: datetime) -> int:
    """Queues the notices from this mailbox; returns how many messages were new (none yet
    when the unit of work keeps its mail waiting: see ``messaging.queue_notices``)."""
    held = unvouched(uow, mailbox, case, (p.email for n in notices for p in n.to))
    guard = ReplyGuard(services.replies_per_recipient_per_hour,
                       exempt=mailbox.business_manager_addresses,
                       alert_to=mailbox.partnership.business_managers)
    return queue_notices(uow, services.composer, notices, case=case, policy=mailbox.policy,
                         sender=Person(mailbox.policy.name, mailbox.address), now=now,
                         guard=guard, held=held)


def unvouched(uow: UnitOfWork, mailbox: MailboxContext, case: Case | None,
              addresses: Iterable[str]) -> frozenset[str]:
    """The addresses among these that mail about ``case`` must wait for acceptance to reach."""
    if case is None or case.accepted_at is not None:
        return frozenset()
    candidates = {a.lower() for a in addresses} - _always_known(mailbox, case)
    return frozenset(candidates - uow.known.known(mailbox.name, candidates))


def accept(uow: UnitOfWork, mailbox: MailboxContext, case: Case, now: datetime) -> int:
    """After ``ACCEPT``: everyone on the case is vouched for and their held mail goes."""
    uow.known.vouch(mailbox.name, (p.email for p in case.everyone()), now)
    store_mail_waiting(uow)  # held mail composed in this transaction is released too
    return uow.outbox.release_held(case.reference)


def vouch(uow: UnitOfWork, mailbox: MailboxContext, people: Iterable[Person],
          now: datetime) -> None:
    """A business manager named these people (``ASSIGN``): mail to them is never held."""
    uow.known.vouch(mailbox.name, (p.email for p in people), now)


def _always_known(mailbox: MailboxContext, case: Case) -> set[str]:
    contacts = {p.email.lower() for people in mailbox.partnership.contacts.values()
                for p in people}
    return {*mailbox.business_manager_addresses, *contacts, case.submitted_by.lower()}
