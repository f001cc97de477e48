"""The structured-email reader: the form's fields as ``Label: value`` lines in a message body.

The message parser hands over the plain and HTML bodies as text; this reads the plain body,
or the HTML one when there is no plain body or it holds no fields (an HTML-only message, or a
plain part that only says "see HTML"). HTML tables become ``label<TAB>value`` lines, so an
answer typed into a table in the email reads like one typed after a colon.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from mailbot.intake.labelled_text import read_lines
from mailbot.intake.reading import FormReading, ReadingBuilder

_BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table",
           "blockquote", "pre", "ul", "ol", "section", "article", "header", "footer", "hr"}
_HIDDEN = {"script", "style", "head", "title", "template"}
_MAX_CHARS = 2_000_000  # a structured email is a page or two; a huge body is not a form


class _TextOfHtml(HTMLParser):
    """HTML to lines of text: blocks break lines, table cells are separated by tabs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0
        self._cell_open = False

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag in ("td", "th"):
            if self._cell_open:
                self.parts.append("\t")
            self._cell_open = True
        elif tag in _BLOCKS:
            self._break(tag)

    def handle_startendtag(self, tag: str, attrs) -> None:
        if tag in ("br", "hr"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(self._hidden - 1, 0)
        elif tag in _BLOCKS and tag != "br":
            self._break(tag)

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(re.sub(r"[ \t\r\n\f]+", " ", data))

    def _break(self, tag: str) -> None:
        if tag in ("tr", "table"):
            self._cell_open = False
        # Lines inside a cell (a <p> or <br> in a table cell) stay inside that cell's answer.
        self.parts.append("\n" if not self._cell_open or tag in ("br", "p", "div") else "")


def html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html[:_MAX_CHARS])
    parser.close()
    lines = ("".join(parser.parts).replace("\u00a0", " ")).split("\n")
    return "\n".join(line.strip(" ") for line in lines)


def _read(text: str, source: str) -> FormReading:
    builder = ReadingBuilder(source)
    read_lines(text[:_MAX_CHARS].splitlines(), builder, "email")
    return builder.build()


def read_email_form(text: str | None, html: str | None) -> FormReading:
    """The form answers written in an email body (plain text preferred, HTML as fallback)."""
    reading = _read(text, "email") if text and text.strip() else None
    if (reading is None or not reading.fields and not reading.errors) and html:
        from_html = _read(html_to_text(html), "email html")
        if from_html.fields or from_html.errors or reading is None:
            return from_html
    return reading if reading is not None else _read("", "email")
