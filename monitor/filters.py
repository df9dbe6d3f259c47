"""Jinja filters for the monitor's pages: band and outcome labels."""

BAND_LABELS_VI = {
    "office": "Giờ hành chính",
    "lunch": "Nghỉ trưa",
    "evening": "Buổi tối",
    "night": "Ban đêm",
    "weekend": "Cuối tuần",
    "holiday": "Ngày lễ, Tết",
}


def band(value: str | None) -> str:
    return BAND_LABELS_VI.get(value or "", value or "")


def outcome(value: str | None) -> str:
    from . import outcomes  # imported late: the filters are registered before any page needs them

    return outcomes.LABELS_VI.get(value or "", value or "")


def register(app) -> None:
    app.add_template_filter(band, "band")
    app.add_template_filter(outcome, "outcome")
