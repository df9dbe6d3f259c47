"""Command line: `flask --app wsgi monitor run|mail-catcher|plan|call|attempts|classify|reclassify`."""
import json
import random
import secrets
import sys
from datetime import date, timedelta

import click
from flask import current_app
from flask_babel import gettext as _

from monitor import labels
from monitor.attempts import STATES, get_attempt
from monitor.attempts.store import TESTS_ONLY
from monitor.providers import make_provider
from monitor.scheduling.bands import to_local, week_monday
from monitor.scheduling.manual import call_now, summary
from monitor.scheduling.planner import plan_week
from monitor.settings import Settings
from registry.cli import UserErrorGroup
from registry.clock import local_today, parse_iso, utcnow
from registry.db import connect
from registry.errors import UserError

monitor_cli = UserErrorGroup("monitor", help="Cuộc gọi kiểm tra: chạy bộ lập lịch, lập kế hoạch, gọi ngay, xem các lần gọi, phân loại kết quả.")

EXCERPT = 48


def register(app):
    app.cli.add_command(monitor_cli)


def _settings() -> Settings:
    return current_app.extensions["settings"]


def _local(text: str | None) -> str:
    """A stored UTC timestamp as local time (Asia/Ho_Chi_Minh), to the second."""
    return to_local(parse_iso(text)).strftime("%Y-%m-%d %H:%M:%S") if text else ""


@monitor_cli.command("run")
def run_command():
    """Run the scheduler: plan tests, place due calls within the limits, recover after a crash.

    Runs until Ctrl-C or SIGTERM; calls in flight finish first. Start it beside the web app.

    Example: flask --app wsgi monitor run
    """
    from monitor.scheduling import scheduler

    settings = _settings()

    def started(info):
        running = info["settings"]  # with the demo's speed-up, if any
        limits = dict(provider=info["provider"], rate=f"{running.calls_per_second:g}", concurrent=running.max_concurrent_calls)
        if running.demo_active:
            click.echo(_("Bộ lập lịch đang chạy (nhà cung cấp: %(provider)s, tối đa %(rate)s cuộc/giây, %(concurrent)s cuộc "
                         "cùng lúc, chế độ trình diễn). Ctrl-C để dừng.", **limits))
        else:
            click.echo(_("Bộ lập lịch đang chạy (nhà cung cấp: %(provider)s, tối đa %(rate)s cuộc/giây, %(concurrent)s cuộc "
                         "cùng lúc). Ctrl-C để dừng.", **limits))

    code = scheduler.run(settings, on_started=started)  # SchedulerError, ProviderConfigError: one line, exit 1
    click.echo(_("Bộ lập lịch đã dừng."))
    sys.exit(code)


@monitor_cli.command("mail-catcher")
def mail_catcher_command():
    """Demo only: catch the alert e-mails on this machine (SMTP on FLASK_SMTP_HOST:FLASK_SMTP_PORT, 127.0.0.1).

    Every message is kept in FLASK_MAIL_CATCHER_DIR and shown to inspectors on the demo's mail page; nothing is
    relayed. scripts/start.sh starts it beside the scheduler. Runs until Ctrl-C or SIGTERM.

    Example: FLASK_SMTP_HOST=127.0.0.1 FLASK_SMTP_PORT=2525 flask --app wsgi monitor mail-catcher
    """
    import signal
    import threading

    from monitor.mailcatcher import serve

    settings = _settings()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    host = settings.smtp_host or "127.0.0.1"
    click.echo(_("Hộp thư trình diễn nhận thư tại %(host)s:%(port)s, lưu vào %(folder)s. Ctrl-C để dừng.",
                 host=host, port=settings.smtp_port, folder=settings.mail_catcher_folder))
    try:
        serve(host, settings.smtp_port, settings.mail_catcher_folder, stop)
    except OSError as exc:
        raise click.ClickException(_("Không mở được cổng %(port)s cho hộp thư trình diễn: %(error)s",
                                     port=settings.smtp_port, error=exc.strerror or exc)) from None


@monitor_cli.command("plan")
@click.option("--week", "week", metavar="YYYY-MM-DD", help="Một ngày trong tuần cần lập (mặc định: tuần này và tuần sau).")
def plan_command(week):
    """Plan the week's test calls now (the scheduler also does it every hour); safe to run twice.

    Example: flask --app wsgi monitor plan --week 2026-03-02
    """
    settings = _settings()
    now = utcnow()
    if week:
        try:
            weeks = [week_monday(date.fromisoformat(week))]
        except ValueError:
            raise click.ClickException(_("Ngày “%(day)s” không hợp lệ: viết theo dạng NNNN-TT-NN, ví dụ 2026-03-02.", day=week)) from None
    else:
        this_week = week_monday(local_today(now))
        weeks = [this_week, this_week + timedelta(days=7)]
    db = connect(settings.database)
    rng = random.Random(secrets.randbits(64))
    try:
        for monday in weeks:
            created = plan_week(db, monday, now=now, rng=rng, settings=settings)
            click.echo(_("Tuần bắt đầu %(monday)s: đã lập %(count)s lần gọi mới.", monday=monday.isoformat(), count=created))
    finally:
        db.conn.close()


