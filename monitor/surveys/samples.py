"""A period's sample: the frame it is drawn from, the draw stored with its cases: the only module that writes
survey_samples.

The frame of a period is every dossier returned in [from, to] that still has a phone number (not erased), whose
citizen was not called within SURVEY_NO_REPEAT_DAYS — nor is still waiting to be called in an open case of an
earlier sample. Two rules are checked as dossiers are drawn rather than over the whole frame (reading and
hashing every number of a million-dossier month would take seconds): one case per phone number in a sample (one
citizen, one call), and never a number on the do-not-call list (checked by its keyed hash); a dossier refused
by either is replaced by the next one drawn from its part, whose weight still counts all its dossiers. The frame
is put in dossier-id order and drawn with random.Random(seed): the same seed on the same data draws the same
sample. The seed, the method, the margin, the cap applied and every stratum's figures
are stored with the sample; its cases are inserted by cases.insert_cases in the same transaction.
"""
from __future__ import annotations

import json
import math
import secrets
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext

from monitor.surveys import cases, privacy, questionnaire, sampling
from registry.clock import iso
from registry.db import write_transaction
from registry.errors import UserError
from registry.logbook.paper.book import parse_day

CALL_DAYS = 20          # days the calls of a sample may take when not said: a month's working days
MAX_OVERSAMPLE = 10.0
SEED_BITS = 31          # short enough to type back
LEVELS = ("province", "locality")


class SampleError(UserError):
    """A sample that cannot be drawn as asked, with a Vietnamese message."""


@dataclass(frozen=True)
class Options:
    """How a sample is drawn, checked (parse_options)."""
    period_from: date
    period_to: date
    seed: int
    method: str = "yamane"
    margin: float = 0.05
    daily_budget: int | None = None
    call_days: int = CALL_DAYS
    oversample_late: float = 1.0

    @property
    def cap(self) -> int | None:
        """The most cases the budget allows: calls a day × the days the calls may take (a case takes a call
        at least)."""
        return None if self.daily_budget is None else self.daily_budget * self.call_days


def _number(text, field: str, kind, low, high, message: str):
    try:
        value = kind(str(text).strip())
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(text)
    except ValueError:
        raise SampleError(message, field=field) from None
    if not low <= value <= high:
        raise SampleError(message, field=field)
    return value


def parse_options(period_from: str, period_to: str, *, seed=None, method="yamane", margin="0.05", budget=None,
                  days=None, oversample_late="1") -> Options:
    """The options as typed (command line, form), checked; SampleError naming the first wrong one."""
    first, last = parse_day(period_from, "from"), parse_day(period_to, "to")
    if last < first:
        raise SampleError(gettext("Ngày kết thúc (%(end)s) trước ngày bắt đầu (%(start)s).",
                                  start=first.strftime("%d/%m/%Y"), end=last.strftime("%d/%m/%Y")), field="to")
    method = str(method or "yamane").strip().lower()
    if method not in sampling.METHODS:
        raise SampleError(gettext("Phương pháp tính cỡ mẫu phải là yamane hoặc cochran."), field="method")
    return Options(
        period_from=first, period_to=last, method=method,
        seed=(secrets.randbits(SEED_BITS) if seed in (None, "") else _number(
            seed, "seed", int, 0, 2**63 - 1, gettext("Hạt giống (--seed) phải là số nguyên không âm."))),
        margin=_number(margin, "margin", float, 0.005, 0.5,
                       gettext("Sai số (--margin) phải là số từ 0,005 đến 0,5, ví dụ 0.05 cho sai số 5 phần trăm.")),
        daily_budget=None if budget in (None, "") else _number(
            budget, "budget", int, 1, 1_000_000, gettext("Số cuộc gọi mỗi ngày (--budget) phải là số nguyên dương.")),
        call_days=CALL_DAYS if days in (None, "") else _number(
            days, "days", int, 1, 366, gettext("Số ngày gọi (--days) phải là số nguyên từ 1 đến 366.")),
        oversample_late=_number(oversample_late or "1", "oversample_late", float, 1.0, MAX_OVERSAMPLE,
                                gettext("Hệ số chọn thêm hồ sơ trễ hạn (--oversample-late) phải từ 1 đến 10.")),
    )


