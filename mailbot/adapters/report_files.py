"""The thematic report as files: a Word report (.docx) with its charts, each chart as a PNG,
and a CSV of every table's rows, written into one folder.

The CSV has one line per cell (table, row, column, value) with the same text the report
shows, so small numbers are "fewer than 5" there too. Nothing here sees a case: only the
tables of ``domain.reporting``, which hold no names and no dates of birth.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO
from pathlib import Path

from docx import Document
from docx.document import Document as DocxDocument
from docx.shared import Inches, Pt

from mailbot.adapters import charts
from mailbot.domain.report_values import FEWER_THAN_5, WITHHELD, plotted, shown
from mailbot.domain.reporting import Table, ThematicReport

DOCX_NAME, CSV_NAME = "thematic-report.docx", "thematic-report.csv"
CSV_HEADER = ("table", "row", "column", "value")


@dataclass(frozen=True)
class ReportFiles:
    docx: Path
    csv: Path
    charts: tuple[Path, ...]


def chart_name(table_key: str) -> str:
    return f"chart-{table_key}.png"


def write_report(report: ThematicReport, folder: Path, title: str) -> ReportFiles:
    folder.mkdir(parents=True, exist_ok=True)
    pictures = {table.key: _chart(table) for table in report.tables}
    paths = []
    for table in report.tables:
        path = folder / chart_name(table.key)
        path.write_bytes(pictures[table.key])
        paths.append(path)
    docx_path, csv_path = folder / DOCX_NAME, folder / CSV_NAME
    docx_path.write_bytes(_document(report, title, pictures))
    _write_csv(report, csv_path)
    return ReportFiles(docx_path, csv_path, tuple(paths))


def _chart(table: Table) -> bytes:
    series = {table.columns[i]: [(plotted(row.values[i]), shown(row.values[i])) for row in table.rows]
              for i in table.charted}
    return charts.bar_chart(table.title, [row.label for row in table.rows], series)


def _document(report: ThematicReport, title: str, pictures: dict[str, bytes]) -> bytes:
    document = Document()
    document.styles["Normal"].font.size = Pt(10)
    document.add_heading(title, level=1)
    last_day = report.period.end - timedelta(days=1)
    document.add_paragraph(f"Period: {report.period.start:%d %B %Y} to {last_day:%d %B %Y}."
                           f" Partnerships: {', '.join(report.partnerships) or 'none'}.")
    document.add_paragraph(
        f"Numbers under 5 are shown as \"{FEWER_THAN_5}\", as in published statistics about"
        " children, and so are shares and medians worked out from them. Where numbers add up to"
        " a total shown in the report, so that one under 5 could be worked out from the others,"
        f" the smallest of the others is \"{WITHHELD}\" too. Cases are named by reference only.")
    for table in report.tables:
        document.add_heading(table.title, level=2)
        document.add_paragraph(table.counts)
        document.add_picture(BytesIO(pictures[table.key]), width=Inches(6.3))
        _add_table(document, table)
    buffer = BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _add_table(document: DocxDocument, table: Table) -> None:
    grid = document.add_table(rows=1, cols=len(table.columns) + 1)
    grid.style = "Table Grid"
    for cell, text in zip(grid.rows[0].cells, ("", *table.columns), strict=True):
        cell.text = text
    for row in table.rows:
        cells = grid.add_row().cells
        cells[0].text = row.label
        for cell, value in zip(cells[1:], row.values, strict=True):
            cell.text = shown(value)
    if not table.rows:
        grid.add_row().cells[0].text = "No cases."
    document.add_paragraph()


def _write_csv(report: ThematicReport, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        for table in report.tables:
            for row in table.rows:
                for column, value in zip(table.columns, row.values, strict=True):
                    writer.writerow((table.key, row.label, column, shown(value)))
