"""Where the shared real-world mail corpora live, for the intake tests that read them.

A missing corpus skips the test with a reason, except under CI=true, where it fails: a
suite that silently skipped its real-world evidence would prove nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.corpora import CORPORA


def corpus(*parts: str) -> Path:
    path = CORPORA.joinpath(*parts)
    if not path.exists():
        message = f"corpus not found: {path}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
