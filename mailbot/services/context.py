"""What the use cases need to know about each partnership mailbox, built once by bootstrap."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from mailbot.domain.engine import CaseEngine
from mailbot.domain.notices import Partnership
from mailbot.domain.policy import Policy
from mailbot.intake.forms import read_form_attachment
from mailbot.intake.sender_trust import TrustMode
from mailbot.services.ports import Composer, FormReader, UnitOfWork


@dataclass(frozen=True)
class MailboxContext:
    name: str
    address: str
    policy: Policy
    engine: CaseEngine
    sender_trust: TrustMode = "authentication-results"
    trusted_authserv_ids: frozenset[str] = frozenset()
    trusted_received_hops: int = 0

    @property
    def partnership(self) -> Partnership:
        return self.engine.partnership

    @property
    def business_manager_addresses(self) -> frozenset[str]:
        return frozenset(p.email.lower() for p in self.partnership.business_managers)


@dataclass
class Services:
    """The dependencies of every use case; entry points get one from bootstrap."""

    uow_factory: Callable[[], UnitOfWork]
    composer: Composer
    mailboxes: Mapping[str, MailboxContext]
    read_form: FormReader = read_form_attachment  # the Word form reader; tests may pass their own
    replies_per_recipient_per_hour: int = 10
    max_send_attempts: int = 12
    counters: dict[str, int] = field(default_factory=dict)

    @property
    def own_addresses(self) -> frozenset[str]:
        return frozenset(m.address.lower() for m in self.mailboxes.values())

    def for_policy(self, policy_key: str) -> MailboxContext:
        """The mailbox that runs a policy's cases (one mailbox per partnership policy)."""
        for context in self.mailboxes.values():
            if context.policy.key == policy_key:
                return context
        raise LookupError(f"no mailbox is configured for policy {policy_key!r}")

    def for_address(self, address: str) -> MailboxContext | None:
        """The mailbox whose partnership address this is (mail is sent from it)."""
        return next((c for c in self.mailboxes.values()
                     if c.address.lower() == address.lower()), None)

    def count(self, name: str, by: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + by
