"""How much of a client's input an error answer repeats, and in what form.

A 422 shows the refused value so the client sees what was read, but the value is the client's:
it may be a list of a million readings, a number of 4,000 digits, or a string holding a lone
UTF-16 surrogate (JSON ``"\\ud800"``), which UTF-8 cannot encode. Every value shown goes
through :func:`excerpt`: JSON-like text of bounded length, built piece by piece (a huge list
costs what is shown, not its size), surrogates written as escapes.
"""

from __future__ import annotations

import json
import math
from typing import Any

#: Characters of one refused value shown (in ``msg`` and again in ``input``).
VALUE_EXCERPT = 80


def safe_text(text: str) -> str:
    """``text`` with lone UTF-16 surrogates written as ``\\udXXX`` escapes (valid UTF-8)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def digits(value: int) -> str:
    """How many digits an integer has, as text (Python will not print one of over 4,300)."""
    try:
        return f"{len(str(abs(value))):,}"
    except ValueError:
        return f"about {int(abs(value).bit_length() * math.log10(2)) + 1:,}"


def _scalar(value: Any, room: int) -> str:
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value) if value.bit_length() < 200 else f"<a number of {digits(value)} digits>"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return repr(value) if math.isfinite(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, bytes | bytearray):
        value = bytes(value[: room + 1]).decode("utf-8", errors="replace")
    if isinstance(value, str):
        return safe_text(json.dumps(value[: room + 1], ensure_ascii=False))
    return safe_text(repr(value)[: room + 1])


def excerpt(value: Any, room: int = VALUE_EXCERPT) -> str:
    """``value`` as JSON-like text of at most ``room`` characters, cut with ``…`` when longer."""
    pieces: list[str] = []
    size = 0

    def emit(piece: str) -> bool:
        nonlocal size
        pieces.append(piece)
        size += len(piece)
        return size <= room

    def walk(item: Any) -> bool:  # False once there is no room left
        if isinstance(item, dict):
            if not emit("{"):
                return False
            for i, (key, inner) in enumerate(item.items()):
                if (i and not emit(", ")) or not emit(_scalar(str(key), room) + ": "):
                    return False
                if not walk(inner):
                    return False
            return emit("}")
        if isinstance(item, list | tuple):
            if not emit("["):
                return False
            for i, inner in enumerate(item):
                if (i and not emit(", ")) or not walk(inner):
                    return False
            return emit("]")
        return emit(_scalar(item, room))

    walk(value)
    text = "".join(pieces)
    return text if len(text) <= room else text[: max(room - 1, 0)] + "…"


def echo(value: Any, shown: str, room: int = VALUE_EXCERPT) -> Any:
    """The ``input`` of a 422 entry: the value itself when short and JSON-safe, else ``shown``."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float) and shown == repr(value):
        return value
    if isinstance(value, str) and len(value) <= room:
        return safe_text(value)
    return shown
