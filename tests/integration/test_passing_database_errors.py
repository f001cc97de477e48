"""Issue 14: a passing database error is retried, never quarantined, on a real SQLite file.

Another connection holds the write lock when the pass starts acting on a stored referral and
lets go the moment mailbot's BEGIN gives up, so the lock is "one database is locked", as a
backup or a second tool would cause. The old code quarantined the referral for good.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.pool import Pool

from mailbot.bootstrap import bootstrap
from mailbot.config import load_settings
from mailbot.domain.errors import TransientError
from mailbot.domain.working_days import LONDON
from mailbot.entrypoints.demo import referral_email
from mailbot.services.intake import act_on_pending, store_messages
from mailbot.services.ports import RawMessage
from tests.e2e.commands import maildir_config

NOW = datetime(2026, 12, 1, 10, tzinfo=LONDON)


@pytest.fixture
def app(tmp_path):
    config = maildir_config(tmp_path)
    config.write_text(config.read_text()
                      .replace('url = "sqlite:///data/mailbot.sqlite3"',
                               'url = "sqlite:///data/mailbot.sqlite3"\nbusy_timeout_seconds = 0.3'))
    return bootstrap(load_settings(config)), tmp_path / "data" / "mailbot.sqlite3"


def test_one_database_is_locked_while_acting_leaves_the_referral_pending_for_the_next_pass(app):
    app, path = app
    context = app.services.mailboxes["bury"]
    store_messages(app.services, [RawMessage("bury", 1, "1", referral_email("bsp@bury.test", NOW))])
    holder = sqlite3.connect(path, isolation_level=None, timeout=0)
    listed = []

    def note_listing(connection, cursor, statement, *args) -> None:
        if statement.startswith("SELECT inbound_messages.id, inbound_messages.mailbox"):
            listed.append(True)  # the pending messages are listed; acting on them comes next

    def lock_before_acting(dbapi_connection, record) -> None:  # once the listing is over
        if listed and not holder.in_transaction:
            listed.clear()
            holder.execute("BEGIN EXCLUSIVE")

    def let_go(exception_context) -> None:  # the lock ends as mailbot's wait for it does
        if holder.in_transaction:
            holder.execute("COMMIT")

    hooks = [(Engine, "before_cursor_execute", note_listing), (Pool, "checkin", lock_before_acting),
             (Engine, "handle_error", let_go)]
    for target, name, hook in hooks:
        event.listen(target, name, hook)
    try:
        with pytest.raises(TransientError, match="locked"):
            act_on_pending(app.services, context, lambda: NOW)
    finally:
        for target, name, hook in hooks:
            event.remove(target, name, hook)
        holder.close()
    with app.services.uow_factory() as uow:
        assert [r.status for r in uow.inbound.pending("bury")] == ["received"]
        assert uow.cases.summaries() == []
    assert act_on_pending(app.services, context, lambda: NOW) == 1
    with app.services.uow_factory() as uow:
        assert [c.reference for c in uow.cases.summaries()] == ["BSCP-2026-0001"]
        assert uow.inbound.pending("bury") == []
        templates = [row.item.template for row in uow.outbox.due(NOW, 100)]
    assert templates.count("acknowledgement") == 1 and "quarantine_alert" not in templates
