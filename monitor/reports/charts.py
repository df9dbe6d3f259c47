"""Charts as server-side SVG: no JavaScript, no style attributes (the CSP forbids them), readable in print.

Each chart has role="img", a <title> and a <desc> that states every value in words, and prints its values
as text beside the marks, so it reads without colour and without sight. Their words go through gettext: the
page draws them in the reader's language, the exports in Vietnamese.
"""
from __future__ import annotations

from flask_babel import gettext as _
from markupsafe import Markup, escape

FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"
COLOURS = ("#0b4f8a", "#a3171d", "#1d7a3a", "#8a5a00", "#5b3f8c", "#2f6f73")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "4 4", "1 2")
MARKERS = ("circle", "square", "diamond", "triangle", "circle", "square")


def percent(value: float | None, digits: int = 0) -> str:
    """0.856 → "86%" (Vietnamese decimal comma when digits > 0); None → "–"."""
    if value is None:
        return "–"
    return f"{value * 100:.{digits}f}%".replace(".", ",")


def _text(x, y, content, *, size=12, anchor="middle", weight="normal", fill="#1d2733") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-family="{FONT}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{fill}">{escape(content)}</text>')


def _open(chart_id: str, width: int, height: int, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="{chart_id}-title {chart_id}-desc" class="chart-svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]


def _axis(parts: list, left: float, right: float, top: float, bottom: float, *, target: float | None,
          low: float = 0.0) -> None:
    """Five horizontal grid lines from `low` to 100 % with labels, and the target line if any."""
    for step in range(5):
        level = low + (1 - low) * step / 4
        y = bottom - (bottom - top) * step / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#d5dde6" stroke-width="1"/>')
        parts.append(_text(left - 6, y + 4, percent(level), size=11, anchor="end", fill="#5b6b7c"))
    if target is not None and target >= low:
        y = bottom - (bottom - top) * (target - low) / (1 - low)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#a3171d" '
                     f'stroke-width="1.5" stroke-dasharray="6 4"/>')
        parts.append(_text(right, y - 5, _("Mức yêu cầu %(rate)s", rate=percent(target)), size=11, anchor="end", fill="#a3171d"))


def axis_floor(values) -> float:
    """Where a rate axis starts: 0 %, or 20/60/80 % (round steps of 20, 10 or 5 %) when every value is above it."""
    present = [v for v in values if v is not None]
    if not present:
        return 0.0
    lowest = min(present) - 0.02
    return max((floor for floor in (0.0, 0.2, 0.6, 0.8) if floor <= lowest), default=0.0)


def _interval_words(interval) -> str:
    if not interval or interval[0] is None:
        return ""
    return " " + _("(khoảng tin cậy 95%%: %(low)s–%(high)s)", low=percent(interval[0]), high=percent(interval[1]))


def _error_bar(parts: list, centre: float, top: float, bottom: float, low: float, high: float) -> float:
    """A vertical line from the interval's low to its high with caps; returns the y of its top."""
    y_low = bottom - (bottom - top) * max(0.0, min(1.0, low))
    y_high = bottom - (bottom - top) * max(0.0, min(1.0, high))
    parts.append(f'<g class="error-bar" stroke="#1d2733" stroke-width="1.5">'
                 f'<line x1="{centre:.1f}" y1="{y_low:.1f}" x2="{centre:.1f}" y2="{y_high:.1f}"/>'
                 f'<line x1="{centre - 6:.1f}" y1="{y_low:.1f}" x2="{centre + 6:.1f}" y2="{y_low:.1f}"/>'
                 f'<line x1="{centre - 6:.1f}" y1="{y_high:.1f}" x2="{centre + 6:.1f}" y2="{y_high:.1f}"/></g>')
    return y_high


