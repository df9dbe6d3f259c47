"""The league table as CSV: UTF-8 with a byte-order mark so spreadsheet programs read the Vietnamese.

Text that a spreadsheet would read as a formula is written with a leading apostrophe (registry.cells); numbers
stay numbers. The league table comes first, unchanged; after one empty row, a second table holds the evidence: every call
cited for the failing and contested units; after another empty row, the 1022 survey's figures per unit
(monitor/surveys/render.csv_section). A period with simulated calls starts with a one-cell notice row.
"""
from __future__ import annotations

import csv
import io

from monitor.reports import tables, wording
from monitor.surveys.render import csv_section
from registry.cells import neutralise

EVIDENCE_TITLE = "Bằng chứng: các cuộc gọi được tính của đơn vị chưa đạt yêu cầu hoặc có giải trình"


def to_csv(report) -> bytes:
    """One row per unit, worst first within each group; rates in percent with one decimal; then the evidence."""
    out = io.StringIO()
    writer = csv.writer(out)
    if report.simulated:
        writer.writerow([tables.SIMULATED_NOTICE])
    writer.writerow([str(label) + (" (%)" if key in tables.RATE_COLUMNS else "")
                     for key, label in tables.LEAGUE_COLUMNS])
    yes, no = wording.yes_no(True), wording.yes_no(False)
    for row in tables.league_rows(report):
        cells = []
        for key, _ in tables.LEAGUE_COLUMNS:
            value = row[key]
            if key in tables.RATE_COLUMNS:  # a number, written as one ("-8.3" stays a negative number)
                value = "" if value is None else f"{value * 100:.1f}"
            elif isinstance(value, bool):
                value = yes if value else no
            else:
                value = neutralise(value)
            cells.append("" if value is None else value)
        writer.writerow(cells)
    evidence = tables.evidence_table(report)
    if evidence:
        writer.writerow([])
        writer.writerow([EVIDENCE_TITLE])
        writer.writerow([label for _, label in tables.EVIDENCE_COLUMNS])
        for row in evidence:
            writer.writerow(["" if row[key] is None else neutralise(row[key]) for key, _ in tables.EVIDENCE_COLUMNS])
    csv_section(writer, report.surveys)
    return "\ufeff".encode("utf-8") + out.getvalue().encode("utf-8")