@monitor_cli.command("call")
@click.argument("unit_code")
@click.option("--json", "as_json", is_flag=True, help="In đúng một đối tượng JSON.")
@click.option("--timeout", default=180.0, show_default=True, type=click.FloatRange(min=0),
              help="Số giây chờ kết quả cuối cùng.")
def call_command(unit_code, as_json, timeout):
    """Call a unit's registered hotline now and print the outcome (exit 2 if it is not in by the timeout).

    Example: flask --app wsgi monitor call SYT --json
    """
    from monitor.scheduling.scheduler import make_sink

    settings = _settings()
    db = connect(settings.database)
    try:
        provider = make_provider(settings, make_sink(settings))
        try:
            result = call_now(db, settings, unit_code, provider=provider, wait_seconds=timeout)
        finally:
            provider.close()
        if result["final"]:  # evidence that came with the end of the call (e.g. a late AMD result) included
            result = summary(get_attempt(db, result["attempt"]))
    finally:
        db.conn.close()
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        _print_call(result)
    if not result["final"]:
        sys.exit(2)


def _print_call(result: dict) -> None:
    click.echo(_("Lần gọi #%(id)s: %(unit_name)s (%(unit)s), số %(number)s", id=result["attempt"],
                 unit_name=result["unit_name"], unit=result["unit"], number=result["number"]))
    if not result["final"]:
        click.echo(_("Chưa có kết quả cuối cùng sau thời gian chờ. Trạng thái hiện tại: %(state)s.", state=result["state"]))
    else:
        click.echo(_("Kết quả: %(label)s (%(code)s)", label=labels.outcome(result["outcome"]), code=result["outcome"]))
        if result["detail"]:
            click.echo(_("Chi tiết: %(detail)s", detail=result["detail"]))
    if result["answer_seconds"] is not None:
        click.echo(_("Nghe máy sau: %(seconds)s giây", seconds=result["answer_seconds"]))
    if result["sip_code"] is not None:
        click.echo(_("Mã SIP: %(code)s", code=result["sip_code"]))
    if result["transcript"]:
        click.echo(_("Nghe được: “%(transcript)s”", transcript=result["transcript"]))
    click.echo(_("Khung giờ: %(band)s; bắt đầu %(start)s, kết thúc %(end)s (giờ Việt Nam)",
                 band=labels.band(result["band"]), start=_local(result["started_at"]) or "—",
                 end=_local(result["ended_at"]) or "—"))


@monitor_cli.command("attempts")
@click.option("--unit", "unit_code", metavar="UNIT_CODE", help="Chỉ các lần gọi của đơn vị này.")
@click.option("--state", type=click.Choice(STATES), help="Chỉ các lần gọi ở trạng thái này.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1, max=100000),
              help="Số dòng tối đa (mới nhất trước).")
@click.option("--json", "as_json", is_flag=True, help="In một danh sách JSON.")
def attempts_command(unit_code, state, limit, as_json):
    """List test calls with their state, outcome and evidence, newest first.

    Example: flask --app wsgi monitor attempts --unit SYT --state ended --limit 20
    """
    db = connect(_settings().database)
    try:
        where, params = [TESTS_ONLY], []  # test calls: a survey call's number is a citizen's
        if unit_code:
            if not db.execute("SELECT 1 FROM units WHERE code = ?", [unit_code]).fetchone():
                raise click.ClickException(_("Không có đơn vị mã “%(code)s”.", code=unit_code))
            where.append("u.code = ?")
            params.append(unit_code)
        if state:
            where.append("a.state = ?")
            params.append(state)
        rows = db.execute_returning_dicts(
            "SELECT a.*, u.code AS unit_code, u.name AS unit_name FROM attempts a JOIN units u ON u.id = a.unit_id"
            + " WHERE " + " AND ".join(where)
            + " ORDER BY a.planned_at DESC, a.id DESC LIMIT ?",
            params + [limit],
        )
    finally:
        db.conn.close()
    if as_json:
        click.echo(json.dumps([summary(row) for row in rows], ensure_ascii=False))
        return
    if not rows:
        click.echo(_("Không có lần gọi nào."))
        return
    header = ("#", _("Đơn vị"), _("Số"), _("Dự kiến (giờ VN)"), _("Trạng thái"), _("Kết quả"), _("Nghe (s)"), "SIP",
              _("Xác nhận"), _("Nghe được"))
    table = [header] + [_attempt_line(row) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header) - 1)]
    for line in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths)) + "  " + line[-1])


