"""The official report to the chairman: its data (build_report) and its renderings (PDF, XLSX, CSV, JSON).

Layout follows Nghị định 30/2020/NĐ-CP for administrative documents: the issuing body and the national
motto side by side, number and place/date, the title, numbered sections, "Nơi nhận" and the signature.
Rendering needs no Flask request: the CLI, the web UI and tests call the same functions.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from functools import cached_property
from typing import Callable, Mapping

from jinja2 import Environment, FileSystemLoader, select_autoescape

from registry.clock import iso, parse_iso

from monitor.scheduling.bands import BANDS, LABELS as BAND_LABELS, LOCAL
from monitor.attempts.outcomes import FAILURES, LABELS_VI as OUTCOME_LABELS
from monitor.reports import charts, metrics
from monitor.reports.periods import Period

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "reports"
FORMATS = ("pdf", "xlsx", "csv", "json")
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}
AUTHORITY = "ỦY BAN NHÂN DÂN TỈNH ĐỒNG THÁP"
OFFICE = "VĂN PHÒNG"
PLACE = "Đồng Tháp"
NUMBER = "Số:\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0/BC-VPUBND"  # the number is written in by the clerk
LETTER = "Công văn ngày 04/9/2021 của Chủ tịch Ủy ban nhân dân Tỉnh về việc chấn chỉnh, củng cố hoạt động các đường dây nóng trên địa bàn tỉnh Đồng Tháp"
RECIPIENTS = (
    "Chủ tịch, các Phó Chủ tịch UBND Tỉnh (b/c);",
    "Lãnh đạo Văn phòng UBND Tỉnh;",
    "Các cơ quan, đơn vị, địa phương (thực hiện);",
    "Lưu: VT, KSTTHC.",
)
STATUS_LABELS = {"pass": "Đạt", "fail": "Chưa đạt", "untested": "Chưa kiểm tra"}
LIST_LIMIT = 30  # names listed in a recommendation before "và N đơn vị khác"
EVIDENCE_LIMIT = 4  # confirmed failures cited per unit in the PDF (all of them are in the XLSX and JSON)


class ReportError(ValueError):
    """A report that cannot be produced as asked; .message in Vietnamese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Report:
    """Everything the official report shows, computed once and rendered in every format."""

    period: Period
    previous: Period
    generated_at: datetime
    group: str | None
    metrics: metrics.PeriodMetrics
    league: list
    failing: list
    trend: list  # metrics.Summary per period, oldest first
    previous_summary: metrics.Summary
    recommendations: list
    settings: dict = field(default_factory=dict)
    load_evidence: Callable[[], dict] = dict

    @cached_property
    def evidence(self) -> dict:
        """Unit id → its confirmed failures (attempt rows): read when a format cites them, not for the page."""
        return self.load_evidence()

    @property
    def total(self) -> metrics.Tally:
        return self.metrics.total

    @property
    def title(self) -> str:
        scope = ""
        if self.group:
            names = {g.code: g.name for g in self.metrics.groups}
            scope = f" nhóm {self.group}" + (f" ({names[self.group]})" if self.group in names else "")
        return f"Kết quả kiểm tra, giám sát hoạt động đường dây nóng{scope} {self.period.label}"

    @property
    def file_stem(self) -> str:
        return f"bao-cao-duong-day-nong-{self.period.key}" + (f"-nhom-{self.group}" if self.group else "")


def _names(results, limit: int = LIST_LIMIT) -> str:
    names = [r.unit["name"] for r in results]
    if len(names) > limit:
        return "; ".join(names[:limit]) + f" và {len(names) - limit} đơn vị khác"
    return "; ".join(names)


