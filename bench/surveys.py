"""Benchmark — the 1022 surveys' sample frame: a one-stop export of 1,000,000 completed dossiers (CSV) read,
checked and imported (monitor.surveys.dossiers.import_bytes: every row checked with no lock held, then one
transaction with one executemany), against a bare executemany of the very same rows into the same table, in
the same run, on a fresh copy of the same database each time.

Target: check + import ≤ 2× the bare executemany at 1,000,000 rows.

The script is a list of parts (PARTS), each measuring one thing and returning its Markdown; they share a
context (the imported frame's database for the parts after the import).

    .venv/bin/python bench/surveys.py [--quick]      (--quick: 100,000 rows, one repetition)
"""
from __future__ import annotations

import argparse
import csv
import io
import random
import shutil
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    OUT,
    connect,
    fmt_s,
    fmt_summary,
    make_app,
    md_table,
    scratch,
    seed_units,
    summary,
    verdict,
    write_section,
)

NOW = datetime(2024, 12, 5, 3, 0, tzinfo=timezone.utc)
UNITS = 300
HEADINGS = ["STT", "Mã hồ sơ", "Mã thủ tục", "Tên thủ tục hành chính", "Chủ hồ sơ", "Địa chỉ", "Số điện thoại",
            "Ngày tiếp nhận", "Ngày hẹn trả", "Ngày trả kết quả", "Đơn vị xử lý", "Kênh nộp", "Trạng thái"]
PROCEDURES = [f"Thủ tục hành chính số {k}: cấp, cấp lại, điều chỉnh giấy chứng nhận loại {k % 7}" for k in range(80)]
CHANNELS = ("Trực tiếp", "Trực tuyến", "Bưu chính công ích")
MOBILE_PREFIXES = ("090", "091", "093", "094", "096", "097", "098", "032", "033", "034", "035", "036", "037", "038",
                   "039", "070", "076", "077", "078", "079", "081", "082", "083", "084", "085", "086", "088", "089")


def export_csv(n: int, units: list[tuple[str, str]], seed: int = 2024) -> bytes:
    """A month's export of n returned dossiers as the one-stop systems write it: a title, a header, dd/mm/yyyy
    days (times on the received day), units by name (one in ten by code), 10 % late, 3 % of phones wrong and
    2 % missing, columns the import does not keep (address, procedure code, state)."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["DANH SÁCH HỒ SƠ ĐÃ TRẢ KẾT QUẢ THÁNG 11/2024"])
    writer.writerow(HEADINGS)
    start = date(2024, 11, 1)
    for i in range(n):
        returned = start + timedelta(days=rng.randrange(30))
        late = rng.random() < 0.10
        due = returned - timedelta(days=rng.randrange(1, 4)) if late else returned + timedelta(days=rng.randrange(0, 3))
        received = due - timedelta(days=rng.choice((3, 5, 7, 10, 15)))
        code, name = units[rng.randrange(len(units))]
        kind = rng.random()
        if kind < 0.03:
            phone = "0912 345"
        elif kind < 0.05:
            phone = ""
        elif kind < 0.15:
            phone = f"0277 {rng.randrange(3000000, 3999999)}"
        else:
            phone = f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10_000_000):07d}"
        writer.writerow([i + 1, f"000.00.{i % 97:02d}.H19-{returned:%y%m%d}-{i:07d}", f"1.00{i % 80}",
                         PROCEDURES[i % 80], f"Nguyễn Văn {i}", f"Số {i % 200} đường 30/4, phường {i % 9 + 1}",
                         phone, f"{received:%d/%m/%Y} 0{8 + i % 2}:{i % 60:02d}", f"{due:%d/%m/%Y}",
                         f"{returned:%d/%m/%Y}", code if i % 10 == 0 else name, CHANNELS[i % 3], "Đã trả kết quả"])
    return ("\ufeff" + out.getvalue()).encode()


def cold() -> None:
    """Forget what earlier runs read (phone prefixes, days): each run reads its file as a new process would."""
    from monitor.surveys import frame_values
    from registry import numbers

    numbers._lookup.cache_clear()
    numbers.display_number.cache_clear()
    numbers._PREFIXES.clear()
    frame_values._DAYS.clear()
    frame_values._KINDS.clear()


def fresh(template: Path, name: str):
    cold()
    path = template.with_name(name)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    shutil.copy(template, path)
    return path, connect(path)


def run_import(template: Path, data: bytes, again: bool) -> dict:
    """The import as `surveys import` runs it, timed in its two halves; with again, the same file once more
    (nothing added)."""
    from monitor.surveys.dossiers import import_bytes, insert_frame
    from monitor.surveys.frame import read_frame
    from registry.clock import local_today_iso

    path, db = fresh(template, "import.db")
    start = time.perf_counter()
    frame = read_frame(db, data, "ho-so.csv", mapping=None, today=local_today_iso(NOW))
    checked = time.perf_counter()
    _import_id, added = insert_frame(db, frame, filename="ho-so.csv", sha256="bench", user_id=None, now=NOW)
    written = time.perf_counter()
    assert added == len(frame.rows), (added, len(frame.rows))
    again_seconds = None
    if again:
        cold()
        start_again = time.perf_counter()
        second = import_bytes(db, data, "ho-so.csv", now=NOW)
        again_seconds = time.perf_counter() - start_again
        assert second.added == 0 and second.known == len(frame.rows)
    db.conn.close()
    return {"check": checked - start, "write": written - checked, "total": written - start, "again": again_seconds,
            "rows": len(frame.rows), "late": frame.late, "invalid": frame.invalid_phone, "path": path,
            "frame": frame}


def run_bare(template: Path, rows: list[tuple]) -> float:
    """The same rows, already made and in the order given, inserted with a bare executemany in one transaction."""
    from monitor.surveys.frame import ROW_FIELDS

    _path, db = fresh(template, "bare.db")
    db.conn.execute("INSERT INTO dossier_imports (id, filename, sha256, rows, added, imported_at) "
                    "VALUES (1, 'ho-so.csv', 'bench', ?, ?, '2024-12-05T03:00:00Z')", [len(rows), len(rows)])
    full = [(*row, 1) for row in rows]
    sql = (f"INSERT INTO dossiers ({', '.join(ROW_FIELDS)}, import_id) "
           f"VALUES ({', '.join('?' * (len(ROW_FIELDS) + 1))})")
    start = time.perf_counter()
    db.conn.execute("BEGIN IMMEDIATE")
    db.conn.executemany(sql, full)
    db.conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    assert db.execute("SELECT count(*) FROM dossiers").fetchone()[0] == len(rows)
    db.conn.close()
    return seconds


def bench_import(context: dict) -> str:
    """Check + import of the export against the bare executemany; leaves the imported database in the context."""
    n, repeat = context["rows"], context["repeat"]
    work = context["work"]
    template = work / "fresh.db"
    app = make_app(template)
    context["app"] = app
    db = connect(template)
    seed_units(db, UNITS)
    names = [tuple(r) for r in db.execute("SELECT code, name FROM units ORDER BY id").fetchall()]
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    cached = OUT / f"surveys-export-{n}.csv"  # the same units and seed make the same file: made once
    if cached.exists():
        data = cached.read_bytes()
    else:
        build_start = time.perf_counter()
        data = export_csv(n, names)
        cached.write_bytes(data)
        print(f"export of {n:,} rows: {len(data) / 1e6:.0f} MB, made in {fmt_s(time.perf_counter() - build_start)}")
    runs, bares, sorted_bares = [], [], []
    with app.app_context():
        for rep in range(repeat):  # alternate so drift on a shared machine hits both alike
            run = run_import(template, data, again=rep == 0)
            rows = run.pop("frame").rows
            runs.append(run)
            bares.append(run_bare(template, rows))
            sorted_bares.append(run_bare(template, sorted(rows)))
            del rows
            print(f"  check {fmt_s(run['check'])} + write {fmt_s(run['write'])} = {fmt_s(run['total'])}; "
                  f"bare {fmt_s(bares[-1])} (code order {fmt_s(sorted_bares[-1])}); ratio {run['total'] / bares[-1]:.2f} "
                  f"({run['total'] / sorted_bares[-1]:.2f})")
    context["frame_db"] = runs[-1]["path"]  # the imported frame, for the parts that draw samples from it
    ratios = summary([r["total"] / b for r, b in zip(runs, bares)])
    sorted_ratios = summary([r["total"] / b for r, b in zip(runs, sorted_bares)])
    total, bare = summary([r["total"] for r in runs])["median"], summary(bares)["median"]
    first = runs[0]
    table = md_table(("rows", "check (read + check, no lock)", "write (lock held)", "check + import",
                      "bare executemany (file order)", "ratio", "bare executemany (code order)", "ratio",
                      "second import (0 added)"),
                     [(f"{n:,}", fmt_summary([r["check"] for r in runs]), fmt_summary([r["write"] for r in runs]),
                       fmt_summary([r["total"] for r in runs]), fmt_summary(bares), f"{ratios['median']:.2f}",
                       fmt_summary(sorted_bares), f"{sorted_ratios['median']:.2f}", fmt_s(first["again"]))])
    return f"""### Importing {n:,} dossiers

