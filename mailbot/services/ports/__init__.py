"""The ports the service layer talks to: small Protocols the adapters implement.

Every port is in this package, one module per family of adapters: ``mail`` (mailboxes,
mailers, tokens, probes), ``content`` (the form reader, the composer) and ``store`` (the
unit of work and its repositories, the reference marker). Use cases depend on these, never on
imapclient, smtplib, python-docx or SQLAlchemy; tests swap in hand-written fakes.
"""

from __future__ import annotations

from mailbot.services.ports.content import (
    Composer,
    FormReader,
)
from mailbot.services.ports.mail import (
    Mailbox,
    Mailer,
    OutgoingEmail,
    RawMessage,
    ReceiveProbe,
    RecipientsRefused,
    SendProbe,
    TokenProvider,
)
from mailbot.services.ports.store import (
    CaseRecords,
    CaseRepository,
    CommandLog,
    InboundLog,
    KeptMarker,
    KnownAddresses,
    Leases,
    Outbox,
    ReferenceMarker,
    StateStore,
    UnitOfWork,
    Upkeep,
)

__all__ = [
    "CaseRecords",
    "CaseRepository",
    "CommandLog",
    "Composer",
    "FormReader",
    "InboundLog",
    "KeptMarker",
    "KnownAddresses",
    "Leases",
    "Mailbox",
    "Mailer",
    "Outbox",
    "OutgoingEmail",
    "RawMessage",
    "ReceiveProbe",
    "RecipientsRefused",
    "ReferenceMarker",
    "SendProbe",
    "StateStore",
    "TokenProvider",
    "UnitOfWork",
    "Upkeep",
]