def recommendations(m: metrics.PeriodMetrics, failing: list) -> list[str]:
    """Section IV, generated from the data: who is to be reminded, re-registered, corrected."""
    no_number, flagged, redirected, machine, office = [], [], [], [], []
    for u in m.units:  # one pass: ten thousand units in a large province
        compliance = u.compliance
        if not compliance["has_number"]:
            no_number.append(u)
        elif u.office_hours:
            office.append(u)
        if compliance["flagged"]:
            flagged.append(u)
        if u.tally.outcomes.get("redirected"):
            redirected.append(u)
        if u.tally.outcomes.get("machine"):
            machine.append(u)
    out = []
    if failing:
        out.append(
            f"Đề nghị Chủ tịch Ủy ban nhân dân Tỉnh nhắc nhở Thủ trưởng {len(failing)} cơ quan, đơn vị, địa phương "
            f"chưa đạt yêu cầu tại Mục III thực hiện nghiêm {LETTER}; bố trí người trực đường dây nóng "
            "24/24 giờ và báo cáo giải trình, kết quả khắc phục trong thời hạn 05 ngày làm việc: " + _names(failing) + "."
        )
    if no_number:
        out.append(
            f"Đề nghị {len(no_number)} cơ quan, đơn vị, địa phương chưa đăng ký số đường dây nóng khẩn trương "
            "đăng ký một số duy nhất trên hệ thống: " + _names(no_number) + "."
        )
    if flagged:
        out.append(
            f"Đề nghị {len(flagged)} đơn vị có số đường dây nóng đang bị đánh dấu không liên lạc được kiểm tra lại "
            "thuê bao và đăng ký lại số đúng trên hệ thống: " + _names(flagged) + "."
        )
    if redirected:
        out.append(
            f"Đề nghị {len(redirected)} đơn vị có cuộc gọi bị hướng dẫn gọi sang số khác hoặc chuyển đi nơi khác "
            "chấn chỉnh ngay, tiếp nhận và xử lý phản ánh tại chính số đường dây nóng đã công bố, không để người "
            "dân phải gọi lòng vòng: " + _names(redirected) + "."
        )
    if machine:
        out.append(
            f"Đề nghị {len(machine)} đơn vị có cuộc gọi chỉ gặp máy trả lời tự động bố trí người trực tiếp nghe "
            "máy: " + _names(machine) + "."
        )
    if office:
        out.append(
            f"{len(office)} đường dây nóng chỉ trực trong giờ hành chính (kết quả ngoài giờ được thống kê riêng); "
            f"đề nghị các đơn vị này bố trí trực 24/24 giờ theo {LETTER}: " + _names(office) + "."
        )
    if not failing:
        out.append("Các cơ quan, đơn vị, địa phương tiếp tục duy trì tốt việc trực và tiếp nhận thông tin qua "
                   "đường dây nóng.")
    out.append("Văn phòng Ủy ban nhân dân Tỉnh tiếp tục kiểm tra, giám sát định kỳ và báo cáo Chủ tịch Ủy ban nhân "
               "dân Tỉnh theo quy định.")
    return out


def build_report(db, period: Period, *, group: str | None = None, now: datetime,
                 config: Mapping | None = None) -> Report:
    """Measure the period, the previous one and the trend, rank the units, pick the failures' evidence."""
    config = config or {}
    if group and not db.execute("SELECT 1 FROM groups WHERE code = ?", [group]).fetchone():
        raise ReportError(f"Không có nhóm “{group}”.")
    min_rate = float(config.get("REPORT_MIN_ANSWER_RATE") or metrics.DEFAULT_MIN_ANSWER_RATE)
    current = metrics.period_metrics(db, period, group=group, min_answer_rate=min_rate)
    previous = metrics.summary(db, period.previous(), group=group)
    metrics.attach_previous(current, previous)
    ranked = metrics.league(current)
    failing = [u for u in ranked if u.status == "fail"]
    count = int(config.get("REPORT_TREND_PERIODS") or 6)
    trend = metrics.trend(db, metrics.trend_periods(period, count), group=group,
                          known=[previous, metrics.summary_of(current)], today=now.astimezone(LOCAL).date())
    return Report(
        period=period, previous=period.previous(), generated_at=now, group=group or None, metrics=current,
        league=ranked, failing=failing, trend=trend, previous_summary=previous,
        load_evidence=lambda: metrics.confirmed_failures(db, period, [u.unit["id"] for u in failing]),
        recommendations=recommendations(current, failing),
        settings={
            "min_answer_rate": min_rate,
            "retest_delay_minutes": int(config.get("RETEST_DELAY_MINUTES") or 60),
            "signer": str(config.get("REPORT_SIGNER_NAME") or ""),
        },
    )


# ------------------------------------------------------------------------------------------------- helpers

