"""Text from outside, made safe to show: what may reach a terminal, a log or an email.

A form or a reply can carry characters that change what a reader sees rather than what
they read: terminal escape sequences (which clear or recolour an operator's screen), NUL
and other control characters, and the Unicode bidirectional overrides and isolates that
make "Sam\u202eelpmaS" display reversed. ``printable`` removes them and keeps line breaks
and tabs; every other character, accents and scripts included, is left alone.
"""

from __future__ import annotations

import re

# C0 and C1 controls but tab and newline; the bidi embeddings, overrides and isolates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` without control characters (but newlines and tabs) or bidi overrides."""
    if text.isprintable():
        # Nothing to remove: every character the pattern matches (and a CR) is one Python
        # counts unprintable, and this test costs two thirds of the pattern's search. Most
        # values printed into an email (names, dates, references) are such text, some two
        # hundred of them an email (issue 18).
        return text
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNSAFE.sub("", text) if _UNSAFE.search(text) else text
