"""Every email template rendered, text and HTML, from notices the real CaseEngine made."""

from __future__ import annotations

import gc
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2.runtime import Context, Macro
from rendering_cases import (
    BUSINESS_MANAGER,
    CHILD_NAME,
    DOB_SPELLINGS,
    FIRST_DEADLINE,
    REFERRER,
    Rendered,
    bury,
    every_notice,
    referral,
)

from mailbot.adapters.jinja_renderer import (
    DEFAULT_TEMPLATE_DIR,
    TEMPLATE_NAMES,
    JinjaRenderer,
    RenderedEmail,
)
from mailbot.adapters.policy_files import load_policy
from mailbot.domain.errors import PermanentError
from mailbot.domain.notices import Attachment, Notice, Template
from mailbot.domain.service_notice_contexts import MailboxAlert

POLICY = load_policy("bury")
ITEMS = every_notice()
# Templates addressed to the professionals on the case, which may name the child in the body.
NAMING_THE_CHILD = {Template.ACKNOWLEDGEMENT, Template.STAGE_NOTICE, Template.DECISION}
MASH_GUIDANCE = "Multi Agency Safeguarding Hub (MASH)"


def render(item: Rendered, renderer: JinjaRenderer | None = None, recipient=None,
           **extra) -> RenderedEmail:
    renderer = renderer or JinjaRenderer([DEFAULT_TEMPLATE_DIR], Path("/nonexistent"))
    return renderer.render(item.notice, case=item.case, policy=POLICY,
                           partnership_name=POLICY.name,
                           recipient=recipient or item.notice.to[0], **extra)


def first(template: str, key_prefix: str = "", nth: int = 0) -> Rendered:
    found = [i for i in ITEMS if i.notice.template == template
             and i.notice.key.startswith(key_prefix)]
    return found[nth]


def _ids(item: Rendered) -> str:
    return f"{item.notice.template}-{item.notice.key or 'main'}"


def test_the_scenario_exercises_every_template_name():
    assert {i.notice.template for i in ITEMS} == set(TEMPLATE_NAMES)


def test_every_shipped_template_exists_and_compiles():
    assert JinjaRenderer().missing_templates("bury") == []


@pytest.mark.parametrize("item", ITEMS, ids=_ids)
def test_every_notice_renders_a_one_line_subject_without_the_child(item: Rendered):
    email = render(item)
    assert "\n" not in email.subject and email.subject == email.subject.strip()
    assert CHILD_NAME.split()[0] not in email.subject
    assert not any(dob in email.subject for dob in DOB_SPELLINGS)
    if item.case is not None:
        assert email.subject.startswith(f"[{item.case.reference}] ")


@pytest.mark.parametrize("item", ITEMS, ids=_ids)
def test_every_notice_has_a_text_part_and_a_well_formed_html_part(item: Rendered):
    email = render(item)
    assert email.text.strip() and POLICY.name in email.text
    checker = _TagBalance()
    checker.feed(email.html)
    assert checker.open == [] and checker.seen_body
    assert "<script>" not in email.html


@pytest.mark.parametrize("item", [i for i in ITEMS if i.case is not None
                                  and i.notice.template not in NAMING_THE_CHILD], ids=_ids)
def test_notices_beyond_the_core_three_never_name_the_child(item: Rendered):
    email = render(item)
    assert CHILD_NAME not in email.text and CHILD_NAME not in email.html


def test_the_acknowledgement_gives_reference_stage_deadline_and_who_acts():
    email = render(first(Template.ACKNOWLEDGEMENT))
    for part in (email.text, email.html):
        assert "BSCP-2026-0007" in part
        assert "Level 1: Practitioner to Practitioner" in part
        assert FIRST_DEADLINE in part
        assert "Practitioner (Riya Referrer" in part
        assert POLICY.name in part


def test_the_acknowledgement_puts_immediate_risk_guidance_first_when_the_form_says_so():
    email = render(first(Template.ACKNOWLEDGEMENT))
    assert email.text.index(MASH_GUIDANCE) < email.text.index("Dear Riya")
    assert email.html.index(MASH_GUIDANCE) < email.html.index("Dear Riya")
    assert "The child is at immediate risk" in email.html


def test_the_acknowledgement_still_gives_the_guidance_lower_down_without_immediate_risk():
    _, engine = bury()
    case, notices = engine.open_case(referral(immediate_risk=False), "BSCP-2026-0100",
                                     first(Template.ACKNOWLEDGEMENT).case.opened_at)
    email = render(Rendered(notices[0], case))
    assert email.text.index("Dear Riya") < email.text.index(MASH_GUIDANCE)
    assert "The child is at immediate risk" not in email.html


