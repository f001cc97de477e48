"""Findings 9 and 11: no child's details in logs, nothing in a terminal or an email that can
rewrite what a reader sees, and answers that say what was really recorded."""

from __future__ import annotations

from tests.e2e.harness import only, reference_of
from tests.security.world import CHILD, DAY, DOB, World, form


def test_verbose_logging_prints_no_message_body_or_form_value(world: World):
    world.drop("bury", world.referral("bury", "Priya Shah <priya.shah@school.test>", form(), DAY,
                                      as_form=False))
    result = world.run("poll", verbose=True)
    logged = result.stdout + result.stderr
    for secret in (CHILD, "Sample", DOB.strftime("%d/%m/%Y"), DOB.isoformat(),
                   "threshold for assessment"):
        assert secret not in logged, secret


def test_cases_show_strips_terminal_controls_and_bidi_overrides(world: World):
    hostile = "Sam\x1b[2J\x1b]0;pwned\x07 Sam\u202eelpmaS\x00"
    fields = form(child_name=hostile, summary="Fine\x1b[31m red \u2066text\u2069")
    message = world.referral("bury", "Priya Shah <priya.shah@school.test>", fields, DAY,
                             as_form=False)
    mails = world.deliver("bury", message)
    reference = reference_of(mails)
    shown = world.case_text(reference) + world.run("cases").stdout
    assert not any(c in shown for c in "\x1b\x07\x00\u202e\u2066\u2069")
    for mail in mails:
        text = mail.text() + str(mail.message["To"]) + str(mail.message["Subject"])
        assert not any(c in text for c in "\x1b\x07\x00\u202e\u2066\u2069"), mail.template


def test_a_refusal_says_what_was_recorded(world: World):
    reference, mails = world.open_case()
    [ack] = only(mails, "acknowledgement", "priya.shah@school.test")
    answers = world.deliver("bury", world.reply(ack, "STAGE 4", sender="priya.shah@school.test"))
    [refusal] = only(answers, "command_refusal", "priya.shah@school.test")
    assert "filed on the case as correspondence" not in refusal.text()
    assert "STAGE 4\n    Refused" in world.case_text(reference).replace("\r", "")


def test_an_out_of_office_without_its_headers_adds_no_note(world: World):
    reference, mails = world.open_case()
    [ack] = only(mails, "acknowledgement", "priya.shah@school.test")
    body = ("I am currently out of the office until Monday 30 November.\n"
            "Note: for urgent safeguarding matters please call the duty desk.")
    world.deliver("bury", world.reply(ack, body, sender="priya.shah@school.test"))
    assert "NoteAdded" not in world.case_text(reference)


def test_the_database_holding_childrens_details_is_readable_by_its_owner_only(world: World):
    world.open_case()
    database = world.workdir / "mailbot.sqlite3"
    files = [database, *database.parent.glob("mailbot.sqlite3-*")]
    assert database in files
    for path in files:
        assert path.stat().st_mode & 0o077 == 0, f"{path.name} is {oct(path.stat().st_mode)}"
