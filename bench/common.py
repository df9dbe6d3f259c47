"""Shared helpers of the benchmark scripts: timing, statistics, the machine, fixtures and docs/BENCHMARKS.md.

Each script measures its target and a baseline in the same run, several times, and rewrites only its own
section of docs/BENCHMARKS.md (between <!-- bench:NAME --> and <!-- /bench:NAME -->), so scripts can be run
one by one. Nothing here talks to anything but 127.0.0.1.
"""
from __future__ import annotations

import gc
import os
import platform
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OUT = ROOT / "bench" / "out"          # scratch databases and caches (gitignored)
DOC = ROOT / "docs" / "BENCHMARKS.md"
CHARTS = ROOT / "docs" / "bench"      # SVG charts linked from BENCHMARKS.md
SECTIONS = ("machine", "summary", "webhooks", "dispatch", "planning", "reports", "pages", "classification", "allocation", "import", "logbook", "surveys", "sip")
AUTH_TOKEN = "bench-auth-token"
PUBLIC_BASE = "https://hotline.bench.example"

DOC_HEADER = """# Benchmarks

Measured on one machine with the scripts in `bench/` (`bench/run_all.sh` runs them all, about ten minutes on a
2-core machine; each script can also run alone and rewrites only its own section below). Every figure compares
the system against a baseline measured **in the same run**, over several repetitions: the median is given with
the spread (minimum–maximum) of the repetitions. Traffic goes to 127.0.0.1 only; calls are simulated.

"""


# ------------------------------------------------------------------------------------------ the machine


