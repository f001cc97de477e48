"""Where the shared corpora of real files nobody here wrote are (``../shared/corpora``).

The checkout normally sits beside ``shared/``; a clone elsewhere finds it through the
MAILBOT_SHARED environment variable or the workplace's own /work/shared.
"""

from __future__ import annotations

import os
from pathlib import Path

_BESIDE_THE_CHECKOUT = Path(__file__).resolve().parents[1].parent / "shared"


def _shared() -> Path:
    candidates = [Path(os.environ["MAILBOT_SHARED"])] if os.environ.get("MAILBOT_SHARED") else []
    candidates += [_BESIDE_THE_CHECKOUT, Path("/work/shared")]
    return next((c for c in candidates if (c / "corpora").is_dir()), candidates[0])


CORPORA = _shared() / "corpora"
