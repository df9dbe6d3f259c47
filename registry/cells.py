"""Spreadsheet cells that cannot run code (CSV or formula injection).

A spreadsheet program reads a cell that begins with "=", "+", "-" or "@" (and, in some programs, a tab or a
carriage return) as a formula, which can fetch URLs or run commands when the file is opened. Unit names,
what was heard on a call, inspectors' reasons and agencies' explanations are typed by people, so every
export that a spreadsheet opens writes such text with a leading apostrophe, the sign spreadsheets themselves
use for "this is text" (OWASP, CSV Injection). Numbers stay numbers; the JSON exports keep the raw text.
"""
from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """The value as an exported cell holds it: text that starts like a formula gets a leading apostrophe.

    Anything that is not text (numbers, including negative ones, dates, None) is returned unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value