def machine() -> dict:
    """What the figures were measured on: CPU model, cores, memory, OS, Python and SQLite versions."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "cpu": cpu or platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def machine_line() -> str:
    m = machine()
    try:
        load = "load average {:.1f} / {:.1f} / {:.1f} when written".format(*os.getloadavg())
    except OSError:
        load = ""
    return (f"{m['cpu']}, {m['cores']} cores, {m['memory']} RAM, {m['os']}, "
            f"Python {m['python']}, SQLite {m['sqlite']}" + (f"; {load}" if load else ""))


# ------------------------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0–100) by linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100.0
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def summary(samples: Sequence[float]) -> dict:
    """Median and spread (min, max, and max−min relative to the median) of repeated measurements."""
    med = statistics.median(samples)
    return {"median": med, "min": min(samples), "max": max(samples), "n": len(samples),
            "spread": (max(samples) - min(samples)) / med if med else 0.0}


def fmt_s(seconds: float) -> str:
    if seconds >= 10:
        return f"{seconds:.1f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 0.01:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds * 1000:.2f} ms"


def fmt_summary(samples: Sequence[float], fmt: Callable[[float], str] = fmt_s) -> str:
    """'1.23 s (1.20–1.31)' for repeated timings."""
    s = summary(samples)
    return f"{fmt(s['median'])} ({fmt(s['min'])}–{fmt(s['max'])})"


@contextmanager
def stopwatch():
    """with stopwatch() as t: …; t() is the elapsed seconds (frozen at exit)."""
    start = time.perf_counter()
    end = None

    def elapsed():
        return (end if end is not None else time.perf_counter()) - start

    try:
        yield elapsed
    finally:
        end = time.perf_counter()


def timed(fn: Callable, *args, **kwargs) -> tuple[float, object]:
    """(seconds, result) of one call, with the garbage collector settled first."""
    gc.collect()
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


# --------------------------------------------------------------------------------------------- fixtures


def scratch(name: str) -> Path:
    """A fresh scratch directory bench/out/NAME."""
    path = OUT / name
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def bench_config(db_path: Path, **extra) -> dict:
    return {
        "DATABASE": str(db_path),
        "SECRET_KEY": "bench-secret",
        "SESSION_COOKIE_SECURE": False,
        "PUBLIC_BASE_URL": PUBLIC_BASE,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "CALL_PROVIDER": "simulator",
        **extra,
    }


def make_app(db_path: Path, **extra):
    """The real app on a fresh database file (migrated)."""
    from monitor.app import create_app, init_db

    app = create_app(bench_config(db_path, **extra))
    init_db(app)
    return app


def connect(db_path: Path):
    from registry.db import connect as registry_connect

    return registry_connect(str(db_path))


def fake_number(i: int) -> str:
    """A distinct Đồng Tháp landline per i (E.164) in a block no real subscriber has in this demo."""
    return f"+842773{i:06d}"


def fake_display(number: str) -> str:
    digits = "0" + number[3:]
    return f"{digits[:4]} {digits[4:8]} {digits[8:]}"


VI_WORDS = ["Ủy ban nhân dân", "xã", "phường", "Sở", "Phòng", "Trung tâm", "Bệnh viện", "Trường", "Chi cục",
            "Mỹ", "An", "Tân", "Hòa", "Long", "Thạnh", "Bình", "Phú", "Hưng", "Đông", "Tây", "Lộc", "Thới"]


def template_db(work: Path, n: int) -> Path:
    """A migrated database with n units, checkpointed, to copy for each run."""
    path = work / f"units-{n}.db"
    make_app(path)
    db = connect(path)
    seed_units(db, n)
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return path


def seed_units(db, n: int, *, start: int = 0, hours_office_every: int = 4, now: str = "2025-01-01T00:00:00.00Z"):
    """n units with one hotline each, inserted in bulk (executemany; the schema's triggers still check numbers)."""
    groups = ("A", "B", "C")
    units, hotlines = [], []
    for i in range(start, start + n):
        words = [VI_WORDS[(i * 7 + k * 3) % len(VI_WORDS)] for k in range(3)]
        units.append((i + 1, f"U{i:06d}", f"{' '.join(words)} {i}", "commune", groups[i % 3],
                      f"Cán bộ {i}", f"u{i}@bench.example", now))
        number = fake_number(i)
        hotlines.append((i + 1, number, "landline", fake_display(number), fake_display(number),
                         "office" if hours_office_every and i % hours_office_every == 0 else "24/7", 1, now))
    with db.atomic():
        db.conn.executemany(
            "INSERT INTO units (id, code, name, kind, group_code, contact_name, contact_email, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", units)
        db.conn.executemany(
            "INSERT INTO hotlines (unit_id, number, kind, display, raw, hours, is_demo, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", hotlines)
    return [u[0] for u in units]


# --------------------------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(app_spec: str, *, workers: int, threads: int, env: dict | None = None, port: int | None = None):
    """Run `gunicorn app_spec` (gthread workers) on 127.0.0.1; yields the base URL; stops it at exit."""
    port = port or free_port()
    cmd = [str(Path(sys.executable).parent / "gunicorn"), "--workers", str(workers), "--threads", str(threads),
           "--worker-class", "gthread", "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
           "--keep-alive", "30", "--backlog", "2048", app_spec]
    process = subprocess.Popen(cmd, cwd=str(ROOT), env={**os.environ, **(env or {})},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start: " + process.stderr.read().decode()[-2000:]) from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ----------------------------------------------------------------------------------------- the document


def md_table(headers: Sequence[str], rows: Iterable[Sequence]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(cell) for cell in row) + " |")
    return "\n".join(lines)


def write_section(name: str, body: str) -> None:
    """Replace this benchmark's section of docs/BENCHMARKS.md (created with every marker if missing)."""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text() if DOC.exists() else DOC_HEADER
    for i, section in enumerate(SECTIONS):  # keep the sections in a fixed order even when scripts run alone
        if f"<!-- bench:{section} -->" not in text:
            block = f"<!-- bench:{section} -->\n_not measured yet_\n<!-- /bench:{section} -->\n"
            later = [f"<!-- bench:{s} -->" for s in SECTIONS[i + 1:] if f"<!-- bench:{s} -->" in text]
            if later:
                at = text.index(later[0])
                text = text[:at] + block + "\n" + text[at:]
            else:
                text = text.rstrip("\n") + "\n\n" + block
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    content = f"<!-- bench:{name} -->\n{body.strip()}\n\n_Measured {stamp} on: {machine_line()}._\n<!-- /bench:{name} -->"
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _m: content, text, count=1)
    DOC.write_text(text)
    print(f"docs/BENCHMARKS.md: section '{name}' written")


