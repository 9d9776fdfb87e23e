"""Text that UTF-8 can hold, from strings that may carry lone surrogates.

On POSIX, pytest builds node ids from file names, and a file name that is not UTF-8 reaches
Python with surrogate escapes: byte 0xff becomes ``"\\udcff"``. UTF-8 cannot encode those, so
SQLite, JSON written as UTF-8, CSV and Markdown would fail on them. Where a value must be plain
text, such bytes are written as Python's backslash escapes (``test_\\xff.py``); JSON documents
keep the exact string as a JSON escape (``"\\udcff"``) instead.
"""

from __future__ import annotations

__all__ = ["utf8_safe"]


def utf8_safe(text: str) -> str:
    """``text`` unchanged when UTF-8 can hold it; else its escaped bytes as ``\\xNN`` and any
    other lone surrogate as ``\\udNNN``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        return text
    escaped = []
    for char in text:
        if "\udc80" <= char <= "\udcff":  # a byte that was not UTF-8 (surrogateescape)
            escaped.append(f"\\x{ord(char) - 0xDC00:02x}")
        elif "\ud800" <= char <= "\udfff":
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return "".join(escaped)