def frame(db, options: Options, *, now: datetime, settings) -> tuple[sampling.Groups, int]:
    """The period's sample frame as strata (ids in dossier-id order), and how many dossiers of the period were left
    out because their number was called recently (the other exclusions are checked as dossiers are drawn: _draw).

    Read as plain integers, one row per dossier: at a million dossiers a month, making a Python string of every
    number would cost most of the draw's second."""
    period = [options.period_from.isoformat(), options.period_to.isoformat()]
    since = iso(now - timedelta(days=settings.survey_no_repeat_days))
    # The few numbers called recently (or waiting in an open case), then their dossiers of the period through the
    # phone index (CROSS JOIN keeps that order), rather than a lookup for each dossier of the period.
    busy = {dossier_id for (dossier_id,) in db.execute(
        "SELECT d.id FROM ("
        "  SELECT d.phone FROM survey_contacts k JOIN survey_cases c ON c.id = k.case_id "
        "  JOIN dossiers d ON d.id = c.dossier_id WHERE k.at >= ? AND d.phone IS NOT NULL "
        "  UNION SELECT d.phone FROM survey_cases c JOIN dossiers d ON d.id = c.dossier_id "
        "  WHERE c.state = 'open' AND d.phone IS NOT NULL"
        ") AS b CROSS JOIN dossiers d ON d.phone = b.phone "
        "WHERE d.erased_at IS NULL AND d.returned_on BETWEEN ? AND ?", [since, *period])}
    # A period's dossiers are imported together, so they lie in one stretch of ids: that stretch is read in id
    # order (NOT INDEXED still seeks by id), which is sequential where a lookup of each dossier through the
    # returned_on index jumps about the table — several times slower at a million dossiers.
    first, last = db.execute("SELECT min(id), max(id) FROM dossiers WHERE erased_at IS NULL "
                             "AND returned_on BETWEEN ? AND ?", period).fetchone()
    rows = db.execute(
        "SELECT id, unit_id, level = 'locality', late FROM dossiers NOT INDEXED WHERE id BETWEEN ? AND ? "
        "AND erased_at IS NULL AND returned_on BETWEEN ? AND ? AND phone IS NOT NULL AND phone != ''",
        [first or 0, last or 0, *period]).fetchall()
    rows.sort()  # by dossier id (as read already: this only makes sure the draw never depends on a plan)
    parts: dict[tuple[int, int, int], list[int]] = {}
    for dossier_id, unit_id, locality, late in rows:  # the one loop over every dossier: kept to the bare minimum
        if dossier_id not in busy:
            key = (unit_id, locality, late)
            members = parts.get(key)
            if members is None:
                members = parts[key] = []
            members.append(dossier_id)
    groups: sampling.Groups = {}
    for (unit_id, locality, late), members in parts.items():
        groups.setdefault((unit_id, LEVELS[locality]), {"late": [], "on_time": []})[
            "late" if late else "on_time"] = members
    return groups, len(busy)


def draw_sample(db, options: Options, *, now: datetime, settings, user_id: int | None = None,
                dry_run: bool = False) -> dict:
    """Draw the period's sample and (unless dry_run) store it with its cases, all in one transaction.

    Returns what was drawn: sample_id (None in a dry run), the options, frame size, size, the cap applied,
    exclusions and the strata. SampleError when the frame is empty.
    """
    if dry_run:
        return _draw(db, options, now=now, settings=settings, user_id=user_id, store=False)
    with write_transaction(db):  # the frame is read under the write lock: two draws never pick one citizen
        return _draw(db, options, now=now, settings=settings, user_id=user_id, store=True)