def local_time(ts: str | None, fmt: str = "%H:%M %d/%m/%Y") -> str:
    return parse_iso(ts).astimezone(LOCAL).strftime(fmt) if ts else ""


def seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}".replace(".", ",")


def points(diff: float | None) -> str:
    """A difference of rates in percentage points with its arrow: "▲ 3,5", "▼ 10,0", "=" or "–"."""
    if diff is None:
        return "–"
    if abs(diff) < 0.0005:
        return "="
    return f"{'▲' if diff > 0 else '▼'} {abs(diff) * 100:.1f}".replace(".", ",")


def rate_change(current: metrics.Tally, previous: metrics.Tally | None) -> float | None:
    if previous is None or current.answer_rate is None or previous.answer_rate is None:
        return None
    return current.answer_rate - previous.answer_rate


def band_chart(report: Report, chart_id: str = "band-chart") -> str:
    tally = report.total
    bars = [(BAND_LABELS[b], tally.band_rate(b), f"{tally.band_answered.get(b, 0)}/{tally.band_tests.get(b, 0)} cuộc")
            for b in BANDS]
    return charts.bar_chart(chart_id, f"Tỷ lệ có người nghe máy theo khung giờ, {report.period.label}", bars,
                            target=report.settings["min_answer_rate"])


def trend_chart(report: Report, chart_id: str = "trend-chart") -> str:
    names = {g.code: g.name for g in report.metrics.groups}
    codes = sorted({code for point in report.trend for code in point.groups} | set(names))
    series = [(f"Nhóm {code}" + (f" – {names[code]}" if code in names else ""),
               [point.groups[code].answer_rate if code in point.groups else None for point in report.trend])
              for code in codes]
    if not report.group and len(codes) > 1:
        series.append(("Toàn tỉnh", [point.total.answer_rate for point in report.trend]))
    return charts.line_chart(chart_id, "Tỷ lệ có người nghe máy theo nhóm qua các kỳ",
                             [point.period.short_label for point in report.trend], series,
                             target=report.settings["min_answer_rate"])


# ------------------------------------------------------------------------------------------- league rows

LEAGUE_COLUMNS = [
    ("rank", "Hạng trong nhóm"), ("group", "Nhóm"), ("code", "Mã đơn vị"), ("name", "Tên đơn vị"),
    ("number", "Số đường dây nóng"), ("hours", "Thời gian trực"), ("tests_counted", "Cuộc gọi được tính"),
    ("answered", "Có người nghe"), ("answer_rate", "Tỷ lệ có người nghe"),
    ("previous_answer_rate", "Tỷ lệ kỳ trước"), ("change", "Thay đổi (điểm %)"),
    ("fast_rate", f"Nghe trong {metrics.FAST_SECONDS} giây"), ("median_seconds", "Trung vị giây đến khi nghe"),
    ("p90_seconds", "Phân vị 90 giây đến khi nghe"),
    ("machine", "Máy trả lời tự động"), ("no_answer", "Không nghe máy"), ("busy", "Máy bận"),
    ("unreachable", "Không liên lạc được"), ("redirected", "Chuyển sang số hoặc nơi khác"),
    ("confirmed_failures", "Lỗi đã xác nhận"), ("longest_run", "Chuỗi lỗi liên tiếp dài nhất"),
    ("out_of_hours_tests", "Cuộc gọi ngoài giờ (riêng)"), ("out_of_hours_answered", "Ngoài giờ có người nghe"),
    ("excluded", "Cuộc gọi loại trừ"), ("has_number", "Đã đăng ký số"), ("flagged", "Số bị đánh dấu không liên lạc được"),
    ("shared", "Số dùng chung"), ("number_changed", "Số cập nhật lần cuối"), ("status", "Kết quả"),
]
RATE_COLUMNS = {"answer_rate", "previous_answer_rate", "fast_rate"}


