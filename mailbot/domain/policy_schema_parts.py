"""The parts of a policy file about where referrals enter and what they carry, how long a
stage may run, and the decision notice's terms (``policies/README.md``: ``[entry]``,
``[timescale]``, ``[decision_notice]``, ``[form]`` and a stage's ``must_carry``).

``policy_schema`` calls these while it walks a file; each names the dotted key of a problem.
"""

from __future__ import annotations

from mailbot.domain.errors import PolicyError
from mailbot.domain.policy import Entry, NoticeTerms, Policy, StageLimit
from mailbot.domain.policy_reader import TableReader
from mailbot.domain.referral import Referral

FORM_FIELDS = frozenset(Referral.__dataclass_fields__) - {"extra"}
LAYOUTS = ("summary", "appendix_1")


def form_fields(r: TableReader, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    """A list of Request for Resolution field names, each checked against the catalogue."""
    values = r.strings(name, default)
    for value in values:
        if value not in FORM_FIELDS:
            raise r.fail(name, f"{value!r} is not a form field ({', '.join(sorted(FORM_FIELDS))})")
    return values


def parse_entry(r: TableReader) -> Entry:
    r.unknown_keys({"stage", "words", "source"})
    return Entry(r.get("stage", int), r.text("words"), r.text("source", ""))


def parse_stage_limit(r: TableReader) -> StageLimit:
    r.unknown_keys({"stage_limit_working_days", "limit", "words", "source"})
    days = r.get("stage_limit_working_days", int)
    if days < 1:
        raise r.fail("stage_limit_working_days", "must be at least 1")
    kind = r.text("limit")
    if kind not in ("binding", "guide"):
        raise r.fail("limit", "must be 'binding' (EXTEND beyond it is refused) or 'guide'"
                     " (going beyond it needs a reason)")
    return StageLimit(days, kind == "binding", r.text("words"), r.text("source", ""))


def parse_notice_terms(r: TableReader) -> NoticeTerms:
    r.unknown_keys({"title", "decision_row", "closing", "layout", "source"})
    default = NoticeTerms()
    layout = r.text("layout", default.layout)
    if layout not in LAYOUTS:
        raise r.fail("layout", f"must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    return NoticeTerms(r.text("title", default.title), r.text("decision_row", default.decision_row),
                       r.text("closing", ""), layout, r.text("source", ""))


def check_entry_and_form(file: str, policy: Policy) -> None:
    """The entry stage exists, and the policy asks only for fields its own form has."""
    if policy.entry and not policy.has_stage(policy.entry.stage):
        raise PolicyError(file, "entry.stage", f"names Stage {policy.entry.stage}, which the"
                          " policy does not have")
    own = set(policy.form.fields)
    if not own:
        return
    asked = [("form.required", policy.form.required), ("form.warned", policy.form.warned)]
    asked += [(f"stages[{i}].must_carry", s.must_carry) for i, s in enumerate(policy.stages)]
    for key, fields in asked:
        # The referrer's email can always come from the message that carried the form.
        missing = [f for f in fields if f not in own and f != "referrer_email"]
        if missing:
            raise PolicyError(file, key, f"{missing[0]!r} is not on this partnership's own form"
                              " (form.fields): a referrer cannot be asked for it")