def _attempt_line(row: dict) -> tuple:
    confirmed = {None: "", 1: _("có"), 0: _("không")}.get(row["confirmed"], str(row["confirmed"]))
    transcript = (row["transcript"] or "").replace("\n", " ")
    if len(transcript) > EXCERPT:
        transcript = transcript[: EXCERPT - 1] + "…"
    return (
        str(row["id"]), row["unit_code"], row["number"], _local(row["planned_at"])[:16], row["state"],
        row["outcome"] or "", "" if row["answer_seconds"] is None else f"{row['answer_seconds']:g}",
        "" if row["sip_code"] is None else str(row["sip_code"]), confirmed, transcript,
    )


@monitor_cli.command("classify")
@click.argument("file", type=click.File("rb"))
def classify_command(file):
    """Show what the current rules make of call evidence: JSON lines in, one JSON line out per line.

    Each line in: transcript, registered (the unit's number), call_status, answered_by, optionally sip_code.
    Each line out: outcome, review (true when held for an inspector), reason, basis. A line that cannot be read
    gives {"line": N, "error": "..."} instead, and the command exits 1 at the end. FILE may be - (standard input).

    Example: flask --app wsgi monitor classify tests/corpus/redirected.jsonl
    """
    from monitor.attempts.classify_lines import classify_line

    bad = 0
    for number, raw in enumerate(file, 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text, out = None, {"error": _("Dòng không phải văn bản UTF-8.")}
        if text is not None:
            if not text.strip():
                continue
            try:
                out = classify_line(text)
            except UserError as exc:
                out = {"error": exc.message}
            except Exception as exc:  # noqa: BLE001 — one odd line must not stop the others
                error = f"{type(exc).__name__}: {exc}"
                out = {"error": _("Không phân loại được dòng này: %(error)s", error=error)}
        if "error" in out:
            bad += 1
            out = {"line": number, "error": _("Dòng %(line)s: %(error)s", line=number, error=out["error"])}
        click.echo(json.dumps(out, ensure_ascii=False))
    if bad:
        click.echo(_("%(count)s dòng không hợp lệ.", count=bad), err=True)
        sys.exit(1)


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise click.ClickException(_("%(option)s: ngày “%(day)s” không hợp lệ: viết theo dạng NNNN-TT-NN, ví dụ 2026-03-02.",
                                     option=option, day=text)) from None


@monitor_cli.command("reclassify")
@click.option("--from", "start", required=True, metavar="YYYY-MM-DD", help="Ngày đầu (giờ Việt Nam, theo ngày dự kiến gọi).")
@click.option("--to", "end", required=True, metavar="YYYY-MM-DD", help="Ngày cuối, tính cả ngày này.")
@click.option("--dry-run", is_flag=True, help="Chỉ cho biết sẽ thay đổi gì, không ghi.")
def reclassify_command(start, end, dry_run):
    """Re-run the current rules over ended test calls planned in the date range; print what changed.

    Every change is kept in the call's history with the rules' version; retests, confirmations and flags
    follow the new outcome. Outcomes an inspector decided, and calls with a dispute, are never changed.

    Example: flask --app wsgi monitor reclassify --from 2026-11-01 --to 2026-11-30 --dry-run
    """
    from monitor.attempts.reclassify import reclassify

    first, last = _day(start, "--from"), _day(end, "--to")
    if first > last:
        raise click.ClickException(_("Ngày đầu %(start)s sau ngày cuối %(end)s.", start=start, end=end))
    settings = _settings()
    db = connect(settings.database)
    try:
        result = reclassify(db, first, last, now=utcnow(), settings=settings, dry_run=dry_run)
    finally:
        db.conn.close()
    _print_reclassified(result, start, end, dry_run)


def _print_reclassified(result, start: str, end: str, dry_run: bool) -> None:
    click.echo(_("Quy tắc phiên bản %(version)s: đã đọc %(count)s lần gọi đã kết thúc, dự kiến gọi từ %(start)s đến %(end)s.",
                 version=result.version, count=result.read, start=start, end=end))
    changed = sum(result.changed.values())
    if dry_run:
        click.echo(_("Chạy thử, chưa ghi gì: sẽ thay đổi %(count)s lần gọi.", count=changed))
    else:
        click.echo(_("Đã thay đổi %(count)s lần gọi.", count=changed))
    for (old, new, held), count in sorted(result.changed.items(), key=lambda item: (-item[1], item[0])):
        names = dict(old=labels.outcome(old), old_code=old, new=labels.outcome(new), new_code=new, count=count)
        if held:
            click.echo("  " + _("%(old)s (%(old_code)s) → %(new)s (%(new_code)s), giữ lại để xem xét: %(count)s", **names))
        else:
            click.echo("  " + _("%(old)s (%(old_code)s) → %(new)s (%(new_code)s): %(count)s", **names))
    click.echo(_("Không đổi: %(count)s.", count=result.unchanged))
    for why, count in sorted(result.skipped.items()):
        click.echo(_("Bỏ qua %(count)s: %(why)s.", count=count, why=labels.reclassify_skip(why)))
