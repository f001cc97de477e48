"""policies/FIDELITY.md keeps its promise: every quote is the seed's own words, every seed has
its section, and every test it names as proof exists."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.corpora import CORPORA

ROOT = Path(__file__).resolve().parents[2]
FIDELITY = ROOT / "policies" / "FIDELITY.md"
SEEDS = CORPORA.parent / "seeds"  # the shared folder beside the corpora
_QUOTE = re.compile(r'^- "(.+?)" — ', re.MULTILINE)
_TEST = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")
_SECTION = re.compile(r"^## .*\(seed (\S+\.txt)", re.MULTILINE)


def _plain(text: str) -> str:
    """Words as a reader compares them: no emphasis marks, straight quotes, one space."""
    text = text.replace("**", "").replace("*", "").replace("\u2019", "'")
    return " ".join(text.split())


def _sections() -> dict[str, str]:
    text = FIDELITY.read_text(encoding="utf-8")
    parts = _SECTION.split(text)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def _no_seeds() -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the seed policies are required under CI; not found at {SEEDS}")
    pytest.skip(f"the seed policies are not at {SEEDS} (set MAILBOT_SHARED)")


def _seed(name: str) -> str:
    path = SEEDS / name
    if not path.exists():
        _no_seeds()
    return path.read_text(encoding="utf-8")


def test_every_seed_has_a_section():
    if not SEEDS.exists():
        _no_seeds()
    assert sorted(_sections()) == sorted(p.name for p in SEEDS.glob("*.txt"))


@pytest.mark.parametrize("seed", sorted(_sections()))
def test_every_quote_is_the_seeds_own_words(seed):
    text = _plain(_seed(seed))
    quotes = _QUOTE.findall(_sections()[seed])
    assert len(quotes) >= 25, "sentence by sentence"
    missing = [q for q in quotes if _plain(q) not in text]
    assert missing == []


@pytest.mark.parametrize("seed", sorted(_sections()))
def test_every_sentence_of_the_seed_is_quoted(seed):
    quoted = " ".join(_plain(q) for q in _QUOTE.findall(_sections()[seed]))
    missing = [s for s in _sentences(_seed(seed)) if s[:40] not in quoted]
    assert missing == []


def _sentences(text: str) -> list[str]:
    """The seed's sentences of some length, line by line, without list marks or numbering."""
    found = []
    for line in text.splitlines():
        line = re.sub(r"\[bookmark: \w+\]", "", line)  # Word's bookmarks, kept by the export
        line = re.sub(r"^\s*([-\u2022]\s+)?(\d+(\.\d+)*\s+)?", "", line)
        found += [_plain(s) for s in re.split(r"(?<=[.?])\s+", line) if len(_plain(s)) >= 40]
    return found


def test_every_test_named_as_proof_exists():
    named = set(_TEST.findall(FIDELITY.read_text(encoding="utf-8")))
    assert len(named) > 50
    missing = [f"{path}::{name}" for path, name in sorted(named)
               if not (ROOT / path).exists()
               or not re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.MULTILINE)]
    assert missing == []
