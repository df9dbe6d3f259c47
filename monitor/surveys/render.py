"""The surveys' results (results.Results) as files: PDF (the official layout), XLSX, CSV and JSON; and the SVG
charts the page and the PDF draw.

Anonymous by construction: the rows are built from results.Results, which holds no applicant, phone or dossier
code (comments are anonymised there). Every spreadsheet cell goes through registry.cells.neutralise, so a
comment starting with "=" is text, never a formula. The documents are the office's fixed Vietnamese layout
(like monitor/reports' exports); the labels of codes come through gettext in the locale they are rendered in.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from flask_babel import force_locale
from flask_babel import gettext as _
from jinja2 import Environment, FileSystemLoader, select_autoescape

from monitor import labels
from monitor.reports import charts, tables, wording
from monitor.surveys.rates import RATE_KEYS
from monitor.surveys.results import ELEMENTS, LEVELS, Figures, Results
from registry import letterhead
from registry.cells import neutralise

FORMATS = ("pdf", "xlsx", "csv", "json")
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
NOT_ENOUGH = "chưa đủ dữ liệu"
# The unit table's columns: (key, heading); rates and shares are fractions 0..1.
UNIT_COLUMNS = [
    ("rank", "Hạng"), ("code", "Mã đơn vị"), ("name", "Đơn vị"), ("level", "Cấp"), ("cases", "Số phiếu được chọn"),
    ("completes", "Hoàn thành phỏng vấn"), ("RR1", "Tỷ lệ trả lời RR1"), ("RR3", "Tỷ lệ trả lời RR3"),
    ("COOP1", "Tỷ lệ hợp tác COOP1"), ("REF1", "Tỷ lệ từ chối REF1"), ("CON1", "Tỷ lệ liên lạc CON1"),
    ("satisfied", "Hài lòng chung"), ("satisfied_low", "Khoảng tin cậy 95%: thấp"),
    ("satisfied_high", "Khoảng tin cậy 95%: cao"), ("mean", "Điểm trung bình (1–5)"),
    ("dissatisfied", "Không hài lòng (1–2)"), ("problems", "Phản ánh bị nhũng nhiễu, đòi tiền, thiếu tôn trọng"),
    ("problems_yes", "Số người phản ánh"),
    *[(f"element_{e}", f"Yếu tố {e}: hài lòng") for e in ELEMENTS],
    ("data_findings", "Số điện thoại sai trong dữ liệu"), ("note", "Ghi chú"),
]
SHARE_KEYS = {"RR1", "RR3", "COOP1", "REF1", "CON1", "satisfied", "satisfied_low", "satisfied_high", "dissatisfied",
              "problems", *[f"element_{e}" for e in ELEMENTS]}


def _figures_row(f: Figures) -> dict:
    return {
        "cases": f.cases, "completes": f.completes, **{k: f.rates.get(k) for k in ("RR1", "RR3", "COOP1", "REF1", "CON1")},
        "satisfied": f.overall["share"], "satisfied_low": f.overall["low"], "satisfied_high": f.overall["high"],
        "mean": None if f.overall["mean"] is None else round(f.overall["mean"], 2),
        "dissatisfied": f.overall["dissatisfied"], "problems": f.problems["share"],
        "problems_yes": f.problems["yes"],
        **{f"element_{e}": f.elements[e]["share"] for e in ELEMENTS}, "data_findings": f.data_findings,
    }


def unit_rows(results: Results) -> list[dict]:
    """One row per unit, the league's order (worst ranked first, then the units without enough completes)."""
    rows = []
    for rank, u in enumerate(results.units, start=1):
        rows.append({"rank": rank if u.ranked else None, "code": u.unit["code"], "name": u.unit["name"],
                     "level": str(LEVELS.get(u.level, u.level)), **_figures_row(u.figures),
                     "note": "" if u.ranked else f"{NOT_ENOUGH} (dưới {results.min_completes} phiếu hoàn thành)"})
    return rows


def level_rows(results: Results) -> list[dict]:
    """The levels, then the whole province (its row last, named "Toàn tỉnh")."""
    rows = [{"rank": None, "code": level, "name": str(label), "level": str(label),
             **_figures_row(results.levels[level]), "note": ""} for level, label in LEVELS.items()]
    rows.append({"rank": None, "code": "", "name": "Toàn tỉnh", "level": "", **_figures_row(results.province),
                 "note": ""})
    return rows


def element_rows(f: Figures) -> list[dict]:
    return [{"element": e, "label": str(label), **f.elements[e]} for e, label in ELEMENTS.items()]


def file_stem(results: Results) -> str:
    return f"khao-sat-1022-{results.start:%Y%m%d}-{results.end:%Y%m%d}"


# ------------------------------------------------------------------------------------------------ charts

def element_chart(results: Results, chart_id: str = "survey-elements"):
    """Bars: the province's satisfied share per SIPAS element and overall, with 95 % intervals."""
    f = results.province
    bars = [(_("Yếu tố %(n)s", n=e), f.elements[e]["share"], _("%(n)s ý kiến", n=f.elements[e]["n"]),
             (f.elements[e]["low"], f.elements[e]["high"])) for e in ELEMENTS]
    bars.append((_("Chung"), f.overall["share"], _("%(n)s người", n=f.overall["n"]),
                 (f.overall["low"], f.overall["high"])))
    return charts.bar_chart(chart_id, _("Tỷ lệ hài lòng theo yếu tố (SIPAS)"), bars)


