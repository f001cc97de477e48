"""HTML mail bodies as plain text, for reading replies that arrive without a text part.

Used by ``intake.reply_text``. Block elements and ``<br>`` become line breaks and each
``<blockquote>`` level becomes a ``> `` prefix, so quoted text looks quoted to the same
plain-text rules that read text bodies.
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


def html_to_text(html: str) -> str:
    """The readable text of an HTML body, one line per block, quotes marked with ``> ``."""
    if not html.strip():
        return ""
    try:
        root = lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return _TAGS.sub(" ", html)
    lines: list[str] = []
    current: list[str] = []
    _collect(root, 0, lines, current)
    _flush(lines, current, 0)
    return "\n".join(lines).strip("\n")


def _collect(el: lxml.html.HtmlElement, depth: int, lines: list[str], current: list[str]) -> None:
    tag = el.tag.lower() if isinstance(el.tag, str) else ""
    if tag in _SKIP or not tag:
        _tail(el, current)
        return
    inner = depth + 1 if tag == "blockquote" else depth
    if tag in _BLOCKS:
        _flush(lines, current, depth)
    if tag == "br":
        _flush(lines, current, depth, keep_empty=True)
    if el.text:
        current.append(el.text)
    for child in el:
        _collect(child, inner, lines, current)
    if tag in _BLOCKS:
        _flush(lines, current, inner)
    _tail(el, current)


def _tail(el: lxml.html.HtmlElement, current: list[str]) -> None:
    if el.tail:
        current.append(el.tail)


def _flush(lines: list[str], current: list[str], depth: int, keep_empty: bool = False) -> None:
    text = " ".join("".join(current).replace("\xa0", " ").split())
    current.clear()
    if text or keep_empty:
        lines.append("> " * depth + text if text else ">" * depth)
