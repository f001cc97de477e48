"""Tests of intake.reply_text: commands are read from what the writer typed, not the thread."""

from __future__ import annotations

from dataclasses import replace

import pytest
from mail_corpora import corpus

from mailbot.intake.message import InboundMessage, parse_message
from mailbot.intake.reply_text import own_text, own_text_of

QUOTED_ORIGINAL = "Please reply with a command"


def _html_message(html: str) -> InboundMessage:
    return InboundMessage(message_id="", from_addresses=(), from_header_defects=False,
                          html_body=html)


def _standard_replies():
    return sorted(corpus("talon", "tests", "fixtures", "standard_replies").glob("*.eml"))


def test_talon_replies_keep_the_reply_and_drop_the_quoted_original():
    paths = _standard_replies()
    assert len(paths) >= 12
    for path in paths:
        msg = parse_message(path.read_bytes())
        text = own_text(msg)
        assert text.startswith("Hello"), (path.name, text)
        # Every fixture quotes an original that says only "Hi".
        assert "Hi" not in text.split(), (path.name, text)
        assert ">" not in text, (path.name, text)


def test_talon_replies_read_from_their_html_part_alone_drop_the_quote_too():
    for path in _standard_replies():
        msg = parse_message(path.read_bytes())
        if not msg.html_body:
            continue
        text = own_text(replace(msg, text_body=""))
        assert text, path.name
        assert "Hi" not in text.split(), (path.name, text)


HTML_REPLIES = ["gmail", "hotmail", "mail_ru", "ms_outlook_2003", "ms_outlook_2007",
                "ms_outlook_2010", "thunderbird", "windows_mail", "yandex_ru"]


@pytest.mark.parametrize("name", HTML_REPLIES)
def test_talon_html_replies_keep_only_the_reply(name):
    path = corpus("talon", "tests", "fixtures", "html_replies", f"{name}.html")
    raw = path.read_bytes()
    try:
        html = raw.decode("utf-8")
    except UnicodeDecodeError:
        html = raw.decode("cp1251")
    text = own_text(_html_message(html))
    assert text.startswith("Hi. I am fine.")
    assert "How are you" not in text
    assert "Sasha" not in text


@pytest.mark.parametrize("name", ["reply-separated-by-hr.html", "OLK_SRC_BODY_SECTION.html"])
def test_talon_outlook_style_html_header_blocks_are_cut(name):
    html = corpus("talon", "tests", "fixtures", name).read_text()
    text = own_text(_html_message(html))
    assert text
    assert "From:" not in text and "bob@example.com" not in text


def test_a_gmail_reply_keeps_a_two_line_command_above_the_quote():
    body = (
        "ESCALATE: the school and children's social care still disagree\n"
        "about the threshold for a strategy discussion.\n\n"
        "On Tue, 3 Mar 2026 at 10:00, Bury Safeguarding Children Partnership <\n"
        "bsp@bury.gov.uk> wrote:\n\n"
        f"> {QUOTED_ORIGINAL}\n> ESCALATE: reason\n"
    )
    assert own_text_of(body) == (
        "ESCALATE: the school and children's social care still disagree\n"
        "about the threshold for a strategy discussion."
    )


def test_an_outlook_reply_cuts_the_from_sent_block_and_the_signature():
    body = (
        "RESOLVED: both agencies agreed a joint home visit on Friday\n"
        "and a review at the next core group.\n\n"
        "Kind regards\nJane Smith\nBusiness Manager\n\n"
        "________________________________\n"
        "From: Bury Safeguarding Children Partnership <bsp@bury.gov.uk>\n"
        "Sent: 03 March 2026 10:00\nTo: Jane Smith <jane.smith@bury.gov.uk>\n"
        "Subject: [BSCP-2026-0007] Stage 1\n\n"
        f"{QUOTED_ORIGINAL}\nRESOLVED: outcome\n"
    )
    assert own_text_of(body) == (
        "RESOLVED: both agencies agreed a joint home visit on Friday\n"
        "and a review at the next core group."
    )


def test_an_outlook_block_without_the_underscore_line_is_cut_too():
    body = (
        "NOTE: spoke to the DSL today\n\n"
        "From: Bury SCP <bsp@bury.gov.uk>\nSent: Tuesday, March 3, 2026 10:00 AM\n"
        "To: Jane <jane@bury.gov.uk>\nSubject: RE: [BSCP-2026-0007]\n\n"
        f"{QUOTED_ORIGINAL}\n"
    )
    assert own_text_of(body) == "NOTE: spoke to the DSL today"


def test_an_apple_mail_reply_with_a_signature_delimiter_keeps_the_command():
    body = (
        "DECISION: the threshold for section 47 enquiries was met;\n"
        "children's social care will convene a strategy discussion.\n\n"
        "-- \nJane Smith\n\n"
        "> On 3 Mar 2026, at 10:00, Bury SCP <bsp@bury.gov.uk> wrote:\n>\n"
        f"> {QUOTED_ORIGINAL}\n"
    )
    assert own_text_of(body) == (
        "DECISION: the threshold for section 47 enquiries was met;\n"
        "children's social care will convene a strategy discussion."
    )


def test_commands_after_a_signature_delimiter_are_not_cut():
    body = "Thanks\n-- \nESCALATE: no reply from the school\nSTAGE 3: needs the director\n"
    assert "ESCALATE: no reply from the school" in own_text_of(body)
    assert "STAGE 3: needs the director" in own_text_of(body)


def test_a_sign_off_followed_by_a_command_is_kept():
    body = "Kind regards,\nJane\nWITHDRAW: the family moved out of area\n"
    assert own_text_of(body).endswith("WITHDRAW: the family moved out of area")


def test_an_html_only_outlook_reply_keeps_its_two_line_command():
    html = (
        "<html><body><div class=WordSection1><p class=MsoNormal>ESCALATE: no agreement "
        "reached</p><p class=MsoNormal>at the stage 1 meeting.</p><p>&nbsp;</p>"
        "<div style='border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0in 0in 0in'>"
        "<p class=MsoNormal><b>From:</b> Bury SCP &lt;bsp@bury.gov.uk&gt;<br><b>Sent:</b> "
        "03 March 2026 10:00<br><b>To:</b> Jane<br><b>Subject:</b> [BSCP-2026-0007]</p></div>"
        f"<p>{QUOTED_ORIGINAL}</p></div></body></html>"
    )
    assert own_text(_html_message(html)) == "ESCALATE: no agreement reached\nat the stage 1 meeting."


def test_an_html_blockquote_without_an_intro_line_is_dropped():
    html = f"<div>EXTEND 5: awaiting school report</div><blockquote>{QUOTED_ORIGINAL}</blockquote>"
    assert own_text(_html_message(html)) == "EXTEND 5: awaiting school report"


def test_a_bottom_posted_reply_keeps_the_text_under_the_quote():
    body = f"On Tue, 3 Mar 2026, Bury SCP <bsp@bury.gov.uk> wrote:\n> {QUOTED_ORIGINAL}\n\nNOTE: ok\n"
    assert own_text_of(body) == "NOTE: ok"


def test_interleaved_quoted_lines_are_dropped():
    body = f"> {QUOTED_ORIGINAL}\nNOTE: agreed\n> more quoted\n"
    assert own_text_of(body) == "NOTE: agreed"


def test_a_message_with_no_body_has_no_own_text():
    assert own_text(_html_message("")) == ""
