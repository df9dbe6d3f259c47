"""Jinja filters for the monitor's pages: the label of every code (outcome, band, purpose, attempt state,
verdict, dispute and alert status, provider values) in the reader's language, from monitor/labels.py."""
from monitor import labels


def register(app) -> None:
    for name, label in labels.FILTERS.items():
        app.add_template_filter(label, name)
