"""Hand-written fakes of mailbot's own ports, for unit tests of the service layer.

They keep everything in dictionaries and honour the same promises as the real store: a
commit makes changes visible, leaving without one throws them away, uniqueness holds. The
store's contract tests (tests/integration/test_store*.py, fixture ``store_factory``) run
over ``FakeUnitOfWork`` too, so a fake that answers otherwise than the store fails there.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime

from mailbot.adapters.jinja_renderer import JinjaRenderer
from mailbot.domain.case import Case
from mailbot.domain.errors import PermanentError
from mailbot.domain.notices import Notice
from mailbot.domain.policy import Policy
from mailbot.domain.referral import Person
from mailbot.services.stored import (
    CaseSummary,
    InboundRecord,
    InboundStatus,
    OutboxItem,
    OutboxRow,
    OutboxStatus,
    SentMessage,
)

# A new row is due at once whatever clock the send pass runs on (as in the real outbox).
AT_ONCE = datetime(2000, 1, 1, tzinfo=UTC)


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
        self.mail_waiting = None
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
        if self.mail_waiting:
            raise RuntimeError("store the mail waiting before a savepoint begins")
        before = copy.deepcopy(self.work)
        try:
            yield
        except BaseException:
            self.work.clear()
            self.work.update(before)
            if self.mail_waiting:
                self.mail_waiting.take()
            raise


class _Cases:
    def __init__(self, work):
        self.work = work

    def add(self, case: Case) -> None:
        if case.reference in self.work["cases"]:
            raise PermanentError(f"a case {case.reference} is already stored")
        self.work["cases"][case.reference] = case

    def save(self, case: Case) -> None:
        self.work["cases"][case.reference] = case

    def get(self, reference: str) -> Case | None:
        return self.work["cases"].get(reference.strip().upper())

    def get_many(self, references: Sequence[str]) -> None:
        pass

    def next_reference(self, prefix: str, year: int) -> str:
        """Counts up per prefix and year, never to a reference a stored case holds."""
        number = self.work["counters"].get((prefix, year), 0) + 1
        while f"{prefix}-{year}-{number:04d}" in self.work["cases"]:
            number += 1
        self.work["counters"][(prefix, year)] = number
        return f"{prefix}-{year}-{number:04d}"

    def reference_counters(self) -> dict[str, int]:
        return {f"{prefix}-{year:04d}": n for (prefix, year), n in self.work["counters"].items()}

    def raise_counters(self, at_least: dict[str, int]) -> None:
        for series, number in at_least.items():
            prefix, _, year = series.rpartition("-")
            key = (prefix, int(year))
            self.work["counters"][key] = max(self.work["counters"].get(key, 0), number)

    def summaries(self, status: str | None = None) -> list[CaseSummary]:
        return [CaseSummary(c.reference, c.policy_key, c.stage, c.status, c.deadline)
                for c in self.work["cases"].values() if status in (None, c.status.value)]

    def due_for_chasing(self, now: datetime, limit: int = 500) -> list[str]:
        due = [c for c in self.work["cases"].values()
               if c.is_open and c.next_chase_at and c.next_chase_at <= now]
        return [c.reference for c in sorted(due, key=lambda c: c.next_chase_at)][:limit]


class _Inbound:
    def __init__(self, work):
        self.work = work
        self.raw_bytes = work.setdefault("raw", {})

    def record(self, mailbox, uidvalidity, uid, message_id, data) -> InboundRecord | None:
        if self.find(mailbox, uidvalidity, uid, data):
            return None
        record = InboundRecord(len(self.work["inbound"]) + 1, mailbox, uidvalidity, uid,
                               message_id, hashlib.sha256(data).hexdigest(), InboundStatus.RECEIVED)
        self.work["inbound"][record.id] = record
        self.raw_bytes[record.id] = data
        return record

    def record_many(self, messages) -> int:
        return sum(self.record(*message) is not None for message in messages)

    def find(self, mailbox, uidvalidity, uid, data) -> InboundRecord | None:
        digest = hashlib.sha256(data).hexdigest()
        for record in self.work["inbound"].values():
            if record.mailbox == mailbox and (record.sha256 == digest or (
                    record.uidvalidity, record.uid) == (uidvalidity, uid)):
                return record
        return None

    def pending(self, mailbox, limit=200) -> list[InboundRecord]:
        return [r for r in self.work["inbound"].values()
                if r.mailbox == mailbox and r.status == InboundStatus.RECEIVED][:limit]

    def claim_many(self, record_ids) -> set[int]:
        return {record_id for record_id in record_ids
                if self.work["inbound"][record_id].status == InboundStatus.RECEIVED}

    def mark(self, record_id, status, case_reference=None, error=""):
        record = self.work["inbound"][record_id]
        self.work["inbound"][record_id] = replace(record, status=InboundStatus(status),
                                                  case_reference=case_reference)

    def mark_many(self, marks):
        for record_id, status, case_reference, error in marks:
            self.mark(record_id, status, case_reference, error)

    def raw(self, record_id) -> bytes:
        return self.raw_bytes[record_id]


class _Outbox:
    """Keeps, beside each row, when it may next be tried and when it was sent, as the real
    outbox's columns do, so ``due`` and ``answers_since`` answer as the store answers."""

    def __init__(self, work):
        self.work = work
        self.times = work.setdefault("outbox_times", {})  # row id -> [next attempt, sent at]

    def _identity(self, item: OutboxItem):
        return (item.case_reference, item.template, item.stage, item.key, item.recipient)

    def _rows(self, status: OutboxStatus):
        return [r for r in self.work["outbox"].values() if r.status == status]

    def enqueue(self, item: OutboxItem) -> bool:
        if any(self._identity(r.item) == self._identity(item) for r in self.work["outbox"].values()):
            return False
        row_id = len(self.work["outbox"]) + 1
        stored = replace(item, message_id=item.message_id.strip("<>"), held=False)
        status = OutboxStatus.HELD if item.held else OutboxStatus.QUEUED
        self.work["outbox"][row_id] = OutboxRow(row_id, stored, 0, status)
        self.times[row_id] = [AT_ONCE, None]
        return True

    def enqueue_many(self, items) -> list[bool]:
        return [self.enqueue(item) for item in items]

    def release_held(self, case_reference) -> int:
        held = [r for r in self._rows(OutboxStatus.HELD) if r.item.case_reference == case_reference]
        for row in held:
            self.work["outbox"][row.id] = replace(row, status=OutboxStatus.QUEUED)
        return len(held)

    def held_recipients(self, case_reference) -> list[str]:
        return sorted({r.item.recipient for r in self._rows(OutboxStatus.HELD)
                       if r.item.case_reference == case_reference})

    def data_of(self, message_ids) -> list[bytes]:
        wanted = {m.strip("<>") for m in message_ids}
        return [r.item.data for r in self.work["outbox"].values() if r.item.message_id in wanted]

    def due(self, now, limit=100, claims_at=None, sender=None) -> list[OutboxRow]:
        due = [r for r in self._rows(OutboxStatus.QUEUED) if self.times[r.id][0] <= now
               and sender in (None, r.item.envelope_from)]
        return sorted(due, key=lambda r: (self.times[r.id][0], r.id))[:limit]

    def claim(self, row_ids, now, until, claims_at=None) -> set[int]:
        taken = {r.id for r in self.due(now, limit=len(self.work["outbox"])) if r.id in set(row_ids)}
        for row_id in taken:
            self.times[row_id][0] = until
        return taken

    def extend_claim(self, row_ids, held_until, until) -> set[int]:
        return self.claim(row_ids, held_until, until)

    def mark_sent(self, row_id, now):
        row = self._get(row_id)
        self.work["outbox"][row_id] = replace(row, status=OutboxStatus.SENT, attempts=row.attempts + 1)
        self.times[row_id][1] = now

    def mark_failed(self, row_id, now, error, *, permanent, retry_at):
        row = self._get(row_id)
        status = OutboxStatus.FAILED if permanent else OutboxStatus.QUEUED
        self.work["outbox"][row_id] = replace(row, attempts=row.attempts + 1, last_error=error[-2000:],
                                              status=status)
        self.times[row_id][0] = retry_at or now

    def postpone(self, row_ids, until, reason):
        for row_id in row_ids:
            self.work["outbox"][row_id] = replace(self._get(row_id), last_error=reason[-2000:])
            self.times[row_id][0] = until

    def _get(self, row_id) -> OutboxRow:
        if row_id not in self.work["outbox"]:
            raise PermanentError(f"no outbox row with id {row_id}")
        return self.work["outbox"][row_id]

    def get(self, row_id) -> OutboxRow | None:
        return self.work["outbox"].get(row_id)

    def lookup(self, message_ids: Sequence[str]) -> list[SentMessage]:
        wanted = {m.strip().strip("<>") for m in message_ids}
        return [SentMessage(r.item.message_id, r.item.case_reference, r.item.recipient,
                            r.item.template, r.item.envelope_from)
                for r in self.work["outbox"].values() if r.item.message_id in wanted]

    def answers_since(self, recipient, since, templates) -> int:
        """Queued answers and those sent since ``since``; older ones no longer count."""
        return sum(1 for r in self.work["outbox"].values()
                   if r.item.recipient == recipient and r.item.template in templates
                   and (r.status == OutboxStatus.QUEUED or (self.times[r.id][1] or AT_ONCE) >= since))


class _State:
    def __init__(self, work):
        self.work = work

    def get(self, key):
        return self.work["state"].get(key)

    def set(self, key, value):
        self.work["state"][key] = value

    def setdefault(self, key, value):
        return self.work["state"].setdefault(key, value)


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

    def look_up(self, mailbox, addresses):
        pass  # ``known`` reads the fake's memory anyway

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

    def same_case(self):
        return self.renderer.same_case()

    def compose(self, notice: Notice, *, case, policy: Policy | None, sender: Person,
                recipient: Person, message_id: str, now: datetime) -> bytes:
        self.renderer.render(notice, case=case, policy=policy, partnership_name=sender.name,
                             recipient=recipient)
        self.composed.append((notice, recipient))
        ref = f"[{case.reference}] " if case else ""
        return (f"Message-ID: <{message_id}>\r\nFrom: {sender.email}\r\nTo: {recipient.email}\r\n"
                f"Subject: {ref}{notice.template}\r\n\r\n{dict(notice.context)}\r\n").encode()
