"""Hand-written fakes of mailbot's own ports, for unit tests of the service layer.

They keep everything in dictionaries and honour the same promises as the real store: a
commit makes changes visible, leaving without one throws them away, uniqueness holds.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime

from mailbot.adapters.jinja_renderer import JinjaRenderer
from mailbot.domain.case import Case
from mailbot.domain.notices import Notice
from mailbot.domain.policy import Policy
from mailbot.domain.referral import Person
from mailbot.services.unit_of_work import (
    CaseSummary,
    InboundRecord,
    OutboxItem,
    OutboxRow,
    SentMessage,
)


class FakeDatabase:
    def __init__(self):
        self.cases: dict[str, Case] = {}
        self.counters: dict[tuple[str, int], int] = {}
        self.inbound: dict[int, InboundRecord] = {}
        self.outbox: dict[int, OutboxRow] = {}
        self.state: dict[str, str] = {}
        self.command_keys: dict[tuple[str, str], str] = {}
        self.known: set[tuple[str, str]] = set()
        self.commits = 0


class FakeUnitOfWork:
    def __init__(self, db: FakeDatabase):
        self.db = db

    def __enter__(self):
        self.work = copy.deepcopy(self.db.__dict__)
        self.cases = _Cases(self.work)
        self.inbound = _Inbound(self.work)
        self.outbox = _Outbox(self.work)
        self.state = _State(self.work)
        self.commands = _CommandLog(self.work)
        self.known = _Known(self.work)
        return self

    def __exit__(self, *exc):
        self.work = None

    def commit(self):
        self.work["commits"] += 1
        self.db.__dict__.update(copy.deepcopy(self.work))

    def rollback(self):
        self.work = copy.deepcopy(self.db.__dict__)

    @contextmanager
    def savepoint(self):
        before = copy.deepcopy(self.work)
        try:
            yield
        except BaseException:
            self.work.clear()
            self.work.update(before)
            raise


class _Cases:
    def __init__(self, work):
        self.work = work

    def add(self, case: Case) -> None:
        assert case.reference not in self.work["cases"], "reference reused"
        self.work["cases"][case.reference] = case

    def save(self, case: Case) -> None:
        self.work["cases"][case.reference] = case

    def get(self, reference: str) -> Case | None:
        return self.work["cases"].get(reference.strip().upper())

    def get_many(self, references: Sequence[str]) -> None:
        pass

    def next_reference(self, prefix: str, year: int) -> str:
        number = self.work["counters"].get((prefix, year), 0) + 1
        self.work["counters"][(prefix, year)] = number
        return f"{prefix}-{year}-{number:04d}"

    def summaries(self, status: str | None = None) -> list[CaseSummary]:
        return [CaseSummary(c.reference, c.policy_key, c.stage, c.status.value, c.deadline)
                for c in self.work["cases"].values() if status in (None, c.status.value)]

    def due_for_chasing(self, now: datetime, limit: int = 500) -> list[str]:
        return [c.reference for c in self.work["cases"].values()
                if c.is_open and c.next_chase_at and c.next_chase_at <= now][:limit]


class _Inbound:
    def __init__(self, work):
        self.work = work
        self.raw_bytes = work.setdefault("raw", {})

    def record(self, mailbox, uidvalidity, uid, message_id, data) -> InboundRecord | None:
        if self.find(mailbox, uidvalidity, uid, data):
            return None
        record = InboundRecord(len(self.work["inbound"]) + 1, mailbox, uidvalidity, uid,
                               message_id, hashlib.sha256(data).hexdigest(), "received")
        self.work["inbound"][record.id] = record
        self.raw_bytes[record.id] = data
        return record

    def record_many(self, messages) -> int:
        return sum(self.record(*message) is not None for message in messages)

    def find(self, mailbox, uidvalidity, uid, data) -> InboundRecord | None:
        digest = hashlib.sha256(data).hexdigest()
        for record in self.work["inbound"].values():
            if record.sha256 == digest or (record.mailbox, record.uidvalidity, record.uid) == (
                    mailbox, uidvalidity, uid):
                return record
        return None

    def pending(self, mailbox, limit=200) -> list[InboundRecord]:
        return [r for r in self.work["inbound"].values()
                if r.mailbox == mailbox and r.status == "received"][:limit]

    def mark(self, record_id, status, case_reference=None, error=""):
        record = self.work["inbound"][record_id]
        self.work["inbound"][record_id] = replace(record, status=status,
                                                  case_reference=case_reference)

    def raw(self, record_id) -> bytes:
        return self.raw_bytes[record_id]


class _Outbox:
    def __init__(self, work):
        self.work = work

    def _identity(self, item: OutboxItem):
        return (item.case_reference, item.template, item.stage, item.key, item.recipient)

    def enqueue(self, item: OutboxItem) -> bool:
        if any(self._identity(r.item) == self._identity(item) for r in self.work["outbox"].values()):
            return False
        row_id = len(self.work["outbox"]) + 1
        self.work["outbox"][row_id] = OutboxRow(row_id, item, 0, "held" if item.held else "queued")
        return True

    def release_held(self, case_reference) -> int:
        held = [r for r in self.work["outbox"].values()
                if r.status == "held" and r.item.case_reference == case_reference]
        for row in held:
            self.work["outbox"][row.id] = replace(row, status="queued")
        return len(held)

    def held_recipients(self, case_reference) -> list[str]:
        return sorted({r.item.recipient for r in self.work["outbox"].values()
                       if r.status == "held" and r.item.case_reference == case_reference})

    def data_of(self, message_ids) -> list[bytes]:
        wanted = {m.strip("<>") for m in message_ids}
        return [r.item.data for r in self.work["outbox"].values() if r.item.message_id in wanted]

    def due(self, now, limit=100) -> list[OutboxRow]:
        return [r for r in self.work["outbox"].values() if r.status == "queued"][:limit]

    def claim(self, row_ids, now, until) -> set[int]:
        return {i for i in row_ids if self.work["outbox"][i].status == "queued"}

    def mark_sent(self, row_id, now):
        self.work["outbox"][row_id] = replace(self.work["outbox"][row_id], status="sent")

    def mark_failed(self, row_id, now, error, *, permanent, retry_at):
        row = self.work["outbox"][row_id]
        self.work["outbox"][row_id] = replace(row, attempts=row.attempts + 1, last_error=error,
                                              status="failed" if permanent else "queued")

    def postpone(self, row_ids, until, reason):
        for row_id in row_ids:
            self.work["outbox"][row_id] = replace(self.work["outbox"][row_id], last_error=reason)

    def lookup(self, message_ids: Sequence[str]) -> list[SentMessage]:
        wanted = {m.strip("<>") for m in message_ids}
        return [SentMessage(r.item.message_id, r.item.case_reference, r.item.recipient,
                            r.item.template, r.item.envelope_from)
                for r in self.work["outbox"].values() if r.item.message_id in wanted]

    def answers_since(self, recipient, since, templates) -> int:
        return sum(1 for r in self.work["outbox"].values()
                   if r.item.recipient == recipient and r.item.template in templates)


class _State:
    def __init__(self, work):
        self.work = work

    def get(self, key):
        return self.work["state"].get(key)

    def set(self, key, value):
        self.work["state"][key] = value


class _CommandLog:
    def __init__(self, work):
        self.work = work

    def acted_on(self, mailbox, keys):
        return next((self.work["command_keys"][(mailbox, k)] for k in keys
                     if (mailbox, k) in self.work["command_keys"]), None)

    def remember(self, mailbox, keys, case_reference, at):
        for key in keys:
            self.work["command_keys"].setdefault((mailbox, key), case_reference)


class _Known:
    def __init__(self, work):
        self.work = work

    def known(self, mailbox, addresses):
        return {a.lower() for a in addresses if (mailbox, a.lower()) in self.work["known"]}

    def vouch(self, mailbox, addresses, at):
        self.work["known"] |= {(mailbox, a.lower()) for a in addresses}


class RecordingComposer:
    """Composes a tiny message whose subject names the template, and remembers each notice.

    Each notice is also rendered with the real templates (StrictUndefined), so a service that
    hands a template the wrong context fails its unit test rather than the worker.
    """

    def __init__(self):
        self.composed: list[tuple[Notice, Person]] = []
        self.renderer = JinjaRenderer()

    def compose(self, notice: Notice, *, case, policy: Policy | None, sender: Person,
                recipient: Person, message_id: str, now: datetime) -> bytes:
        self.renderer.render(notice, case=case, policy=policy, partnership_name=sender.name,
                             recipient=recipient)
        self.composed.append((notice, recipient))
        ref = f"[{case.reference}] " if case else ""
        return (f"Message-ID: <{message_id}>\r\nFrom: {sender.email}\r\nTo: {recipient.email}\r\n"
                f"Subject: {ref}{notice.template}\r\n\r\n{dict(notice.context)}\r\n").encode()
