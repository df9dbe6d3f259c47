"""The surveys' results for a period: per unit, per level (province / locality) and for the province.

Which cases a period holds: those whose **dossier was returned in the period** (dossiers.returned_on). Samples
are drawn from the dossiers returned in a period (survey_samples.period_from/to), so a period's results describe
the service given in it, whatever day the citizen was reached; a case still being called counts with its
disposition so far (an interim figure, as AAPOR allows) and a case never called yet is of unknown eligibility (UH).

Figures of a set of cases (Figures):
- AAPOR rates RR1–RR6, COOP1, REF1, CON1 from the disposition groups (monitor/surveys/rates.py).
- Satisfaction per SIPAS element: the share of ratings 4–5 ("hài lòng", "rất hài lòng"), the share 1–2
  (dissatisfied), the mean rating; overall: the same on each respondent's mean over the elements they rated.
  Respondents are the complete and partial interviews.
- Reported problems: the share answering "yes" to questionnaire.PROBLEM_KEY among those who answered it.
Every share and mean is weighted by the cases' weights (dossiers each case stands for: late dossiers may be
over-sampled). The 95 % interval is Wilson's (monitor/reports/intervals.py) on Kish's effective sample size
n_eff = (Σw)² / Σw²: the weighted share with the precision of n_eff unweighted answers, so unequal weights
widen it; with equal weights it is the plain Wilson interval.

Answers are anonymous here: nothing is read from a dossier but its unit, level and return date, and comments
are given with their unit only, phone-like numbers and dossier codes in them masked (anonymise()).
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l

from monitor.reports.intervals import wilson
from monitor.surveys import questionnaire, rates
from monitor.surveys.dispositions import DISPOSITIONS, GROUPS

ELEMENTS = {
    1: _l("Tiếp cận dịch vụ"),
    2: _l("Thủ tục hành chính"),
    3: _l("Công chức giải quyết hồ sơ"),
    4: _l("Kết quả giải quyết"),
    5: _l("Tiếp nhận, xử lý góp ý, phản ánh"),
}
LEVELS = {"province": _l("Cấp tỉnh"), "locality": _l("Cấp huyện, xã")}
TREND_MONTHS = 6
MASK = "[…]"
# A dossier code ("000.00.12.H19-241101-0001") or a run of 8+ digits (a phone number, however written).
_CODE = re.compile(r"\S*\d{6}-\d{3,}\S*")
_DIGITS = re.compile(r"\+?\d(?:[\s.\-()]*\d){7,}")


def anonymise(text: str) -> str:
    """A comment as results show it: dossier codes and phone-like numbers masked."""
    return _DIGITS.sub(MASK, _CODE.sub(MASK, text or "")).strip()


def share(pairs: list[tuple[float, bool]]) -> dict:
    """The weighted share of True among (weight, value) pairs, with n (answers), yes (answers True, unweighted),
    n_eff and the 95 % interval."""
    total = sum(w for w, _ in pairs)
    if not pairs or total <= 0:
        return {"n": 0, "yes": 0, "share": None, "low": None, "high": None, "n_eff": 0.0}
    n_eff = total * total / sum(w * w for w, _ in pairs)
    p = sum(w for w, yes in pairs if yes) / total
    low, high = wilson(p * n_eff, n_eff)
    return {"n": len(pairs), "yes": sum(1 for _, yes in pairs if yes), "share": p, "low": low, "high": high,
            "n_eff": n_eff}


def _mean(pairs: list[tuple[float, float]]) -> float | None:
    total = sum(w for w, _ in pairs)
    return sum(w * v for w, v in pairs) / total if total > 0 else None


def _rating_figures(pairs: list[tuple[float, float]]) -> dict:
    """Satisfied (≥ 4), dissatisfied (≤ 2) and mean of weighted ratings (or respondents' mean ratings)."""
    satisfied = share([(w, v >= 4) for w, v in pairs])
    return {**satisfied, "dissatisfied": share([(w, v <= 2) for w, v in pairs])["share"], "mean": _mean(pairs)}


@dataclass
class Figures:
    """What a set of cases says: counts, rates, satisfaction, problems."""

    cases: int = 0
    completes: int = 0
    respondents: int = 0
    counts: dict = field(default_factory=dict)      # group → weighted count
    raw_counts: dict = field(default_factory=dict)  # group → cases
    rates: dict = field(default_factory=dict)
    elements: dict = field(default_factory=dict)    # element 1..5 → _rating_figures
    overall: dict = field(default_factory=dict)
    problems: dict = field(default_factory=dict)
    data_findings: int = 0  # wrong or disconnected numbers in the export


@dataclass
class UnitResult:
    unit: dict           # id, code, name
    level: str
    figures: Figures
    ranked: bool = False  # enough completes to be ranked


@dataclass
class Results:
    start: date
    end: date
    min_completes: int
    province: Figures
    levels: dict          # level → Figures
    units: list           # UnitResult, the league's order: ranked worst first, then those without enough data
    comments: list        # {"unit": name, "level": level, "text": anonymised}
    trend: list = field(default_factory=list)  # {"month": "2026-11", "label": "11/2026", "satisfied", "RR1", ...}

    @property
    def ranked(self) -> list:
        return [u for u in self.units if u.ranked]


def figures_of(cases: list[dict], answers: dict[int, list[dict]], elements_of) -> Figures:
    """Figures of cases (dicts: id, weight, disposition, questionnaire_id); answers: case id → its answers;
    elements_of(questionnaire_id) → {question key: SIPAS element} of the version the case was asked."""
    counts, raw = defaultdict(float), defaultdict(int)
    per_element, overall, problems = defaultdict(list), [], []
    completes = respondents = findings = 0
    for case in cases:
        disposition = DISPOSITIONS.get(case["disposition"] or "")
        group = disposition.group if disposition else "UH"  # never called yet: eligibility unknown
        weight = case["weight"]
        counts[group] += weight
        raw[group] += 1
        findings += bool(disposition and disposition.data_finding)
        completes += group == "I"
        if group not in ("I", "P"):
            continue
        respondents += 1
        keys = elements_of(case["questionnaire_id"])
        ratings = []
        for answer in answers.get(case["id"], ()):
            element = keys.get(answer["question_key"])
            if element and answer["rating"] is not None:
                per_element[element].append((weight, answer["rating"]))
                ratings.append(answer["rating"])
            if answer["question_key"] == questionnaire.PROBLEM_KEY and answer["yes"] is not None:
                problems.append((weight, bool(answer["yes"])))
        if ratings:
            overall.append((weight, sum(ratings) / len(ratings)))
    return Figures(
        cases=len(cases), completes=completes, respondents=respondents,
        counts={g: counts[g] for g in GROUPS}, raw_counts={g: raw[g] for g in GROUPS},
        rates=rates.rates(counts),
        elements={e: _rating_figures(per_element[e]) for e in ELEMENTS},
        overall=_rating_figures(overall), problems=share(problems), data_findings=findings,
    )


def _elements_reader(db):
    """questionnaire id → {key: element} for the rating questions of that version (read once)."""
    known = {v["id"]: v for v in questionnaire.versions(db)}
    cache: dict = {}

    def elements_of(questionnaire_id):
        if questionnaire_id not in cache:
            version = known.get(questionnaire_id) or questionnaire.default()
            cache[questionnaire_id] = {q["key"]: int(q["element"]) for q in version["questions"]
                                       if q.get("kind") == "rating" and str(q.get("element", "")).isdigit()}
        return cache[questionnaire_id]

    return elements_of


def _read(db, start: date, end: date) -> tuple[list[dict], dict[int, list[dict]]]:
    """The period's cases (with their dossier's unit and level, nothing else of it) and their answers."""
    bounds = [start.isoformat(), end.isoformat()]
    cases = db.execute_returning_dicts(
        "SELECT c.id, c.unit_id, c.weight, c.disposition, c.questionnaire_id, d.level FROM survey_cases c "
        "JOIN dossiers d ON d.id = c.dossier_id WHERE d.returned_on BETWEEN ? AND ? ORDER BY c.id", bounds)
    answers: dict[int, list[dict]] = defaultdict(list)
    for row in db.execute_returning_dicts(
            "SELECT a.case_id, a.question_key, a.rating, a.yes, a.text FROM survey_answers a "
            "JOIN survey_cases c ON c.id = a.case_id JOIN dossiers d ON d.id = c.dossier_id "
            "WHERE d.returned_on BETWEEN ? AND ? ORDER BY a.case_id, a.id", bounds):
        answers[row["case_id"]].append(row)
    return cases, answers


def _units(db, ids) -> dict[int, dict]:
    ids = sorted(ids)
    if not ids:
        return {}
    rows = db.execute_returning_dicts(
        f"SELECT id, code, name FROM units WHERE id IN ({', '.join('?' * len(ids))})", ids)
    return {r["id"]: r for r in rows}


def _league_key(result: UnitResult):
    satisfied = result.figures.overall["share"]
    return (0 if result.ranked else 1, satisfied if satisfied is not None else 2.0, result.unit["name"])


def build(db, start: date, end: date, *, min_completes: int, trend_months: int = TREND_MONTHS) -> Results:
    """Every figure of the period [start, end] (local dates, inclusive), the league and the trend."""
    cases, answers = _read(db, start, end)
    elements_of = _elements_reader(db)
    by_unit, by_level = defaultdict(list), defaultdict(list)
    for case in cases:
        by_unit[case["unit_id"]].append(case)
        by_level[case["level"]].append(case)
    names = _units(db, by_unit)
    units = []
    for unit_id, unit_cases in by_unit.items():
        figures = figures_of(unit_cases, answers, elements_of)
        unit = names.get(unit_id, {"id": unit_id, "code": "", "name": str(unit_id)})
        units.append(UnitResult(unit=unit, level=unit_cases[0]["level"], figures=figures,
                                ranked=figures.completes >= max(min_completes, 1)))
    units.sort(key=_league_key)
    level_of = {c["id"]: (c["unit_id"], c["level"]) for c in cases}
    comments = [
        {"unit": names.get(level_of[case_id][0], {}).get("name", ""), "level": level_of[case_id][1],
         "text": anonymise(a["text"])}
        for case_id, rows in sorted(answers.items()) for a in rows
        if a["text"] and a["text"].strip() and case_id in level_of
    ]
    return Results(
        start=start, end=end, min_completes=min_completes,
        province=figures_of(cases, answers, elements_of),
        levels={level: figures_of(by_level.get(level, []), answers, elements_of) for level in LEVELS},
        units=units, comments=[c for c in comments if c["text"]],
        trend=trend(db, end, trend_months, elements_of) if trend_months else [],
    )


def _month_bounds(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return first, date.fromordinal(following.toordinal() - 1)


def trend(db, end: date, months: int, elements_of=None) -> list[dict]:
    """The province's overall satisfaction and RR1 over the `months` calendar months ending with end's, oldest first."""
    elements_of = elements_of or _elements_reader(db)
    out = []
    for back in range(months - 1, -1, -1):
        index = end.year * 12 + end.month - 1 - back
        start, stop = _month_bounds(index // 12, index % 12 + 1)
        cases, answers = _read(db, start, stop)
        figures = figures_of(cases, answers, elements_of)
        out.append({"month": f"{start:%Y-%m}", "label": f"{start:%m/%Y}", "cases": figures.cases,
                    "completes": figures.completes, "satisfied": figures.overall["share"],
                    "RR1": figures.rates["RR1"]})
    return out
