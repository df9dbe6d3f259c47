"""A period's sample: the frame it is drawn from, the draw stored with its cases: the only module that writes
survey_samples.

The frame of a period is every dossier returned in [from, to] that still has a phone number (not erased). It is
read as counts (per returned day, unit, level and lateness, from the dossiers_frame index) and a dossier's id is
read only when it is drawn (FramePart), so that a month of a million dossiers is drawn from in a fraction of a
second. The rules about the citizen are checked on the dossiers drawn, never over the whole frame: not called
within SURVEY_NO_REPEAT_DAYS nor still waiting in an open case of an earlier sample, one case per phone number in
a sample (one citizen, one call), never a number on the do-not-call list (checked by its keyed hash). A dossier
refused by any of them is replaced by the next one drawn from its part, whose weight still counts all its
dossiers. Each part is in (returned day, dossier id) order and the frame is drawn with random.Random(seed): the
same seed on the same data draws the same sample. The seed, the method, the margin, the cap applied and every
stratum's figures are stored with the sample; its cases are inserted by cases.insert_cases in the same
transaction.
"""
from __future__ import annotations

import bisect
import json
import math
import secrets
from collections.abc import Sequence
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


# A dossier of the frame: not erased, with a number. The terms of the partial index dossiers_frame (monitor migration
# 14), word for word, so that SQLite may use it.
IN_FRAME = "erased_at IS NULL AND phone IS NOT NULL AND phone != ''"
_DAYS = ("SELECT unit_id, level, late, returned_on, count(*) FROM dossiers INDEXED BY dossiers_frame "
         f"WHERE returned_on BETWEEN ? AND ? AND {IN_FRAME} GROUP BY returned_on, unit_id, level, late")
_PART_DAY = (f"FROM dossiers INDEXED BY dossiers_frame WHERE returned_on = ? AND unit_id = ? AND level = ? "
             f"AND late = ? AND {IN_FRAME}")
_AT = f"SELECT id, phone {_PART_DAY} ORDER BY id LIMIT 1 OFFSET ?"  # the phone: one seek, for this row only
_DAY = f"SELECT id {_PART_DAY} ORDER BY id"


class FramePart(Sequence):
    """The dossiers of one part of the frame (a unit at a level, late or on time) in (returned day, id) order,
    known by their count per day: an id is read only when the draw asks for its position, by a seek in the
    dossiers_frame index to its day and a walk of a few dozen entries, so drawing 4,000 cases reads 4,000 ids, not
    the million of the month. A day drawn from a second time has its ids read once and kept (a large sample).
    The number of a dossier read alone is put in `phones` for the checks that follow its draw."""

    def __init__(self, conn, key: tuple[int, str, int], phones: dict[int, str]):
        self._conn, self._key, self._phones = conn, key, phones
        self._days: list[str] = []
        self._starts: list[int] = [0]           # position of each day's first dossier, then the part's total
        self._read: dict[str, list[int] | None] = {}   # day → its ids (None: drawn from once, not read whole)

    def add_day(self, day: str, count: int) -> None:
        """The part's next day (days come in order) and how many of its dossiers were returned that day."""
        self._days.append(day)
        self._starts.append(self._starts[-1] + count)

    def __len__(self) -> int:
        return self._starts[-1]

    def __getitem__(self, index: int) -> int:
        if not 0 <= index < len(self):
            raise IndexError(index)
        at = bisect.bisect_right(self._starts, index) - 1
        day, offset = self._days[at], index - self._starts[at]
        ids = self._read.get(day, False)
        if ids is False:
            self._read[day] = None
            dossier_id, self._phones[dossier_id] = self._conn.execute(_AT, [day, *self._key, offset]).fetchone()
            return dossier_id
        if ids is None:
            ids = self._read[day] = [i for (i,) in self._conn.execute(_DAY, [day, *self._key])]
        return ids[offset]


