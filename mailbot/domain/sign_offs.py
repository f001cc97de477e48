"""How people end an email: one list of sign-offs for every reader of mail text.

The reply cutter (``intake.reply_text``), the command parser and the structured-email form
reader each stop at a sign-off; they differ only in how much may follow it on the line, so
the words live here once and a sign-off learnt for one is learnt for all.
"""

from __future__ import annotations

import re

# "Kind regards", "Many thanks", "Thank you", "Yours sincerely", "Cheers"...
_PHRASES = (r"(?:(?:kind(?:est)?|best|warm|many|with)\s+)?(?:regards|wishes|thanks|thank\s+you)"
            r"|yours\s+(?:sincerely|faithfully|truly)|cheers|best")
# What a mail client adds under the text: "Sent from my iPhone", "Get Outlook for iOS".
_CLIENT_FOOTER = (r"sent\s+from\s+my\s+\S.*|get\s+outlook\s+for\s+\S.*"
                  r"|sent\s+from\s+(?:outlook|mail)\s+for\s+\S.*")

SIGN_OFF = re.compile(rf"^\s*(?:(?:{_PHRASES})\b[\s,.!]*|{_CLIENT_FOOTER})$", re.IGNORECASE)
"""A line that is a sign-off and nothing else (punctuation aside)."""

SIGNED_OFF = re.compile(
    rf"^\s*(?:(?:{_PHRASES})\b[\s,.!]*(?:[\w.'-]+[\s,.]*){{0,3}}|{_CLIENT_FOOTER})$", re.IGNORECASE)
"""A sign-off that may carry a name on the same line: "Thanks, Priya", "Best wishes Jo Smith"."""
