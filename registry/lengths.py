"""How long a typed text may be: one table for the forms and for the domain functions behind them.

The forms show these limits next to their fields (WTForms Length); the domain functions refuse longer text
too, with the same Vietnamese message, so that a caller without a form (the command line, a script) meets
the same rule. The database keeps the data as given: these checks are what keeps it sensible.
"""
from __future__ import annotations

from flask_babel import gettext

from registry.errors import RegistryError

NAME = 200  # a unit's name
SHORT = 200  # a person's name, an e-mail address
ADDRESS = 300
NOTE = 2000  # reasons, notes, explanations


def check_length(text, limit: int, field: str) -> None:
    """RegistryError naming the field when the text is longer than the limit (anything not text passes)."""
    if isinstance(text, str) and len(text) > limit:
        raise RegistryError(gettext("Tối đa %(max)d ký tự.", max=limit), field=field)
