"""Command line: `flask --app wsgi monitor run|plan|call|attempts`."""
import json
import random
import secrets
import sys
from datetime import date, timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from registry.clock import parse_iso, utcnow
from registry.db import connect

from monitor.attempts import outcomes
from monitor.attempts import STATES, get_attempt
from monitor.scheduling.bands import LABELS as BAND_LABELS
from monitor.scheduling.bands import to_local, week_monday
from monitor.scheduling.dispatch import CallError, call_now, summary  # noqa: F401  (call_now: also used by the web button)
from monitor.scheduling.planner import plan_week
from monitor.providers import ProviderConfigError, make_provider

monitor_cli = AppGroup("monitor", help="Cuộc gọi kiểm tra: chạy bộ lập lịch, lập kế hoạch, gọi ngay, xem các lần gọi.")

EXCERPT = 48


def register(app):
    app.cli.add_command(monitor_cli)


def _config() -> dict:
    return dict(current_app.config)


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

    config = _config()

    def started(info):
        cfg = info["config"]
        click.echo(
            f"Bộ lập lịch đang chạy (nhà cung cấp: {info['provider']}, tối đa {cfg.get('CALLS_PER_SECOND')} cuộc/giây, "
            f"{cfg.get('MAX_CONCURRENT_CALLS')} cuộc cùng lúc"
            + (", chế độ trình diễn" if scheduler.demo_active(cfg) else "") + "). Ctrl-C để dừng."
        )

    try:
        code = scheduler.run(config, on_started=started)
    except (scheduler.SchedulerError, ProviderConfigError) as exc:
        raise click.ClickException(exc.message)
    click.echo("Bộ lập lịch đã dừng.")
    sys.exit(code)


@monitor_cli.command("plan")
@click.option("--week", "week", metavar="YYYY-MM-DD", help="Một ngày trong tuần cần lập (mặc định: tuần này và tuần sau).")
def plan_command(week):
    """Plan the week's test calls now (the scheduler also does it every hour); safe to run twice.

    Example: flask --app wsgi monitor plan --week 2026-03-02
    """
    config = _config()
    now = utcnow()
    if week:
        try:
            weeks = [week_monday(date.fromisoformat(week))]
        except ValueError:
            raise click.ClickException(f"Ngày “{week}” không hợp lệ: viết theo dạng NNNN-TT-NN, ví dụ 2026-03-02.")
    else:
        this_week = week_monday(to_local(now).date())
        weeks = [this_week, this_week + timedelta(days=7)]
    db = connect(config["DATABASE"])
    rng = random.Random(secrets.randbits(64))
    try:
        for monday in weeks:
            created = plan_week(db, monday, now=now, rng=rng, config=config)
            click.echo(f"Tuần bắt đầu {monday.isoformat()}: đã lập {created} lần gọi mới.")
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

    config = _config()
    db = connect(config["DATABASE"])
    try:
        try:
            provider = make_provider(config, make_sink(config))
        except ProviderConfigError as exc:
            raise click.ClickException(exc.message)
        try:
            result = call_now(db, config, unit_code, provider=provider, wait_seconds=timeout)
        except CallError as exc:
            raise click.ClickException(exc.message)
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
    click.echo(f"Lần gọi #{result['attempt']}: {result['unit_name']} ({result['unit']}), số {result['number']}")
    if not result["final"]:
        click.echo(f"Chưa có kết quả cuối cùng sau thời gian chờ. Trạng thái hiện tại: {result['state']}.")
    else:
        label = outcomes.LABELS_VI.get(result["outcome"], result["outcome"])
        click.echo(f"Kết quả: {label} ({result['outcome']})")
        if result["detail"]:
            click.echo(f"Chi tiết: {result['detail']}")
    if result["answer_seconds"] is not None:
        click.echo(f"Nghe máy sau: {result['answer_seconds']} giây")
    if result["sip_code"] is not None:
        click.echo(f"Mã SIP: {result['sip_code']}")
    if result["transcript"]:
        click.echo(f"Nghe được: “{result['transcript']}”")
    click.echo(f"Khung giờ: {BAND_LABELS.get(result['band'], result['band'])}; "
               f"bắt đầu {_local(result['started_at']) or '—'}, kết thúc {_local(result['ended_at']) or '—'} (giờ Việt Nam)")


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
    config = _config()
    db = connect(config["DATABASE"])
    try:
        where, params = [], []
        if unit_code:
            if not db.execute("SELECT 1 FROM units WHERE code = ?", [unit_code]).fetchone():
                raise click.ClickException(f"Không có đơn vị mã “{unit_code}”.")
            where.append("u.code = ?")
            params.append(unit_code)
        if state:
            where.append("a.state = ?")
            params.append(state)
        rows = db.execute_returning_dicts(
            "SELECT a.*, u.code AS unit_code, u.name AS unit_name FROM attempts a JOIN units u ON u.id = a.unit_id"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY a.planned_at DESC, a.id DESC LIMIT ?",
            params + [limit],
        )
    finally:
        db.conn.close()
    if as_json:
        click.echo(json.dumps([summary(row) for row in rows], ensure_ascii=False))
        return
    if not rows:
        click.echo("Không có lần gọi nào.")
        return
    header = ("#", "Đơn vị", "Số", "Dự kiến (giờ VN)", "Trạng thái", "Kết quả", "Nghe (s)", "SIP", "Xác nhận", "Nghe được")
    table = [header] + [_attempt_line(row) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header) - 1)]
    for line in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths)) + "  " + line[-1])


def _attempt_line(row: dict) -> tuple:
    confirmed = {None: "", 1: "có", 0: "không"}.get(row["confirmed"], str(row["confirmed"]))
    transcript = (row["transcript"] or "").replace("\n", " ")
    if len(transcript) > EXCERPT:
        transcript = transcript[: EXCERPT - 1] + "…"
    return (
        str(row["id"]), row["unit_code"], row["number"], _local(row["planned_at"])[:16], row["state"],
        row["outcome"] or "", "" if row["answer_seconds"] is None else f"{row['answer_seconds']:g}",
        "" if row["sip_code"] is None else str(row["sip_code"]), confirmed, transcript,
    )