def league_rows(report: Report) -> list[dict]:
    """One plain row per unit, worst first within each group: the league table for CSV, XLSX and JSON."""
    rows = []
    for result in report.league:
        tally, compliance = result.tally, result.compliance
        previous_rate = result.previous.answer_rate if result.previous else None
        change = rate_change(tally, result.previous)
        rows.append({
            "rank": result.rank, "group": result.unit["group_code"], "code": result.code, "name": result.unit["name"],
            "number": result.unit["display"] or "", "hours": "Giờ hành chính" if result.office_hours else "24/24 giờ",
            "tests_counted": tally.counted, "answered": tally.answered, "answer_rate": tally.answer_rate,
            "previous_answer_rate": previous_rate, "change": None if change is None else round(change * 100, 1),
            "fast_rate": tally.fast_rate, "median_seconds": tally.median_seconds, "p90_seconds": tally.p90_seconds,
            **{code: tally.count(code) for code in FAILURES},
            "confirmed_failures": tally.confirmed, "longest_run": tally.longest_run,
            "out_of_hours_tests": tally.out_of_hours, "out_of_hours_answered": tally.out_of_hours_answered,
            "excluded": tally.excluded_total(),
            "has_number": compliance["has_number"], "flagged": compliance["flagged"], "shared": compliance["shared"],
            "number_changed": local_time(compliance["last_changed"], "%d/%m/%Y") if compliance["last_changed"] else "",
            "status": STATUS_LABELS[result.status],
        })
    return rows


def group_rows(report: Report) -> list[dict]:
    rows = []
    for g in report.metrics.groups:
        rows.append(_group_row(f"Nhóm {g.code}", g.name, g.tally, g.previous, g.units, g.tested, g.failing))
    m = report.metrics
    rows.append(_group_row("Tổng", "Toàn bộ", m.total, report.previous_summary.total,
                           sum(g.units for g in m.groups), sum(g.tested for g in m.groups),
                           sum(g.failing for g in m.groups)))
    return rows


def _group_row(label, name, tally, previous, units, tested, failing) -> dict:
    change = rate_change(tally, previous)
    return {
        "label": label, "name": name, "units": units, "tested": tested, "tests_counted": tally.counted,
        "answered": tally.answered, "answer_rate": tally.answer_rate,
        "previous_answer_rate": previous.answer_rate if previous else None,
        "change": change, "fast_rate": tally.fast_rate, "median_seconds": tally.median_seconds,
        "p90_seconds": tally.p90_seconds, "confirmed_failures": tally.confirmed, "failing_units": failing,
        **{code: tally.count(code) for code in FAILURES},
    }


def method(report: Report) -> dict:
    """Section I in figures: what was tested, how many calls, what was left out and why."""
    t = report.total
    office_units = [u for u in report.metrics.units if u.office_hours]
    return {
        "units": len(report.metrics.units),
        "units_by_group": {g.code: g.units for g in report.metrics.groups},
        "units_tested": sum(g.tested for g in report.metrics.groups),
        "tests_made": t.made, "tests_counted": t.counted, "manual_tests": t.manual, "retests": t.retests,
        "excluded": {reason: t.excluded.get(reason, 0) for reason in metrics.EXCLUSION_REASONS},
        "excluded_total": t.excluded_total(),
        "office_hours_hotlines": len(office_units),
        "out_of_hours_tests": t.out_of_hours, "out_of_hours_answered": t.out_of_hours_answered,
        "min_answer_rate": report.settings["min_answer_rate"],
        "retest_delay_minutes": report.settings["retest_delay_minutes"],
        "bands": {band: {"tests": t.band_tests.get(band, 0), "answered": t.band_answered.get(band, 0),
                         "rate": t.band_rate(band)} for band in BANDS},
    }


def failing_rows(report: Report) -> list[dict]:
    rows = []
    for result in report.failing:
        tests = report.evidence.get(result.unit["id"], [])
        rows.append({
            "group": result.unit["group_code"], "code": result.code, "name": result.unit["name"],
            "number": result.unit["display"] or "", "tests_counted": result.tally.counted,
            "answered": result.tally.answered, "answer_rate": result.tally.answer_rate,
            "confirmed_failures": result.tally.confirmed, "longest_run": result.tally.longest_run,
            "reasons": result.reasons,
            "evidence": [{
                "attempt": t["id"], "time": local_time(t["ended_at"] or t["planned_at"]),
                "band": BAND_LABELS.get(t["band"], t["band"]), "outcome": t["outcome"],
                "outcome_label": OUTCOME_LABELS.get(t["outcome"], t["outcome"]), "sip_code": t["sip_code"],
                "retest_attempt": t["retest_id"],
            } for t in tests],
        })
    return rows