def _draw(db, options: Options, *, now, settings, user_id, store: bool) -> dict:
    groups, recently_called = frame(db, options, now=now, settings=settings)
    frame_size = sum(len(g["late"]) + len(g["on_time"]) for g in groups.values())
    if not frame_size:
        raise SampleError(gettext("Không có hồ sơ nào trả kết quả từ %(start)s đến %(end)s có thể gọi (có số điện "
                                  "thoại, chưa gọi gần đây, không từ chối nhận cuộc gọi).",
                                  start=options.period_from.strftime("%d/%m/%Y"),
                                  end=options.period_to.strftime("%d/%m/%Y")), field="from")
    excluded = {"recently_called": recently_called, "do_not_call": 0, "same_phone": 0}
    blocked, drawn_phones = privacy.do_not_call_keys(db), set()

    def accept(dossier_id: int) -> bool:
        """A drawn dossier is kept unless its number was drawn already or asked not to be called."""
        phone = db.conn.execute("SELECT phone FROM dossiers WHERE id = ?", [dossier_id]).fetchone()[0]
        if phone in drawn_phones:
            excluded["same_phone"] += 1
            return False
        if blocked and privacy.phone_key(phone, settings.secret_key) in blocked:
            excluded["do_not_call"] += 1
            return False
        drawn_phones.add(phone)
        return True

    drawn, strata = sampling.draw(groups, seed=options.seed, margin=options.margin, method=options.method,
                                  cap=options.cap, oversample=options.oversample_late, accept=accept)
    wanted = sum(s["wanted"] for s in strata)
    result = {
        "sample_id": None, **{k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(options).items()},
        "cap": options.cap, "capped": options.cap is not None and wanted > options.cap,
        "frame_size": frame_size, "wanted": wanted, "size": len(drawn), "excluded": excluded, "strata": strata,
    }
    if store:
        params = {key: result[key] for key in ("call_days", "cap", "capped", "wanted", "excluded", "strata")}
        cursor = db.execute(
            "INSERT INTO survey_samples (period_from, period_to, seed, method, margin, daily_budget, oversample_late, "
            "frame_size, size, params, created_at, user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [result["period_from"], result["period_to"], options.seed, options.method, options.margin,
             options.daily_budget, options.oversample_late, frame_size, len(drawn),
             json.dumps(params, ensure_ascii=False), iso(now), user_id])
        result["sample_id"] = cursor.lastrowid
        questionnaire_id = questionnaire.active(db)["id"]
        cases.insert_cases(db, [{**case, "sample_id": result["sample_id"], "questionnaire_id": questionnaire_id}
                                for case in drawn])
    result["cases"] = drawn
    return result


def get_sample(db, sample_id: int) -> dict | None:
    """A stored sample with its recorded parameters (params parsed)."""
    cursor = db.execute("SELECT * FROM survey_samples WHERE id = ?", [sample_id])
    row = cursor.fetchone()
    if row is None:
        return None
    sample = dict(zip([c[0] for c in cursor.description], row))
    sample["params"] = json.loads(sample["params"])
    return sample


def sample_dossiers(db, sample_id: int) -> list[int]:
    """The dossiers a stored sample drew, by id."""
    return [d for (d,) in db.execute("SELECT dossier_id FROM survey_cases WHERE sample_id = ? ORDER BY dossier_id",
                                     [sample_id])]


def summary_lines(db, result: dict) -> list[str]:
    """What a draw did, in Vietnamese lines for the command line: the sample, the cap, each stratum."""
    margin = f"{result['margin']:.1%}"
    drawn = gettext("chọn %(size)s trong %(frame)s hồ sơ (hạt giống %(seed)s, %(method)s, sai số ±%(margin)s).",
                    size=result["size"], frame=result["frame_size"], seed=result["seed"], method=result["method"],
                    margin=margin)
    lines = [gettext("Mẫu số %(id)s: %(drawn)s", id=result["sample_id"], drawn=drawn) if result["sample_id"]
             else gettext("Chạy thử, không ghi gì: %(drawn)s", drawn=drawn)]
    if result["capped"]:
        lines.append(gettext("Cỡ mẫu theo công thức %(wanted)s, giới hạn %(cap)s (%(budget)s cuộc/ngày × %(days)s ngày).",
                             wanted=result["wanted"], cap=result["cap"], budget=result["daily_budget"],
                             days=result["call_days"]))
    excluded = result["excluded"]
    lines.append(gettext("Loại khỏi khung mẫu: %(recent)s đã gọi gần đây, %(dnc)s từ chối nhận cuộc gọi, %(same)s trùng số.",
                         recent=excluded["recently_called"], dnc=excluded["do_not_call"], same=excluded["same_phone"]))
    ids = sorted({s["unit_id"] for s in result["strata"]})
    names = dict(db.execute(f"SELECT id, code || ' ' || name FROM units WHERE id IN ({','.join('?' * len(ids))})",
                            ids).fetchall())
    for s in result["strata"]:
        late = s["parts"]["late"]
        lines.append(f"  {names.get(s['unit_id'], s['unit_id'])} [{s['level']}]: {s['size']}/{s['frame']}"
                     + (f" ({late['cases']}/{late['dossiers']} " + gettext("trễ hạn") + ")" if late["dossiers"] else ""))
    return lines
