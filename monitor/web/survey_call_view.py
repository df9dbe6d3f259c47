"""What an inspector sees of an automated survey call (an attempt of purpose 'survey') on the attempt page.

A survey call dialled a citizen whose dossier the unit handled: it is no test of the unit's hotline, so its page
is read-only (no review, no dispute), for inspectors only (unit_view.visible_to), and the citizen's number is
masked wherever it appears — the number dialled, the provider's events, the outcome's detail. What the citizen
answered (keypad digits, speech) is not shown either: the survey's results show the answers, anonymously.
"""
from __future__ import annotations

import json
import re

from monitor.surveys.privacy import MASK, mask_phone, national_digits

# Event parameters that carry what the citizen said or pressed (Twilio's and the simulator's names).
ANSWER_PARAMS = frozenset({"Digits", "SpeechResult", "UnstableSpeechResult", "TranscriptionText", "Confidence"})
# Fields of the row never shown for a survey call: the citizen's words, and the recording of them.
HIDDEN_FIELDS = ("transcript", "speech_confidence", "recording_url")
# A phone number as it may be written inside a text: digits with spaces, dots, dashes or brackets between.
_NUMBER_IN_TEXT = re.compile(r"\+?\d[\d .\-()]{6,}\d")


def mask_number_in(text, number: str):
    """The text with every writing of `number` in it masked (other numbers kept); a value that is not text (a
    number, a list in an event's payload) is read as its JSON text first."""
    if text is None or text == "":
        return text
    if not isinstance(text, str):
        text = json.dumps(text, ensure_ascii=False)
    # The number without its leading 0 is in every way of writing it (0912…, +84 912…, 84912…); a run of digits
    # holding it is masked whole, even when another number is written right beside it: better one number too many.
    core = national_digits(number).removeprefix("0")
    if len(core) < 6:
        return text
    return _NUMBER_IN_TEXT.sub(lambda m: mask_phone(number) if core in re.sub(r"\D", "", m.group()) else m.group(),
                               text)


def masked_call(row: dict) -> dict:
    """The attempt row as its page shows it: the number masked, the citizen's words and recording left out."""
    number = row["number"]
    shown = {**row, **{field: None for field in HIDDEN_FIELDS}}
    shown["number"] = mask_phone(number) or MASK
    for field in ("outcome_detail", "forwarded_from", "error"):
        if field in shown:
            shown[field] = mask_number_in(shown[field], number)
    return shown


def masked_events(events: list[dict], number: str) -> list[dict]:
    """The provider's events with the citizen's number masked in every parameter and the answers left out."""
    return [{**event, "params": {key: MASK if key in ANSWER_PARAMS else mask_number_in(value, number)
                                 for key, value in event["params"].items()}}
            for event in events]