# ----------------------------------------------------------------------------------------------- formats

def to_json(report: Report) -> bytes:
    """The same data, machine-readable (rates as fractions 0..1)."""
    data = {
        "report": {
            "title": report.title, "period": {"kind": report.period.kind, "key": report.period.key,
                                              "from": report.period.start.isoformat(), "to": report.period.end.isoformat()},
            "previous_period": {"from": report.previous.start.isoformat(), "to": report.previous.end.isoformat()},
            "group": report.group, "generated_at": iso(report.generated_at),
        },
        "method": method(report),
        "totals": report.total.as_dict(),
        "groups": [{"code": g.code, "name": g.name, "units": g.units, "units_tested": g.tested,
                    "units_failing": g.failing, **g.tally.as_dict(),
                    "previous_answer_rate": g.previous.answer_rate if g.previous else None}
                   for g in report.metrics.groups],
        "league": league_rows(report),
        "failing_units": failing_rows(report),
        "recommendations": report.recommendations,
        "trend": [{"period": p.period.key, "from": p.period.start.isoformat(), "to": p.period.end.isoformat(),
                   "groups": {code: {"tests_counted": t.counted, "answered": t.answered, "answer_rate": t.answer_rate,
                                     "confirmed_failures": t.confirmed} for code, t in sorted(p.groups.items())},
                   "answer_rate": p.total.answer_rate} for p in report.trend],
    }
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


def to_csv(report: Report) -> bytes:
    """The league table, UTF-8 with a byte-order mark so spreadsheet programs read the Vietnamese."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([label + (" (%)" if key in RATE_COLUMNS else "") for key, label in LEAGUE_COLUMNS])
    for row in league_rows(report):
        cells = []
        for key, _ in LEAGUE_COLUMNS:
            value = row[key]
            if key in RATE_COLUMNS:
                value = "" if value is None else f"{value * 100:.1f}"
            elif isinstance(value, bool):
                value = "có" if value else "không"
            cells.append("" if value is None else value)
        writer.writerow(cells)
    return "\ufeff".encode("utf-8") + out.getvalue().encode("utf-8")


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))
    env.filters.update(percent=charts.percent, seconds=seconds, points=points, local_time=local_time,
                       band=lambda b: BAND_LABELS.get(b, b), outcome=lambda o: OUTCOME_LABELS.get(o, o))
    return env


def to_html(report: Report) -> str:
    """The official document as print HTML (for WeasyPrint)."""
    local = report.generated_at.astimezone(LOCAL)
    return _environment().get_template("official.html").render(
        r=report, method=method(report), groups=group_rows(report), failing=failing_rows(report),
        band_chart=band_chart(report), trend_chart=trend_chart(report), authority=AUTHORITY, office=OFFICE,
        number=NUMBER, place_date=f"{PLACE}, ngày {local.day:02d} tháng {local.month:02d} năm {local.year}",
        recipients=RECIPIENTS, letter=LETTER, band_labels=BAND_LABELS, outcome_labels=OUTCOME_LABELS,
        failures=FAILURES, fast_seconds=metrics.FAST_SECONDS, evidence_limit=EVIDENCE_LIMIT,
    )


def to_pdf(report: Report) -> bytes:
    """A4 PDF with page numbers, in a Times-like serif, from the print HTML."""
    from weasyprint import CSS, HTML  # imported here: loading it costs a second the other formats do not need

    return HTML(string=to_html(report), base_url=str(TEMPLATES)).write_pdf(
        stylesheets=[CSS(filename=str(TEMPLATES / "official.css"))]
    )


def to_xlsx(report: Report) -> bytes:
    from monitor.reports.workbook import workbook

    return workbook(report)


RENDERERS = {"pdf": to_pdf, "xlsx": to_xlsx, "csv": to_csv, "json": to_json}


def render(report: Report, fmt: str) -> bytes:
    if fmt not in RENDERERS:
        raise ReportError(f"Định dạng “{fmt}” không hỗ trợ: chọn một trong {', '.join(FORMATS)}.")
    return RENDERERS[fmt](report)