def frame(db, options: Options, phones: dict[int, str] | None = None) -> sampling.Groups:
    """The period's sample frame as strata of FrameParts: only the parts' counts per returned day are read, in one
    pass over the dossiers_frame index (it holds the day, unit, level and lateness of every dossier that can be
    called: no row of the table is read). `phones` receives numbers read with the drawn dossiers."""
    phones = {} if phones is None else phones
    parts: dict[tuple[int, str, int], FramePart] = {}
    for unit_id, level, late, day, count in db.conn.execute(
            _DAYS, [options.period_from.isoformat(), options.period_to.isoformat()]):
        key = (unit_id, level, late)
        part = parts.get(key)
        if part is None:
            part = parts[key] = FramePart(db.conn, key, phones)
        part.add_day(day, count)
    groups: sampling.Groups = {}
    for (unit_id, level, late), part in parts.items():
        groups.setdefault((unit_id, level), {"late": [], "on_time": []})["late" if late else "on_time"] = part
    return groups


# Whether a drawn dossier's number was called since ? or waits in an open case (of any dossier with that number):
# through the phone index and the cases of those few dossiers only.
_RECENT = (
    "SELECT EXISTS (SELECT 1 FROM dossiers o JOIN survey_cases c ON c.dossier_id = o.id "
    "  WHERE o.phone = ? AND (c.state = 'open' OR EXISTS ("
    "    SELECT 1 FROM survey_contacts k WHERE k.case_id = c.id AND k.at >= ?)))")
# Every such number: called since ?, or waiting in an open case.
_RECENT_NUMBERS = (
    "SELECT d.phone FROM survey_contacts k JOIN survey_cases c ON c.id = k.case_id "
    "JOIN dossiers d ON d.id = c.dossier_id WHERE k.at >= ? AND d.phone IS NOT NULL "
    "UNION SELECT d.phone FROM survey_cases c JOIN dossiers d ON d.id = c.dossier_id "
    "WHERE c.state = 'open' AND d.phone IS NOT NULL")


class RecentNumbers:
    """Whether a number was called since a time or waits in an open case: asked of the database for each dossier
    drawn, then — past LOOKUPS, a sample larger than any call budget — from every such number, read once (a lookup
    costs about what reading a few of them does). Either way the same answer."""
    LOOKUPS = 10_000

    def __init__(self, conn, since: str):
        self._conn, self._since, self._asked, self._numbers = conn, since, 0, None

    def __call__(self, phone: str) -> bool:
        if self._numbers is None and self._asked < self.LOOKUPS:
            self._asked += 1
            return bool(self._conn.execute(_RECENT, [phone, self._since]).fetchone()[0])
        if self._numbers is None:
            self._numbers = {number for (number,) in self._conn.execute(_RECENT_NUMBERS, [self._since])}
        return phone in self._numbers


def draw_sample(db, options: Options, *, now: datetime, settings, user_id: int | None = None,
                dry_run: bool = False) -> dict:
    """Draw the period's sample and (unless dry_run) store it with its cases, all in one transaction.

    Returns what was drawn: sample_id (None in a dry run), the options, frame size, size, the cap applied,
    exclusions and the strata. SampleError when no dossier of the period can be called.
    """
    if dry_run:
        return _draw(db, options, now=now, settings=settings, user_id=user_id, store=False)
    with write_transaction(db):  # the frame is read under the write lock: two draws never pick one citizen
        return _draw(db, options, now=now, settings=settings, user_id=user_id, store=True)


def _draw(db, options: Options, *, now, settings, user_id, store: bool) -> dict:
    phones: dict[int, str] = {}
    groups = frame(db, options, phones)
    frame_size = sum(len(g["late"]) + len(g["on_time"]) for g in groups.values())
    excluded = {"recently_called": 0, "do_not_call": 0, "same_phone": 0}
    blocked, drawn_phones = privacy.do_not_call_keys(db), set()
    recent = RecentNumbers(db.conn, iso(now - timedelta(days=settings.survey_no_repeat_days)))

    def accept(dossier_id: int) -> bool:
        """A drawn dossier is kept unless its number was called recently or waits in an open case, was drawn
        already, or asked not to be called."""
        phone = phones.pop(dossier_id, None) or db.conn.execute(
            "SELECT phone FROM dossiers WHERE id = ?", [dossier_id]).fetchone()[0]
        if recent(phone):
            excluded["recently_called"] += 1
            return False
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
    if not drawn:
        raise SampleError(gettext("Không có hồ sơ nào trả kết quả từ %(start)s đến %(end)s có thể gọi (có số điện "
                                  "thoại, chưa gọi gần đây, không từ chối nhận cuộc gọi).",
                                  start=options.period_from.strftime("%d/%m/%Y"),
                                  end=options.period_to.strftime("%d/%m/%Y")), field="from")
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
