"""Jinja filters for the monitor's pages: band, outcome and purpose labels in the reader's language."""
from flask_babel import get_locale

from monitor.scheduling.bands import LABELS as BAND_LABELS
from monitor.attempts.outcomes import LABELS_EN, LABELS_VI

BAND_LABELS_EN = {
    "office": "Office hours", "lunch": "Lunch break", "evening": "Evening", "night": "Night",
    "weekend": "Weekend", "holiday": "Public holiday",
}
PURPOSE_LABELS = {"scheduled": "Theo lịch", "retest": "Gọi lại xác nhận", "manual": "Gọi thủ công"}
PURPOSE_LABELS_EN = {"scheduled": "Scheduled", "retest": "Confirming retest", "manual": "Manual"}


def _label(value, vi: dict, en: dict) -> str:
    labels = en if str(get_locale()) == "en" else vi
    return labels.get(value or "", value or "")


def band(value: str | None) -> str:
    return _label(value, BAND_LABELS, BAND_LABELS_EN)


def outcome(value: str | None) -> str:
    return _label(value, LABELS_VI, LABELS_EN)


def purpose(value: str | None) -> str:
    return _label(value, PURPOSE_LABELS, PURPOSE_LABELS_EN)


def register(app) -> None:
    app.add_template_filter(band, "band")
    app.add_template_filter(outcome, "outcome")
    app.add_template_filter(purpose, "purpose")
