"""The deadline pass on a real store: due cases chased a chunk to a transaction, their changes
written a statement a kind, and chased again one case to a savepoint when one fails, so that
case alone is undone (issue 19). Runs once per database (SQLite and PostgreSQL); the vouching
look-up's contract runs over the fake store too."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailbot.adapters.jinja_renderer import JinjaRenderer
from mailbot.adapters.mail_composer import MailComposer
from mailbot.adapters.sqlalchemy_store.orm import OutboxMessageRow
from mailbot.domain.errors import DatabaseTrouble
from mailbot.services import deadlines
from mailbot.services.context import MailboxContext, Services
from mailbot.services.deadlines import run_deadline_pass
from tests.integration.statement_log import statements_run

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from rendering_cases import at, bury, referral  # noqa: E402

pytest_plugins = ["tests.integration.db_fixtures"]


class FailingFor(MailComposer):
    """Composes like the real one, but refuses mail about one case (with ``error``)."""

    def __init__(self, reference: str, error: Exception | None = None):
        super().__init__(JinjaRenderer())
        self.reference, self.error = reference, error or RuntimeError("composing failed")
        self.asked: list[str] = []

    def compose(self, notice, *, case, **kwargs):
        self.asked.append(case.reference if case else "")
        if case is not None and case.reference == self.reference:
            raise self.error
        return super().compose(notice, case=case, **kwargs)


def _services(uow_factory, composer) -> Services:
    policy, engine = bury()
    return Services(uow_factory=uow_factory, composer=composer,
                    mailboxes={"bury": MailboxContext("bury", "bsp@bury.example", policy, engine)})


def _open(uow_factory, references) -> None:
    _, engine = bury()
    with uow_factory() as uow:
        for reference in references:
            case, _ = engine.open_case(referral(), reference, at(2, month=11), f"<{reference}@x>")
            uow.cases.add(case)
        uow.commit()


def _state(uow_factory, reference):
    with uow_factory() as uow:
        case = uow.cases.get(reference)
        mail = uow.session.scalar(select(func.count()).select_from(OutboxMessageRow)
                                  .where(OutboxMessageRow.case_reference == reference))
        return case.next_chase_at, len(case.history), case.chase_points_passed, mail


def test_one_case_that_fails_is_undone_alone_and_chased_by_the_next_pass(uow_factory):
    references = ["BSCP-2026-0001", "BSCP-2026-0002", "BSCP-2026-0003"]
    _open(uow_factory, references)
    before = {reference: _state(uow_factory, reference) for reference in references}
    due = at(1, month=12)

    queued = run_deadline_pass(_services(uow_factory, FailingFor("BSCP-2026-0002")), due)

    after = {reference: _state(uow_factory, reference) for reference in references}
    assert after["BSCP-2026-0002"] == before["BSCP-2026-0002"]
    for reference in ("BSCP-2026-0001", "BSCP-2026-0003"):
        assert after[reference][3] > 0 and after[reference][2] > before[reference][2]
        assert after[reference][1] >= before[reference][1]
    assert queued == after["BSCP-2026-0001"][3] + after["BSCP-2026-0003"][3]

    assert run_deadline_pass(_services(uow_factory, FailingFor("none")), due) > 0
    assert _state(uow_factory, "BSCP-2026-0002")[3] > 0
    assert run_deadline_pass(_services(uow_factory, FailingFor("none")), due) == 0


def test_a_database_in_trouble_leaves_the_whole_chunk_to_the_next_pass(uow_factory):
    references = ["BSCP-2026-0001", "BSCP-2026-0002", "BSCP-2026-0003"]
    _open(uow_factory, references)
    before = {reference: _state(uow_factory, reference) for reference in references}
    troubled = FailingFor("BSCP-2026-0002", DatabaseTrouble("database unavailable or busy"))

    assert run_deadline_pass(_services(uow_factory, troubled), at(1, month=12)) == 0

    assert {reference: _state(uow_factory, reference) for reference in references} == before
    assert "BSCP-2026-0003" not in troubled.asked, "not chased again a case at a time"
    assert run_deadline_pass(_services(uow_factory, FailingFor("none")), at(1, month=12)) > 0


def test_a_pass_writes_its_cases_events_mail_and_vouching_look_ups_a_statement_a_kind(
        uow_factory, monkeypatch):
    references = [f"BSCP-2026-{n:04d}" for n in range(1, 8)]
    _open(uow_factory, references)
    sent = statements_run(uow_factory, monkeypatch)
    monkeypatch.setattr(deadlines, "CHUNK_SECONDS", 60.0)  # one chunk, however slow the machine

    queued = run_deadline_pass(_services(uow_factory, FailingFor("none")), at(1, month=12))

    assert queued > 0 and all(_state(uow_factory, r)[2] > 0 for r in references)
    kinds = Counter(next((kind for kind in ("UPDATE cases", "INSERT INTO case_events",
                                            "INSERT INTO outbox", "FROM known_addresses",
                                            "SAVEPOINT")
                          if kind in statement), "other") for statement in sent)
    assert kinds["UPDATE cases"] <= 2  # one per set of columns changed, not one a case
    assert kinds["INSERT INTO case_events"] == 1
    assert kinds["INSERT INTO outbox"] == 1  # every case's mail together, not a case at a time
    assert kinds["FROM known_addresses"] == 1
    assert kinds["SAVEPOINT"] == 0  # nothing failed, so no case was chased apart


def test_addresses_looked_up_together_are_answered_as_one_at_a_time(store_factory):
    with store_factory() as uow:
        uow.known.vouch("bury", ["Known@School.example"], at(1, month=12))
        uow.commit()
    with store_factory() as uow:
        uow.known.look_up("bury", ["known@school.example", "new@school.example"])
        assert uow.known.known("bury", ["KNOWN@school.example", "new@school.example"]) == {
            "known@school.example"}
        assert uow.known.known("other", ["known@school.example"]) == set()
        with pytest.raises(RuntimeError), uow.savepoint():
            uow.known.vouch("bury", ["new@school.example"], at(1, month=12))
            raise RuntimeError("undone")
        assert uow.known.known("bury", ["new@school.example"]) == set()
        uow.known.vouch("bury", ["new@school.example"], at(1, month=12))
        assert uow.known.known("bury", ["new@school.example"]) == {"new@school.example"}
