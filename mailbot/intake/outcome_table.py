"""Bury's outcome table (Appendix 1): "Stage | Date Outcome Resolved | Supporting Evidence".

Its rows are "Stage 3" and "Stage 4 (to be completed by Safeguarding Partnership Business
Unit)", the last one's evidence cell opening with "Final decision of:". The Word reader hands
a table here when its first row reads like that header; each stage row gives its own fields
(``stage_3_outcome_date``, ``stage_3_evidence``, ``stage_4_outcome_date``,
``stage_4_final_decision``), and a row for any other stage is kept as an extra answer.
"""

from __future__ import annotations

import re

from mailbot.intake import field_labels as L
from mailbot.intake.docx_page import Cell
from mailbot.intake.reading import ReadingBuilder

_STAGE_ROW = re.compile(r"^\s*stage\s+(\d)\b", re.IGNORECASE)
_DECISION_PROMPT = re.compile(r"^\s*final decision of\s*:?\s*", re.IGNORECASE)
FIELDS = {3: ("stage_3_outcome_date", "stage_3_evidence"),
          4: ("stage_4_outcome_date", "stage_4_final_decision")}


def is_outcome_table(rows: list[list[Cell]]) -> bool:
    if not rows or len(rows[0]) < 3:
        return False
    head = [L.normalise_once(cell.text) for cell in rows[0][:3]]  # answers, as likely
    return (head[0] == "stage" and head[1].startswith("date outcome")
            and head[2].startswith("supporting evidence"))


def read_outcome_table(rows: list[list[Cell]], builder: ReadingBuilder, where: str) -> None:
    for index, row in enumerate(rows[1:], start=2):
        match = _STAGE_ROW.match(row[0].text) if row else None
        if match is None or len(row) < 3:
            continue
        stage, date, evidence = int(match.group(1)), row[1].text, _evidence(row[2].text)
        place = f"{where} row {index}"
        if stage not in FIELDS:
            if date or evidence:
                builder.add_extra(f"Stage {stage} outcome", f"{date}\n{evidence}".strip())
            continue
        date_key, evidence_key = FIELDS[stage]
        builder.add_text(date_key, date, place)
        builder.add_text(evidence_key, evidence, place)


def _evidence(text: str) -> str:
    """The evidence cell's answer, without the printed "Final decision of:" prompt."""
    return _DECISION_PROMPT.sub("", text, count=1).strip()
