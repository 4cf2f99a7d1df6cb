"""TIMESTAMPTOSTRING's formatting: java.time.DateTimeFormatter patterns over epoch millis.

UTC unless a zone is given (ksqlDB uses the server's zone, UTC in its tests); time-of-day
patterns in UTC are formatted from integer arithmetic, without building a datetime.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timezone
from typing import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_FORMAT_CACHE: dict[str, Callable] = {}


def _compile_pattern(pattern: str) -> list:
    parts = []
    for m in re.finditer(r"'(?:[^']|'')*'|([A-Za-z])\1*|.", pattern):
        text = m.group()
        if text.startswith("'"):
            parts.append(("lit", text[1:-1].replace("''", "'") if text != "''" else "'"))
        elif text[0].isalpha():
            parts.append(("field", text))
        else:
            parts.append(("lit", text))
    return parts


# Pattern letters that print a number, zero-padded to the letter's repeat count.
_NUMERIC_FIELDS = {
    "d": lambda dt: dt.day, "D": lambda dt: dt.timetuple().tm_yday,
    "H": lambda dt: dt.hour, "h": lambda dt: (dt.hour % 12) or 12,
    "k": lambda dt: dt.hour or 24, "K": lambda dt: dt.hour % 12,
    "m": lambda dt: dt.minute, "s": lambda dt: dt.second,
}


def _field(dt: datetime, field: str) -> str:
    letter, width = field[0], len(field)
    numeric = _NUMERIC_FIELDS.get(letter)
    if numeric is not None:
        return f"{numeric(dt):0{width}d}"
    if letter in "yu":
        return f"{dt.year % 100:02d}" if width == 2 else f"{dt.year:0{width}d}"
    if letter in "ML":
        if width >= 3:
            return dt.strftime("%B" if width >= 4 else "%b")
        return f"{dt.month:0{width}d}"
    if letter == "S":
        return f"{dt.microsecond // 1000:03d}"[:width].ljust(width, "0")
    if letter == "a":
        return "AM" if dt.hour < 12 else "PM"
    if letter == "E":
        return dt.strftime("%A") if width >= 4 else dt.strftime("%a")
    if letter == "z":
        return dt.tzname() or "UTC"
    if letter in "XZx":
        return _offset(dt, letter, width)
    if letter == "V":
        return str(dt.tzinfo)
    raise ValueError(f"unsupported pattern letter {letter}")


def _offset(dt: datetime, letter: str, width: int) -> str:
    """Zone offset as java.time prints it for Z (+HHMM), X (Z when zero) and x."""
    off = dt.utcoffset()
    total = int(off.total_seconds()) if off is not None else 0
    if total == 0 and letter == "X":
        return "Z"
    sign = "+" if total >= 0 else "-"
    hh, mm = divmod(abs(total) // 60, 60)
    if letter == "Z":
        return f"{sign}{hh:02d}:{mm:02d}" if width >= 5 else f"{sign}{hh:02d}{mm:02d}"
    if width == 1:
        return f"{sign}{hh:02d}" + (f"{mm:02d}" if mm else "")
    if width == 2 or width == 4:
        return f"{sign}{hh:02d}{mm:02d}"
    return f"{sign}{hh:02d}:{mm:02d}"


def _field_formatter(field: str):
    """``datetime -> text`` for one pattern field, as :func:`_field` prints it."""
    letter, width = field[0], len(field)
    numeric = _NUMERIC_FIELDS.get(letter)
    if numeric is not None:
        spec = f"0{width}d"
        return lambda dt: format(numeric(dt), spec)
    if letter == "S":
        return lambda dt: format(dt.microsecond // 1000, "03d")[:width].ljust(width, "0")
    return lambda dt: _field(dt, field)


# Fields that depend on the time of day alone. In UTC they are arithmetic on the
# milliseconds since midnight: the pattern becomes one str.format template over
# (H, h, k, K, m, s, SSS, S, SS), with no datetime to build.
_TIME_OF_DAY_SLOTS = {"H": 0, "h": 1, "k": 2, "K": 3, "m": 4, "s": 5}
_DAY_MS = 86_400_000
_MAX_MILLIS = 253_402_300_800_000       # year 10000: datetime's range ends before it


def _time_of_day_template(parsed: list) -> str | None:
    """The str.format template of a pattern, or None if a field needs the date."""
    template = []
    for kind, text in parsed:
        if kind == "lit":
            template.append(text.replace("{", "{{").replace("}", "}}"))
            continue
        letter, width = text[0], len(text)
        if letter in _TIME_OF_DAY_SLOTS:
            template.append(f"{{{_TIME_OF_DAY_SLOTS[letter]}:0{width}d}}")
        elif letter == "S":
            # Fraction digits: the first `width` of the three millisecond digits, zero-filled.
            slot = {1: 7, 2: 8}.get(width, 6)
            template.append(f"{{{slot}:0{min(width, 3)}d}}" + "0" * max(width - 3, 0))
        else:
            return None
    return "".join(template)


def _formatter(pattern: str) -> tuple:
    """(``datetime -> text``, time-of-day template or None) for a pattern, built once per
    pattern (a query formats every record with the same one)."""
    formatter = _FORMAT_CACHE.get(pattern)
    if formatter is None:
        if len(_FORMAT_CACHE) >= 256:
            _FORMAT_CACHE.clear()           # patterns read from data must not grow it forever
        parsed = _compile_pattern(pattern)
        parts = [(lambda dt, text=text: text) if kind == "lit" else _field_formatter(text)
                 for kind, text in parsed]
        formatter = _FORMAT_CACHE[pattern] = (
            lambda dt: "".join([part(dt) for part in parts]), _time_of_day_template(parsed))
    return formatter


def timestamp_to_string(millis: int, pattern: str, zone: str | None = None) -> str:
    tz = timezone.utc if zone is None else _zone(zone)
    at_datetime, template = _formatter(pattern)
    if (template is not None and tz is timezone.utc and type(millis) is int
            and 0 <= millis < _MAX_MILLIS):
        ms = millis % _DAY_MS
        hour = ms // 3_600_000
        frac = ms % 1000
        return template.format(hour, (hour % 12) or 12, hour or 24, hour % 12,
                               ms // 60_000 % 60, ms // 1000 % 60, frac, frac // 100, frac // 10)
    dt = datetime.fromtimestamp(millis / 1000, tz)
    dt = dt.replace(microsecond=(millis % 1000) * 1000)
    return at_datetime(dt)


@functools.lru_cache(maxsize=64)
def _zone(name: str):
    if name.upper() in ("UTC", "Z", "GMT"):
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"Unknown time-zone ID: {name}") from None


