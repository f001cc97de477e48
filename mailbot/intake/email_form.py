"""The structured-email reader: the form's fields as ``Label: value`` lines in a message body.

The message parser hands over the plain and HTML bodies as text; this reads the plain body,
or the HTML one when there is no plain body or it holds no fields (an HTML-only message, or a
plain part that only says "see HTML"). HTML tables become ``label<TAB>value`` lines, so an
answer typed into a table in the email reads like one typed after a colon.
"""

from __future__ import annotations

from mailbot.intake.html_text import html_to_text
from mailbot.intake.labelled_text import read_lines
from mailbot.intake.reading import FormReading, ReadingBuilder

_MAX_CHARS = 2_000_000  # a structured email is a page or two; a huge body is not a form


def _read(text: str, source: str) -> FormReading:
    builder = ReadingBuilder(source)
    read_lines(text[:_MAX_CHARS].splitlines(), builder, "email")
    return builder.build()


def read_email_form(text: str | None, html: str | None) -> FormReading:
    """The form answers written in an email body (plain text preferred, HTML as fallback)."""
    reading = _read(text, "email") if text and text.strip() else None
    if (reading is None or not reading.fields and not reading.errors) and html:
        from_html = _read(html_to_text(html, paragraphs=True), "email html")
        if from_html.fields or from_html.errors or reading is None:
            return from_html
    return reading if reading is not None else _read("", "email")