def svg_chart(path: Path, title: str, xlabel: str, ylabel: str, series: dict[str, list[tuple[float, float]]]) -> str:
    """A small line chart (several series of (x, y)) as a standalone SVG file; returns its path relative to docs/."""
    width, height, left, right, top, bottom = 560, 300, 70, 150, 36, 48
    xs = [x for points in series.values() for x, _ in points]
    ys = [y for points in series.values() for _, y in points]
    x_max, y_max = max(xs) or 1, (max(ys) or 1) * 1.1
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(x):
        return left + plot_w * x / x_max

    def py(y):
        return top + plot_h * (1 - y / y_max)

    colours = ["#1f5fa8", "#c0392b", "#2e8b57", "#8e44ad"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, sans-serif" font-size="11">',
             f'<rect width="{width}" height="{height}" fill="#fff"/>',
             f'<text x="{left}" y="20" font-size="13" font-weight="bold">{_esc(title)}</text>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#333"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#333"/>']
    for k in range(5):
        y = y_max * k / 4
        parts.append(f'<line x1="{left - 4}" y1="{py(y):.1f}" x2="{left + plot_w}" y2="{py(y):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{_num(y)}</text>')
    for x in sorted(set(xs)):
        parts.append(f'<text x="{px(x):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{_num(x)}</text>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{height - 8}" text-anchor="middle">{_esc(xlabel)}</text>')
    parts.append(f'<text x="14" y="{top + plot_h / 2}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {top + plot_h / 2})">{_esc(ylabel)}</text>')
    for i, (name, points) in enumerate(series.items()):
        colour = colours[i % len(colours)]
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in sorted(points))
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in points:
            parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>')
        ly = top + 14 + 18 * i
        parts.append(f'<line x1="{width - right + 12}" y1="{ly - 4}" x2="{width - right + 30}" y2="{ly - 4}" '
                     f'stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<text x="{width - right + 34}" y="{ly}">{_esc(name)}</text>')
    parts.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts) + "\n")
    return str(path.relative_to(DOC.parent))


def _esc(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _num(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:g}k" if value % 1000 == 0 else f"{value:,.0f}"
    if value >= 10:
        return f"{value:.0f}"
    return f"{value:.2g}"


# ------------------------------------------------------------------------------ machine and summary sections


def write_machine_section() -> None:
    """The machine every section was measured on (each section also states it with its load average)."""
    import importlib.metadata as md

    m = machine()
    versions = {name: md.version(name) for name in ("flask", "gunicorn", "sqlite-utils", "twilio")}
    rows = [("CPU", m["cpu"]), ("cores", m["cores"]), ("memory", m["memory"]), ("OS", m["os"]),
            ("Python", m["python"]), ("SQLite", m["sqlite"])] + [(k, v) for k, v in versions.items()]
    write_section("machine", "## The machine\n\n" + md_table(("", ""), rows) + "\n\n"
                  "A small virtual machine shared with other work: the load average at the moment each section was "
                  "written is given under it. Disk `fsync` is slow here (about 2.5 ms), which matters to SQLite "
                  "checkpoints.")


def write_summary_section() -> None:
    """Every target row of every section, in one table at the top."""
    text = DOC.read_text() if DOC.exists() else ""
    rows = []
    for name in SECTIONS[2:]:
        match = re.search(rf"<!-- bench:{name} -->(.*?)<!-- /bench:{name} -->", text, re.S)
        if not match:
            continue
        title = re.search(r"^## (.+)$", match.group(1), re.M)
        for line in match.group(1).splitlines():
            if line.startswith("| ") and ("**met**" in line or "**missed**" in line):
                cells = [c.strip() for c in line.strip("|").split("|")]
                rows.append((title.group(1).split(":")[0] if title else name, cells[0], cells[1], cells[-1]))
    if rows:
        write_section("summary", "## Summary of the targets\n\n" + md_table(("benchmark", "target", "measured", ""), rows)
                      + "\n\nEach section below gives the setup, the baseline, the curve over three sizes where asked, "
                        "and, for every target missed, the reason and what would fix it.")


if __name__ == "__main__":
    import sys as _sys

    write_summary_section() if "--summary" in _sys.argv else write_machine_section()
