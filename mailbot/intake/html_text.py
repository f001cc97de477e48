"""HTML mail bodies as plain text, for reading replies that arrive without a text part.

Used by ``intake.reply_text`` and by the structured-email form reader. Block elements and
``<br>`` become line breaks and each ``<blockquote>`` level becomes a ``> `` prefix, so quoted
text looks quoted to the same plain-text rules that read text bodies; the cells of a table row
are separated by tabs, so an answer typed into a table reads like ``label<TAB>value``.
"""

from __future__ import annotations

import re

import lxml.etree
import lxml.html

_BLOCKS = {
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
}
_SKIP = {"head", "script", "style", "title", "template", "noscript"}
_TAGS = re.compile(r"<[^>]*>")
_CELLS = {"td", "th"}
# Marks the start of a table row's second and later cells until the line is written out, where
# it becomes a tab: a tab in the HTML itself is only white space.
_CELL_BREAK = "\ue000"
_AROUND_CELL_BREAK = re.compile(r"\s*\ue000\s*")
_MAX_CHARS = 2_000_000  # a mail body is a page or two; past this it is not read as one


def html_to_text(html: str, paragraphs: bool = False) -> str:
    """The readable text of an HTML body, one line per block, quotes marked with ``> ``.

    With ``paragraphs``, a blank line follows each paragraph (``<p>``, ``<div>``), as it would
    in a plain-text body: the form reader takes a blank line as the end of a short answer and
    keeps the paragraphs of a long one apart.
    """
    if not html.strip():
        return ""
    try:
        root = lxml.html.document_fromstring(html[:_MAX_CHARS])
    except (lxml.etree.ParserError, ValueError):
        return _TAGS.sub(" ", html)
    text = _Text(paragraphs)
    text.collect(root, 0)
    text.flush(0)
    return "\n".join(text.lines).strip("\n")


class _Text:
    def __init__(self, paragraphs: bool):
        self.paragraphs = paragraphs
        self.lines: list[str] = []
        self.current: list[str] = []

    def collect(self, el: lxml.html.HtmlElement, depth: int) -> None:
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if tag in _SKIP or not tag:
            self.tail(el)
            return
        inner = depth + 1 if tag == "blockquote" else depth
        if tag in _BLOCKS:
            self.flush(depth)
        if tag == "br":
            self.flush(depth, keep_empty=True)
        previous = el.getprevious()
        if tag in _CELLS and previous is not None and previous.tag in _CELLS:
            self.current.append(_CELL_BREAK)
        if el.text:
            self.current.append(el.text)
        for child in el:
            self.collect(child, inner)
        if tag in _BLOCKS:
            self.flush(inner)
            if self.paragraphs and tag in ("p", "div") and self.lines and self.lines[-1].strip(">"):
                self.lines.append(">" * inner)
        self.tail(el)

    def tail(self, el: lxml.html.HtmlElement) -> None:
        if el.tail:
            self.current.append(el.tail)

    def flush(self, depth: int, keep_empty: bool = False) -> None:
        text = " ".join("".join(self.current).replace("\xa0", " ").split())
        if _CELL_BREAK in text:
            text = _AROUND_CELL_BREAK.sub("\t", text)
        self.current.clear()
        if text or keep_empty:
            self.lines.append("> " * depth + text if text else ">" * depth)