def bar_chart(chart_id: str, title: str, bars: list[tuple], *,
              target: float | None = None, width: int = 640, height: int = 280) -> Markup:
    """Vertical bars of rates 0..1: bars are (label, rate or None, note such as "45/50 cuộc"), optionally with
    a fourth item, the rate's 95 % interval (low, high), drawn as an error bar and stated in the description."""
    left, right, top, bottom = 48, width - 12, 28, height - 56
    bars = [(*bar[:3], bar[3] if len(bar) > 3 else None) for bar in bars]
    parts = _open(chart_id, width, height, title, "; ".join(
        f"{label}: {percent(value, 1)}" + _interval_words(interval) + (f" ({note})" if note else "")
        for label, value, note, interval in bars
    ) or _("Không có số liệu."))
    _axis(parts, left, right, top, bottom, target=target)
    slot = (right - left) / max(len(bars), 1)
    bar_width = min(56, slot * 0.6)
    for i, (label, value, note, interval) in enumerate(bars):
        x = left + slot * i + (slot - bar_width) / 2
        centre = x + bar_width / 2
        if value is None:
            parts.append(_text(centre, bottom - 6, _("chưa gọi"), size=11, fill="#5b6b7c"))
        else:
            h = (bottom - top) * max(0.0, min(1.0, value))
            colour = "#0b4f8a" if target is None or value >= target else "#a3171d"
            parts.append(f'<rect x="{x:.1f}" y="{bottom - h:.1f}" width="{bar_width:.1f}" height="{h:.1f}" '
                         f'fill="{colour}"/>')
            label_y = bottom - h - 5
            if interval and interval[0] is not None:
                # The value goes beside the bar's top, so the error bar above it stays readable.
                label_y = min(label_y, _error_bar(parts, centre, top, bottom, *interval) - 5)
            parts.append(_text(centre, max(label_y, top - 14), percent(value), size=12, weight="bold"))
        parts.append(_text(centre, bottom + 17, label, size=12))
        if note:
            parts.append(_text(centre, bottom + 33, note, size=10, fill="#5b6b7c"))
    parts.append("</svg>")
    return Markup("".join(parts))


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    if kind == "square":
        return f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{colour}"/>'
    if kind == "diamond":
        return f'<polygon points="{x:.1f},{y - 5:.1f} {x + 5:.1f},{y:.1f} {x:.1f},{y + 5:.1f} {x - 5:.1f},{y:.1f}" fill="{colour}"/>'
    if kind == "triangle":
        return f'<polygon points="{x:.1f},{y - 5:.1f} {x + 5:.1f},{y + 4:.1f} {x - 5:.1f},{y + 4:.1f}" fill="{colour}"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>'


def line_chart(chart_id: str, title: str, x_labels: list[str], series: list[tuple[str, list[float | None]]], *,
               target: float | None = None, width: int = 640, height: int = 300) -> Markup:
    """Lines of rates over periods: series are (name, [rate or None per x label]); gaps where None.

    The axis starts higher than 0 % when every value is high (axis_floor), so month-to-month changes of a
    few points stay visible; the last value of each line is printed beside it and in the legend.
    """
    legend_rows = (len(series) + 1) // 2
    left, right, top, bottom = 48, width - 56, 28, height - 40 - 18 * legend_rows
    desc = "; ".join(
        f"{name}: " + ", ".join(f"{x} {percent(v, 1)}" for x, v in zip(x_labels, values)) for name, values in series
    ) or _("Không có số liệu.")
    parts = _open(chart_id, width, height, title, desc)
    low = axis_floor([v for _, values in series for v in values] + ([target] if target is not None else []))
    _axis(parts, left, right, top, bottom, target=target, low=low)
    step = (right - left) / max(len(x_labels) - 1, 1)

    def xy(i, value):
        x = left + step * i if len(x_labels) > 1 else (left + right) / 2
        return x, bottom - (bottom - top) * max(0.0, min(1.0, (value - low) / (1 - low)))

    for i, label in enumerate(x_labels):
        parts.append(_text(xy(i, low)[0], bottom + 16, label, size=11, fill="#5b6b7c"))
    ends = []
    for k, (name, values) in enumerate(series):
        colour, dash, marker = COLOURS[k % len(COLOURS)], DASHES[k % len(DASHES)], MARKERS[k % len(MARKERS)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        segment: list[str] = []
        for i, value in enumerate(values + [None]):
            if value is not None:
                segment.append("{:.1f},{:.1f}".format(*xy(i, value)))
                continue
            if len(segment) > 1:
                parts.append(f'<polyline points="{" ".join(segment)}" fill="none" stroke="{colour}" '
                             f'stroke-width="2"{dash_attr}/>')
            segment = []
        for i, value in enumerate(values):
            if value is not None:
                parts.append(_marker(marker, *xy(i, value), colour))
        last = next(((i, v) for i, v in reversed(list(enumerate(values))) if v is not None), None)
        if last:
            ends.append([xy(*last)[1], colour, percent(last[1])])
        lx = left + (k % 2) * ((right - left) / 2)
        ly = bottom + 34 + 18 * (k // 2)
        parts.append(f'<line x1="{lx:.1f}" y1="{ly - 4:.1f}" x2="{lx + 24:.1f}" y2="{ly - 4:.1f}" stroke="{colour}" '
                     f'stroke-width="2"{dash_attr}/>')
        parts.append(_marker(marker, lx + 12, ly - 4, colour))
        label = name + (f" ({percent(last[1], 1)} {x_labels[last[0]]})" if last else " (" + _("chưa có số liệu") + ")")
        parts.append(_text(lx + 30, ly, label, size=11, anchor="start"))
    # Last values beside the lines, nudged apart so they never overlap.
    ends.sort()
    for i in range(1, len(ends)):
        ends[i][0] = max(ends[i][0], ends[i - 1][0] + 12)
    for y, colour, text in ends:
        parts.append(_text(right + 6, y + 4, text, size=10, anchor="start", fill=colour))
    parts.append("</svg>")
    return Markup("".join(parts))
