"""Jinja filters for the monitor's pages: band and outcome labels."""
from .bands import LABELS as BAND_LABELS
from .outcomes import LABELS_VI


def band(value: str | None) -> str:
    return BAND_LABELS.get(value or "", value or "")


def outcome(value: str | None) -> str:
    return LABELS_VI.get(value or "", value or "")


PURPOSE_LABELS = {"scheduled": "Theo lịch", "retest": "Gọi lại xác nhận", "manual": "Gọi thủ công"}


def purpose(value: str | None) -> str:
    return PURPOSE_LABELS.get(value or "", value or "")


def register(app) -> None:
    app.add_template_filter(purpose, "purpose")
    app.add_template_filter(band, "band")
    app.add_template_filter(outcome, "outcome")
