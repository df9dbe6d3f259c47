"""The demo's customer-care calls: a month of completed dossiers, a drawn sample, an operator, calls already made.

Called once when the demo's scheduler starts (monitor/scheduling/scheduler.py seed_demo), after the logbook:

- the one-stop system's export of last month (a CSV with the usual Vietnamese headings) is imported as an
  inspector would (monitor/surveys/dossiers.py): dossiers of several units, some returned late, some without a
  phone number (fictional numbers 0399 9xx xxx; the operators' calls are never dialled by the system);
- a sample is drawn from it with a recorded seed (monitor/surveys/samples.py), ±10 % per unit;
- the operator account of the README (dienthoaivien@demo.dongthap.gov.vn) is made;
- about half of the cases were already called over the last days (complete interviews with their answers,
  partial ones, refusals, no answer, a wrong number…), through monitor/surveys/operator.py like the operator's
  form, so that the results and the queue show at once; half of the rest wait in the operator's queue, the other
  half are automated calls the scheduler places through the simulator (monitor/surveys/calls.py), within the
  calling hours (the demo calls from 07:00 to 21:00, never on a Sunday or a holiday).

Keyed on the operator account: once it exists nothing here runs again. Nothing here runs outside demo mode.
"""
from __future__ import annotations

import csv
import io
import random
from datetime import date, datetime, timedelta

from monitor.settings import Settings
from monitor.surveys import calls, dossiers, operator, samples
from registry import accounts
from registry.clock import local_today

OPERATOR = ("dienthoaivien@demo.dongthap.gov.vn", "dienthoai-demo-2026", "Điện thoại viên 1022 (demo)")
UNITS = ("SYT", "STP", "SXD", "STC", "SCT", "H-TAMNONG", "P-CAOLANH")
PER_UNIT = 40  # dossiers of the month per unit
PROCEDURES = ("Cấp giấy phép xây dựng nhà ở riêng lẻ", "Đăng ký hộ kinh doanh", "Chứng thực bản sao từ bản chính",
              "Cấp phiếu lý lịch tư pháp", "Đăng ký khai sinh", "Cấp giấy chứng nhận quyền sử dụng đất",
              "Cấp giấy phép hành nghề khám bệnh, chữa bệnh", "Đăng ký thành lập doanh nghiệp")
NAMES = ("Nguyễn Văn Hùng", "Trần Thị Lan", "Lê Minh Tâm", "Phạm Thị Hoa", "Võ Văn Phúc", "Huỳnh Thị Ngọc",
         "Đặng Quốc Bảo", "Bùi Thị Thu", "Công ty TNHH Sen Hồng", "Hợp tác xã Tràm Chim")
CHANNELS = ("Trực tiếp", "Trực tuyến", "Bưu chính công ích")
# What the calls already made found, in turn (with the answers of the interviews).
WORKED = ("complete", "complete", "no_answer", "complete", "refusal", "complete", "partial", "busy", "complete",
          "wrong_number", "complete", "soft_refusal", "complete", "no_answer", "complete", "not_applicant")
WORKED_SHARE = 0.5
AUTOMATED_SHARE = 0.5  # of the cases still open after the operator's calls


def seed(db, settings: Settings, *, now: datetime, rng: random.Random | None = None) -> int:
    """Import, draw and work the demo's survey month; returns the calls recorded (0 when seeded before)."""
    if db.execute("SELECT 1 FROM users WHERE email = ?", [OPERATOR[0]]).fetchone():
        return 0
    rng = rng or random.Random(1022)
    first, last = _last_month(now)
    dossiers.import_bytes(db, export_csv(db, first, last, rng), f"dossiers-{first:%Y-%m}.csv", now=now)
    options = samples.parse_options(first.isoformat(), last.isoformat(), seed=2026, margin="0.1")
    drawn = samples.draw_sample(db, options, now=now, settings=settings)
    operator_id = accounts.create_operator(db, OPERATOR[0], OPERATOR[1], OPERATOR[2], now=now)
    worked = work_cases(db, {"id": operator_id}, settings, now=now, rng=rng)
    # Part of what is left goes to automated calls: the scheduler's survey job dials them through the simulator.
    calls.automate_share(db, drawn["sample_id"], AUTOMATED_SHARE, drawn["seed"])
    return worked


def _last_month(now: datetime) -> tuple[date, date]:
    this_month = local_today(now).replace(day=1)
    last = this_month - timedelta(days=1)
    return last.replace(day=1), last


def export_csv(db, first: date, last: date, rng: random.Random) -> bytes:
    """A one-stop export of the month: PER_UNIT dossiers per demo unit, about one in six late, one in ten
    without a phone number."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Mã hồ sơ", "Tên thủ tục hành chính", "Chủ hồ sơ", "Số điện thoại", "Ngày tiếp nhận",
                     "Ngày hẹn trả", "Ngày trả kết quả", "Đơn vị xử lý", "Kênh nộp"])
    known = {code for (code,) in db.execute("SELECT code FROM units")}
    days = (last - first).days + 1
    serial = 0
    for code in (c for c in UNITS if c in known):
        for _n in range(PER_UNIT):
            serial += 1
            returned = first + timedelta(days=rng.randrange(days))
            received = returned - timedelta(days=rng.randint(3, 15))
            late = rng.random() < 1 / 6
            due = returned - timedelta(days=rng.randint(1, 5)) if late else returned + timedelta(days=rng.randint(0, 3))
            phone = "" if rng.random() < 0.1 else f"0399 9{serial // 1000 % 10}{serial // 100 % 10} {serial % 1000:03d}"
            writer.writerow([f"000.00.12.H19-{returned:%y%m%d}-{serial:04d}", rng.choice(PROCEDURES), rng.choice(NAMES),
                             phone, f"{received:%d/%m/%Y}", f"{due:%d/%m/%Y}", f"{returned:%d/%m/%Y}", code,
                             rng.choice(CHANNELS)])
    return out.getvalue().encode("utf-8")


def work_cases(db, user: dict, settings: Settings, *, now: datetime, rng: random.Random) -> int:
    """Call about half of the open cases over the last three days, as the operator's form records them."""
    ids = [case_id for (case_id,) in db.execute("SELECT id FROM survey_cases WHERE state = 'open' ORDER BY id")]
    worked = ids[: int(len(ids) * WORKED_SHARE)]
    for n, case_id in enumerate(worked):
        disposition = WORKED[n % len(WORKED)]
        at = now - timedelta(hours=72) + timedelta(minutes=n * 7)
        operator.record_call(db, case_id, user, disposition=disposition, note="", given=_answers(disposition, rng),
                             appointment_at=None, now=at, settings=settings)
    return len(worked)


def _answers(disposition: str, rng: random.Random) -> dict[str, str]:
    """The form's answers (default questionnaire) for a demo call: mostly satisfied, some not; nobody reports a
    request for money here (the alerts have their own demo)."""
    if disposition not in ("complete", "partial"):
        return {}
    ratings = [str(rng.choices((5, 4, 3, 2), weights=(4, 4, 2, 1))[0]) for _ in range(5)]
    given = {"q0": "yes", **{f"q{n + 1}": rating for n, rating in enumerate(ratings)}, "q6": "no"}
    if rng.random() < 0.3:
        given["q7"] = rng.choice(("Nên nhắn tin báo khi có kết quả.", "Cán bộ hướng dẫn tận tình.",
                                  "Chờ lâu ở quầy tiếp nhận.", "Nên giảm giấy tờ phải nộp."))
    if disposition == "partial":
        given = {k: v for k, v in given.items() if k in ("q0", "q1", "q2")}
    return given
