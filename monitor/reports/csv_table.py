"""The league table as CSV: UTF-8 with a byte-order mark so spreadsheet programs read the Vietnamese."""
from __future__ import annotations

import csv
import io

from monitor.reports import tables, wording


def to_csv(report) -> bytes:
    """One row per unit, worst first within each group; rates in percent with one decimal."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(label) + (" (%)" if key in tables.RATE_COLUMNS else "")
                     for key, label in tables.LEAGUE_COLUMNS])
    yes, no = wording.yes_no(True), wording.yes_no(False)
    for row in tables.league_rows(report):
        cells = []
        for key, _ in tables.LEAGUE_COLUMNS:
            value = row[key]
            if key in tables.RATE_COLUMNS:
                value = "" if value is None else f"{value * 100:.1f}"
            elif isinstance(value, bool):
                value = yes if value else no
            cells.append("" if value is None else value)
        writer.writerow(cells)
    return "\ufeff".encode("utf-8") + out.getvalue().encode("utf-8")