def test_the_stage_notice_carries_summary_deadline_guidance_and_reply_commands():
    email = render(first(Template.STAGE_NOTICE, "phase0"))
    assert "social care disagree." in email.text and FIRST_DEADLINE in email.text
    assert "Attempt to resolve as soon as possible" in email.text
    for command in ("ESCALATE", "STAGE n", "RESOLVED: outcome", "DECISION: text", "EXTEND n",
                    "ASSIGN role: Name <email>", "NOTE: text", "WITHDRAW: reason"):
        assert command in email.text
    assert "ASSIGN role: Name &lt;email&gt;" in email.html


def test_html_escapes_a_hostile_summary_and_text_keeps_it_verbatim():
    email = render(first(Template.STAGE_NOTICE, "phase0"))
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; the plan" in email.html
    assert "<script>alert('x')</script> & the plan" in email.text


def test_a_stage_nobody_holds_tells_the_business_managers_whom_to_assign():
    email = render(first(Template.STAGE_NOTICE, "assign:"), recipient=BUSINESS_MANAGER)
    assert "NOBODY IS NAMED YET FOR: Line manager, Safeguarding lead." in email.text
    assert "ASSIGN line_manager: Name <email>" in email.text
    assert "ASSIGN safeguarding_lead: Name &lt;email&gt;" in email.html


def test_a_rule_notice_says_why_the_recipient_is_told_and_where_the_rule_comes_from():
    email = render(first(Template.STAGE_NOTICE, "outcome:"))
    assert "tracking of thematics" in email.text and "Seed, Level 3" in email.text
    assert email.subject.startswith("[BSCP-2026-0008] For information: Level 3")
    assert "Agreed: a joint visit" in email.text


def test_the_chasers_name_the_deadline_and_the_overdue_number():
    assert FIRST_DEADLINE in render(first(Template.REMINDER)).text
    assert "due today, by 5pm" in render(first(Template.DUE_TODAY)).text
    overdue = render(first(Template.OVERDUE))
    assert "This is overdue notice 1" in overdue.text
    assert "Overdue (notice 1)" in overdue.subject


def test_stage_notices_and_extensions_carry_a_calendar_entry():
    for item in (first(Template.STAGE_NOTICE, "phase0"), first(Template.DEADLINE_EXTENDED)):
        email = render(item)
        assert [(name, mime) for name, mime, _ in email.attachments] == [
            (f"BSCP-2026-0007-stage-{item.case.stage}-deadline.ics", "text/calendar")]
        assert "calendar entry" in email.text


def test_the_decision_carries_the_decision_and_the_docx_notice():
    email = render(first(Template.DECISION))
    assert "Final decision of the BSCP Business Manager" in email.text
    assert "The school's concerns are upheld." in email.text
    (name, mime, data), record, cancelled = email.attachments
    assert name == "BSCP-2026-0007-decision-notice.docx" and data[:2] == b"PK"
    assert mime.endswith("wordprocessingml.document")
    assert record[0] == "BSCP-2026-0007-case-record.docx"
    assert cancelled[:2] == ("BSCP-2026-0007-stage-4-cancelled.ics", "text/calendar")


def test_a_refusal_says_why_and_who_may_do_what():
    email = render(first(Template.COMMAND_REFUSAL))
    assert "is not a business manager of this mailbox" in email.text
    assert "Only the business managers of" in email.text and "NOTE adds to the record" in email.text
    assert email.subject == "[BSCP-2026-0007] Nothing changed: your command was not taken"


def test_a_refusal_without_a_case_has_no_reference_in_its_subject():
    item = [i for i in ITEMS if i.notice.template == Template.COMMAND_REFUSAL and not i.case][0]
    email = render(item)
    assert not email.subject.startswith("[") and "No case matches this reply." in email.text


def test_please_correct_names_each_problem_and_attaches_the_blank_form(tmp_path):
    (tmp_path / "bury.docx").write_bytes(b"PK blank form")
    email = render(first(Template.PLEASE_CORRECT), JinjaRenderer([DEFAULT_TEMPLATE_DIR], tmp_path))
    assert "- The child's name is missing." in email.text
    assert "- The child's date of birth is missing." in email.text
    assert email.attachments[0][0] == "request-for-resolution-bury.docx"
    assert email.attachments[0][2] == b"PK blank form"
    assert "blank Request for Resolution form is attached" in email.text


def test_please_correct_without_a_blank_form_on_disk_promises_no_attachment(tmp_path):
    email = render(first(Template.PLEASE_CORRECT), JinjaRenderer([DEFAULT_TEMPLATE_DIR], tmp_path))
    assert email.attachments == () and "attached" not in email.text