A month's export as the one-stop systems write it ({len(data) / 1e6:.0f} MB of CSV: a title row, thirteen
columns of which nine are kept, dd/mm/yyyy days with times, units named by their name — one row in ten by
code — among {UNITS} units, {first['late']:,} late dossiers, {first['invalid']:,} wrong phone numbers kept as
findings), imported by `monitor.surveys.dossiers`: the file read by the appendix's streaming reader and each row
checked as it is read (code, days, unit by name key, phone to national digits, lateness), with no lock held;
then one `BEGIN IMMEDIATE` transaction with one `executemany` (`ON CONFLICT (code) DO NOTHING`, rows in code
order so the UNIQUE index grows at its end) into `dossiers` and its five indexes. Baseline: the very same rows,
already made as tuples, inserted in the file's order with a bare `executemany` in one transaction on a fresh
copy of the same database; and, since the import writes in code order, the same bare insert of the rows
already sorted by code (the import's own cost over the fastest plain insert of its rows). "check + import" runs from the file's
bytes to the commit; phone prefixes and days are read cold in every repetition. {repeat} repetition(s), median
(min–max); the ratio is the median of each repetition's import over the bare insert run right after it.

{table}

| target | measured | |
|---|---|---|
| check + import ≤ 2× the bare executemany at {n:,} rows | {ratios['median']:.2f}× ({ratios['min']:.2f}–{ratios['max']:.2f}; medians {fmt_s(total)} against {fmt_s(bare)}) | {verdict(ratios['median'] <= 2)} |
| the same, against the bare executemany of the rows already in code order | {sorted_ratios['median']:.2f}× ({sorted_ratios['min']:.2f}–{sorted_ratios['max']:.2f}) | — |
| a second import of the same file adds nothing | {fmt_s(first['again'])}, 0 added | {verdict(True)} |
"""


from bench.survey_sample import bench_sample  # noqa: E402

PARTS = [bench_import, bench_sample]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    context = {"rows": 100_000 if args.quick else 1_000_000, "repeat": 1 if args.quick else args.repeat,
               "work": scratch("surveys")}
    blocks = [part(context) for part in PARTS]
    write_section("surveys", "## The 1022 surveys: the sample frame\n\n" + "\n".join(blocks))


if __name__ == "__main__":
    main()
