"""`mailbot report` over a known caseload of 250 cases across all five policies, on SQLite
and PostgreSQL: the CSV holds the known counts (small ones as "fewer than 5"), no child's
name or date of birth is anywhere in what it writes, and the Word report holds each chart."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import docx
import pytest

from mailbot.adapters.report_files import CSV_NAME, DOCX_NAME, chart_name
from mailbot.domain.case import CaseStatus, EventKind
from mailbot.domain.report_values import FEWER_THAN_5, WITHHELD, shown
from mailbot.entrypoints.cli import main
from mailbot.intake.fields import AGENCY_TYPE_LABELS
from tests.integration.report_fixture import (
    COUNT,
    POLICIES,
    RARE,
    build_cases,
    child_dob,
    child_name,
    engines,
)

pytest_plugins = ["tests.integration.db_fixtures"]
TABLES = ("cases", "categories", "agency_pairs", "resolved_at", "time_in_stage", "chasers",
          "outcomes")


@pytest.fixture
def caseload(database_url, uow_factory, tmp_path):
    """The 250 cases stored, and a config with a mailbox for each of the five policies."""
    cases, expected = build_cases()
    with uow_factory() as uow:
        for case in cases:
            uow.cases.add(case)
        uow.commit()
    mailboxes = "".join(f"""