def test_a_partnership_folder_overrides_a_template_and_the_rest_fall_back(tmp_path):
    (tmp_path / "bury").mkdir()
    (tmp_path / "bury" / "acknowledgement.subject.txt").write_text("[{{ case.reference }}] Bury")
    renderer = JinjaRenderer([tmp_path, DEFAULT_TEMPLATE_DIR], tmp_path)
    assert render(first(Template.ACKNOWLEDGEMENT), renderer).subject == "[BSCP-2026-0007] Bury"
    assert render(first(Template.NEW_CASE), renderer).subject.startswith("[BSCP-2026-0007] New")


def test_a_template_using_a_name_it_was_not_given_fails_loudly(tmp_path):
    (tmp_path / "bury").mkdir()
    (tmp_path / "bury" / "new_case.txt").write_text("{{ case.refrence }}")
    renderer = JinjaRenderer([tmp_path, DEFAULT_TEMPLATE_DIR], tmp_path)
    with pytest.raises(PermanentError, match="new_case"):
        render(first(Template.NEW_CASE), renderer)


def test_a_notice_for_a_template_that_does_not_exist_is_a_permanent_error():
    item = Rendered(Notice("no_such_template", (REFERRER,)), None)
    with pytest.raises(PermanentError, match="no_such_template"):
        render(item)


def test_newlines_in_a_context_value_cannot_break_the_subject_line():
    notice = Notice(Template.MAILBOX_FAILURE, (BUSINESS_MANAGER,),
                    context=MailboxAlert(mailbox="bury\r\nBcc: victim@example.org", error="x"))
    email = render(Rendered(notice, None))
    assert "\n" not in email.subject and "\r" not in email.subject


def test_only_the_decision_carries_the_decision_notice():
    carrying = {i.notice.template for i in ITEMS
                if any(name.endswith("-decision-notice.docx") for name, _, _ in render(i).attachments)}
    assert carrying == {Template.DECISION}
    assert Attachment.DECISION_NOTICE in first(Template.DECISION).notice.attachments


def test_the_closing_emails_carry_the_case_record_and_say_to_place_it_on_the_childs_file():
    carrying = {i.notice.template for i in ITEMS
                if any(name.endswith("-case-record.docx") for name, _, _ in render(i).attachments)}
    assert carrying == {Template.DECISION, Template.OUTCOME}
    for template in carrying:
        email = render(first(template))
        [record] = [a for a in email.attachments if a[0].endswith("-case-record.docx")]
        assert record[0] == f"{first(template).case.reference}-case-record.docx"
        assert record[2].startswith(b"PK")
        assert "Please place it on the child's file" in email.text
        assert "Please place it on the child's file</strong>" in email.html


class _TagBalance(HTMLParser):
    """Checks that every non-void tag the HTML opens, it also closes, in order."""

    VOID = {"meta", "br", "hr", "img", "input", "link"}

    def __init__(self):
        super().__init__()
        self.open: list[str] = []
        self.seen_body = False

    def handle_starttag(self, tag, attrs):
        self.seen_body |= tag == "body"
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()


def test_deadline_phrases_in_the_subjects_use_plain_english():
    email = render(first(Template.NEW_CASE))
    assert re.search(r"due 5pm on Wednesday 30 December 2026$", email.subject)


def test_a_cases_emails_render_the_same_when_composed_together_as_one_by_one():
    """Inside ``same_case`` the case's view is built once for all its emails; every email
    must still read exactly as it does alone."""
    alone = JinjaRenderer([DEFAULT_TEMPLATE_DIR], Path("/nonexistent"))
    together = JinjaRenderer([DEFAULT_TEMPLATE_DIR], Path("/nonexistent"))
    for case in {id(i.case): i.case for i in ITEMS}.values():
        items = [i for i in ITEMS if i.case is case]
        with together.same_case():
            for item in items * 2:
                for recipient in item.notice.to:
                    assert _parts(render(item, together, recipient)) == _parts(
                        render(item, alone, recipient))


def _parts(email: RenderedEmail) -> tuple:
    """An email's text, and its attachments but the .docx files' bytes (a zip holds the
    time it was written)."""
    return (email.subject, email.text, email.html,
            [(name, kind, b"" if name.endswith(".docx") else data)
             for name, kind, data in email.attachments])


def test_rendering_leaves_nothing_for_the_garbage_collector():
    """The macros imported with the context refer to it and it to them; once an email's
    parts are written that cycle is broken, so its objects go when unused rather than at the
    collector's next run (whose runs had been a twentieth of acting on a referral)."""
    renderer = JinjaRenderer([DEFAULT_TEMPLATE_DIR], Path("/nonexistent"))
    for item in ITEMS[:8]:
        render(item, renderer)  # templates compiled, steady parts kept
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for item in ITEMS:
            render(item, renderer)
        gc.collect()
        left = [type(o).__name__ for o in gc.garbage if isinstance(o, Context | Macro)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert left == []  # (a .docx's zip writer leaves its own, which is not the templates')