def trend_chart(results: Results, chart_id: str = "survey-trend"):
    """Lines: the province's overall satisfaction and RR1 over the last months."""
    return charts.line_chart(chart_id, _("Hài lòng chung và tỷ lệ trả lời theo tháng"),
                             [t["label"] for t in results.trend],
                             [(_("Hài lòng chung"), [t["satisfied"] for t in results.trend]),
                              (_("Tỷ lệ trả lời RR1"), [t["RR1"] for t in results.trend])])


# ----------------------------------------------------------------------------------------------- formats

def _percent_cell(key: str, value):
    if key in SHARE_KEYS:
        return "" if value is None else f"{value * 100:.1f}"
    return "" if value is None else neutralise(value)


def _csv_table(writer, columns, rows) -> None:
    writer.writerow([label + (" (%)" if key in SHARE_KEYS else "") for key, label in columns])
    for row in rows:
        writer.writerow([_percent_cell(key, row.get(key)) for key, _label in columns])


def to_csv(results: Results) -> bytes:
    """The units (league order), then the levels and province, then the comments; UTF-8 with a BOM."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f"Kết quả khảo sát mức độ hài lòng (1022) từ {results.start:%d/%m/%Y} đến {results.end:%d/%m/%Y}"])
    _csv_table(writer, UNIT_COLUMNS, unit_rows(results))
    writer.writerow([])
    writer.writerow(["Theo cấp và toàn tỉnh"])
    _csv_table(writer, UNIT_COLUMNS[2:], level_rows(results))
    writer.writerow([])
    writer.writerow(["Ý kiến của người dân (ẩn danh)"])
    writer.writerow(["Đơn vị", "Cấp", "Ý kiến"])
    for c in results.comments:
        writer.writerow([neutralise(c["unit"]), str(LEVELS.get(c["level"], c["level"])), neutralise(c["text"])])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def csv_section(writer, results: Results | None) -> None:
    """The monthly official report's CSV table of the survey (after an empty row): units, then levels."""
    writer.writerow([])
    writer.writerow(["Khảo sát mức độ hài lòng (1022)"])
    if results is None or not results.province.cases:
        writer.writerow(["Trong kỳ chưa có kết quả khảo sát."])
        return
    _csv_table(writer, UNIT_COLUMNS, unit_rows(results) + level_rows(results))


def json_section(results: Results | None) -> dict | None:
    """The monthly official report's JSON of the survey (no comments: those are in the survey's own exports)."""
    if results is None:
        return None
    return {"province": _figures_json(results.province), "min_completes": results.min_completes,
            "levels": {level: _figures_json(results.levels[level]) for level in LEVELS},
            "units": [{"code": u.unit["code"], "name": u.unit["name"], "level": u.level, "ranked": u.ranked,
                       **_figures_json(u.figures)} for u in results.units]}


def _figures_json(f: Figures) -> dict:
    return {"cases": f.cases, "completes": f.completes, "respondents": f.respondents,
            "dispositions": f.raw_counts, "weighted_dispositions": f.counts,
            "rates": {k: f.rates.get(k) for k in (*RATE_KEYS, "e")},
            "elements": {str(e): f.elements[e] for e in ELEMENTS}, "overall": f.overall, "problems": f.problems,
            "data_findings": f.data_findings}


def to_json(results: Results) -> bytes:
    """Machine-readable: codes stay codes, rates and shares are fractions 0..1, intervals low/high."""
    data = {
        "period": {"from": results.start.isoformat(), "to": results.end.isoformat(),
                   "cases_by": "dossiers returned in the period"},
        "min_completes": results.min_completes,
        **json_section(results),
        "comments": [{"unit": c["unit"], "level": c["level"], "text": c["text"]} for c in results.comments],
        "trend": results.trend,
    }
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


def to_xlsx(results: Results) -> bytes:
    from monitor.surveys.render_xlsx import workbook  # openpyxl is needed by this format only

    return workbook(results)


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader([str(TEMPLATES / "surveys"), str(TEMPLATES / "reports")]),
                      autoescape=select_autoescape(["html"]))
    # The letterhead's file (_annex.html) is compiled whole: its other macros need the reports' filters.
    env.filters.update(percent=charts.percent, seconds=tables.seconds, points=tables.points,
                       local_time=tables.local_time, band=labels.band, outcome=labels.outcome)
    return env


def to_html(results: Results, generated_at) -> str:
    """The official document's print HTML (templates/surveys/results_official.html)."""
    return _environment().get_template("results_official.html").render(
        r=results, units=unit_rows(results), levels=level_rows(results), elements=element_rows(results.province),
        element_chart=element_chart(results), trend_chart=trend_chart(results) if results.trend else "",
        authority=wording.AUTHORITY, office=wording.OFFICE, place_date=letterhead.place_date(generated_at),
        recipients=wording.RECIPIENTS)


def to_pdf(results: Results, generated_at) -> bytes:
    from monitor.reports.pdf import html_to_pdf

    return html_to_pdf(to_html(results, generated_at))


def render(results: Results, fmt: str, *, generated_at) -> bytes:
    """The results' bytes in this format, in Vietnamese (the official document's language)."""
    with force_locale("vi"):
        if fmt == "pdf":
            return to_pdf(results, generated_at)
        return {"xlsx": to_xlsx, "csv": to_csv, "json": to_json}[fmt](results)
