"""A worker watching many mailboxes writes their "last good poll" times together: each
mailbox's first at once, then all of them in one transaction a minute, not one a mailbox."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from mailbot.entrypoints import supervision
from mailbot.entrypoints.supervision import POLL_RECORD_SECONDS, Supervision
from mailbot.services.context import Services
from mailbot.services.health import LAST_POLL
from tests.unit.bury_mailbox import MONDAY, mailbox_context
from tests.unit.fakes import FakeDatabase, FakeUnitOfWork, RecordingComposer

NAMES = [f"partnership{n}" for n in range(20)]


def test_good_polls_are_written_together_once_each_mailbox_has_its_first(monkeypatch):
    db = FakeDatabase()
    contexts = [dataclasses.replace(mailbox_context(), name=name) for name in NAMES]
    services = Services(lambda: FakeUnitOfWork(db), RecordingComposer(),
                        {c.name: c for c in contexts})
    clock = {"now": MONDAY, "monotonic": 1000.0}
    monkeypatch.setattr(supervision.time, "monotonic", lambda: clock["monotonic"])
    watch = Supervision(services, lambda: clock["now"])

    for context in contexts:
        watch.mailbox_works(context)
    assert {db.state.get(LAST_POLL + name) for name in NAMES} == {MONDAY.isoformat()}
    first = db.commits

    later = MONDAY + timedelta(seconds=30)
    clock.update(now=later, monotonic=1030.0)
    for context in contexts:
        watch.mailbox_works(context)
    assert db.commits == first, "nothing written before the minute is up"

    clock["monotonic"] = 1000.0 + POLL_RECORD_SECONDS + 31
    watch.mailbox_works(contexts[0])
    assert db.commits == first + 1, "every mailbox's newer poll in one transaction"
    assert {db.state.get(LAST_POLL + name) for name in NAMES[1:]} == {later.isoformat()}