[[mailbox]]
name = "{key}"
address = "{key}@partnership.example"
policy = "{key}"
kind = "maildir"
path = "{tmp_path / key}"
business_managers = ["bm@partnership.example"]
sender_trust = "none"
""" for key in POLICIES)
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{database_url}"\n{mailboxes}')
    return cases, expected, config


SUMMED = [("cases", "Opened"), ("cases", "Closed"), ("cases", "Withdrawn"),
          ("categories", "Cases"), ("agency_pairs", "Cases"),
          ("resolved_at", "Resolved by agreement"), ("resolved_at", "Decided"),
          ("time_in_stage", "Stages ended"), ("time_in_stage", "Ran over")]


def _report(config: Path, out: Path, *extra: str) -> dict[tuple[str, str, str], str]:
    assert main(["--config", str(config), "report", "--from", "2026-01-01", "--to", "31/12/2026",
                 "--out", str(out), *extra]) == 0
    with (out / CSV_NAME).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {(r["table"], r["row"], r["column"]): r["value"] for r in rows}


def test_the_csv_holds_the_known_counts(caseload, tmp_path):
    cases, expected, config = caseload
    cells = _report(config, tmp_path / "out")
    names = {key: engine.policy.name for key, engine in engines().items()}
    for key in POLICIES:
        assert cells[("cases", names[key], "Opened")] in _shown(expected.opened[key])
        assert cells[("cases", names[key], "Closed")] in _shown(expected.closed[key])
        assert cells[("cases", names[key], "Withdrawn")] in _shown(expected.withdrawn[key])
    assert cells[("cases", "All partnerships", "Opened")] == str(sum(expected.opened.values()))
    assert sum(expected.opened.values()) < COUNT  # some opened before the period
    for category, count in expected.categories.items():
        assert cells[("categories", category, "Cases")] in _shown(count)
    assert cells[("categories", RARE, "Cases")] == FEWER_THAN_5
    # The categories add up to the cases opened: the rare one would be that less the others.
    smallest_shown = min(c for c in expected.categories.values() if c >= 5)
    assert [count for category, count in expected.categories.items()
            if cells[("categories", category, "Cases")] == WITHHELD] == [smallest_shown]
    for (by, about), count in expected.pairs.items():
        label = f"{AGENCY_TYPE_LABELS[by]} about {AGENCY_TYPE_LABELS[about].lower()}"
        assert cells[("agency_pairs", label, "Cases")] in _shown(count)
    for (key, stage, status), count in expected.resolved_at.items():
        row = f"{names[key]}: {engines()[key].policy.label(stage)}"
        column = "Decided" if status is CaseStatus.DECIDED else "Resolved by agreement"
        assert cells[("resolved_at", row, column)] in _shown(count)
    for row, status in (("Resolved by agreement", CaseStatus.RESOLVED),
                        ("Decided at the final stage", CaseStatus.DECIDED),
                        ("Withdrawn", CaseStatus.WITHDRAWN)):
        assert cells[("outcomes", row, "Cases")] in _shown(expected.outcomes[status])
    for row, kind in (("Deadlines extended", EventKind.DEADLINE_EXTENDED),
                      ("Overdue notices", EventKind.DEADLINE_MISSED),
                      ("Reminders before a deadline", EventKind.REMINDER_SENT)):
        assert cells[("chasers", row, "Number")] == shown(expected.chasers[kind])  # no totals
    assert expected.chasers[EventKind.DEADLINE_EXTENDED] >= 5
    assert cells[("time_in_stage", "All stages", "Stages ended")] == str(expected.stages_ended)
    assert cells[("time_in_stage", "All stages", "Ran over")] == str(expected.ran_over)
    share = round(100 * expected.ran_over / expected.stages_ended)
    assert cells[("time_in_stage", "All stages", "Share that ran over")] == f"{share}%"
    assert cells[("time_in_stage", f"{names['bury']}: Level 1: Practitioner to Practitioner",
                  "Policy timescale")] == "10 working days"


def test_no_count_hidden_alone_among_counts_that_add_up_to_a_total_shown(caseload, tmp_path):
    """Secondary suppression: in every group of counts whose total the report shows, none or
    at least two are hidden, so subtraction gives none of them back."""
    cells = _report(caseload[2], tmp_path / "out")
    hidden = {FEWER_THAN_5, WITHHELD}
    groups: dict[tuple[str, str], list[str]] = {}
    for (table, row, column), value in cells.items():
        if (table, column) in SUMMED and row not in ("All partnerships", "All stages"):
            groups.setdefault((table, column), []).append(value)
    outcomes = [cells[("outcomes", row, "Cases")]
                for row in ("Resolved by agreement", "Decided at the final stage")]
    groups[("outcomes", "closed")] = outcomes
    assert set(SUMMED) <= set(groups)
    for group, values in groups.items():
        assert sum(value in hidden for value in values) != 1, (group, values)
    assert any(WITHHELD in values for values in groups.values()), "nothing to prove here"


def _shown(count: int) -> set[str]:
    """What the report may show for a count: the count (or "fewer than 5"), or, where it was
    the smallest beside a suppressed one, "withheld"."""
    return {shown(count)} | ({WITHHELD} if count >= 5 else set())


def test_one_partnership_counts_only_its_own_cases(caseload, tmp_path):
    cases, expected, config = caseload
    cells = _report(config, tmp_path / "hackney", "--partnership", "hackney")
    hackney = engines()["hackney"].policy.name
    assert cells[("cases", hackney, "Opened")] == str(expected.opened["hackney"])
    assert not any(table == "cases" and row != hackney for table, row, _ in cells)
    assert all(row.startswith(hackney) or row == "All stages"
               for table, row, _ in cells if table == "resolved_at" or table == "time_in_stage")


def test_no_childs_name_or_date_of_birth_is_anywhere_in_the_output(caseload, tmp_path):
    cases, _, config = caseload
    out = tmp_path / "out"
    _report(config, out)
    written = []
    for path in out.iterdir():
        written.append(path.read_bytes())
        if path.suffix == ".docx":  # every part of the Word file, unzipped
            with zipfile.ZipFile(path) as archive:
                written += [archive.read(name) for name in archive.namelist()]
    text = b"\n".join(written).decode("latin-1").casefold()
    for i in range(COUNT):
        dob = child_dob(i)
        for secret in (child_name(i), child_name(i).split()[1], dob.isoformat(),
                       f"{dob:%d/%m/%Y}", f"{dob.day} {dob:%B %Y}"):
            assert secret.casefold() not in text, secret


def test_the_word_report_holds_each_chart_under_its_heading(caseload, tmp_path):
    _, _, config = caseload
    out = tmp_path / "out"
    _report(config, out)
    document = docx.Document(str(out / DOCX_NAME))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading 2")]
    assert len(headings) == len(TABLES) and len(document.inline_shapes) == len(TABLES)
    pictures = {part.blob for part in document.part.package.parts
                if part.content_type == "image/png"}
    for key in TABLES:
        chart = (out / chart_name(key)).read_bytes()
        assert chart.startswith(b"\x89PNG") and chart in pictures
    # Each heading is followed by its paragraph, its chart and then its table.
    body = document.element.body
    drawings = [i for i, el in enumerate(body) if el.xpath(".//pic:pic")]
    assert len(drawings) == len(TABLES)
    assert len(document.tables) == len(TABLES)
    assert io.BytesIO((out / DOCX_NAME).read_bytes()).getvalue()[:2] == b"PK"


def test_a_bad_date_or_an_unknown_partnership_is_a_usage_error(caseload, tmp_path, capsys):
    _, _, config = caseload
    base = ["--config", str(config), "report", "--out", str(tmp_path / "x")]
    assert main([*base, "--from", "2026-13-01", "--to", "2026-12-31"]) == 2
    assert "--from" in capsys.readouterr().err
    assert main([*base, "--from", "2026-12-31", "--to", "2026-01-01"]) == 2
    assert main([*base, "--from", "2026-01-01", "--to", "2026-12-31", "--partnership", "kent"]) == 2
    assert "Use one of: berkshire, birmingham, bromley, bury, hackney" in capsys.readouterr().err
