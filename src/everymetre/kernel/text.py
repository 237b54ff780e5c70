"""Text hygiene at the boundary: what no field of ours may hold.

Refused everywhere: NUL and the other C0 and C1 control characters (terminal escapes such as ESC[31m among
them), the bidirectional embedding, override and isolate characters (U+202A-U+202E, U+2066-U+2069: they make a
name read differently on screen from what it is), and lone surrogates (not text; PostgreSQL cannot store them,
nor NUL). A multi-line text (a description, a note, reasons) may hold tab, line feed and carriage return.
"""

from __future__ import annotations

import re

_BIDI = "\u202a-\u202e\u2066-\u2069"
_SURROGATES = "\ud800-\udfff"
_CONTROL_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}{_SURROGATES}]")
_CONTROL_LINES = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}{_SURROGATES}]")
# the same sets as regular-expression source for engines other than Python's (polars, PostgreSQL)
LINE_PATTERN = r"[\x00-\x1f\x7f-\x9f\x{202A}-\x{202E}\x{2066}-\x{2069}]"
LINES_PATTERN = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\x{202A}-\x{202E}\x{2066}-\x{2069}]"

# and as JSON Schema (ECMA-262) patterns, for the API's documentation
LINE_JSON_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*$"
LINES_JSON_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*$"

CONTROL = "control characters (such as NUL or terminal escapes) are not allowed"
BIDI = "text-direction override characters (U+202A-U+202E, U+2066-U+2069) are not allowed"
LINE_BREAK = "line breaks and tabs are not allowed here"


def text_problem(value: str, multiline: bool = False) -> str | None:
    """Why the text cannot be accepted, or None. The first offending character decides the message."""
    m = (_CONTROL_LINES if multiline else _CONTROL_LINE).search(value)
    if m is None:
        return None
    ch = m.group()
    if "\u202a" <= ch <= "\u202e" or "\u2066" <= ch <= "\u2069":
        return BIDI
    if ch in "\t\n\r":
        return LINE_BREAK
    return CONTROL


def clean_line(value: str) -> str:
    """A one-line text, checked (ValueError with the reason otherwise): for validators."""
    if problem := text_problem(value):
        raise ValueError(problem)
    return value


def clean_lines(value: str) -> str:
    """A multi-line text, checked (tab and line breaks allowed)."""
    if problem := text_problem(value, multiline=True):
        raise ValueError(problem)
    return value
