"""ksqlDB's "magic" timestamps: ROWTIME, WINDOWSTART and WINDOWEND compared with a string.

In WHERE and HAVING, `ROWTIME >= '2018-01-01T00:00:00.001'` compares with the
timestamp the string names, in milliseconds: ksqlDB rewrites the string literal into a
BIGINT before type-checking the clause (StatementRewriteForMagicPseudoTimestamp). The
string may be partial ('2018', '2018-01', '2018-01-01T10') and may end in a zone offset
('+0445', '-05:00') or 'Z'; it is UTC otherwise.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta, timezone

from socksort.ksql.sql import ast
from socksort.ksql.sql.errors import KsqlError

_COLUMNS = ("ROWTIME", "WINDOWSTART", "WINDOWEND")
_TIME_PATTERN = "HH:mm:ss.SSS"
_DATE_TIME = re.compile(r"(\d{4,9})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d\d\d)")
_OFFSET = re.compile(r"([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?")
_HELP = ("\nRequired format is: \"yyyy-MM-dd'T'HH:mm:ss.SSS\", with an optional numeric "
         "4-digit timezone, for example: '2020-05-26T23:59:58.000' or with tz: "
         "'2020-05-26T23:59:58.000+0200'. A trailing 'Z' instead of tz indicates the zero UTC "
         "offset. Partials are also supported, for example \"2020-05-26\"")


def rewrite(e):
    """``e`` with every string compared to ROWTIME, WINDOWSTART or WINDOWEND replaced by
    the BIGINT timestamp it names (a string that is no timestamp is ksqlDB's error)."""
    if isinstance(e, ast.BinaryOp):
        left, right = rewrite(e.left), rewrite(e.right)
        if e.op not in ("AND", "OR", "+", "-", "*", "/", "%"):
            if _magic(left):
                right = _timestamp_literal(right)
            elif _magic(right):
                left = _timestamp_literal(left)
        return ast.BinaryOp(e.op, left, right, e.pos)
    if isinstance(e, ast.UnaryOp):
        return ast.UnaryOp(e.op, rewrite(e.operand), e.pos)
    if isinstance(e, ast.IsNull):
        return ast.IsNull(rewrite(e.operand), e.negated, e.pos)
    if isinstance(e, ast.Case):
        return ast.Case(tuple((rewrite(c), rewrite(r)) for c, r in e.whens),
                        None if e.default is None else rewrite(e.default), e.pos)
    if isinstance(e, ast.FunctionCall):
        return ast.FunctionCall(e.name, tuple(rewrite(a) for a in e.args), e.star, e.pos)
    if isinstance(e, ast.Dereference):
        return ast.Dereference(rewrite(e.base), e.field, e.pos)
    if isinstance(e, ast.Subscript):
        return ast.Subscript(rewrite(e.base), rewrite(e.index), e.pos)
    return e


def _magic(e) -> bool:
    return isinstance(e, ast.ColumnRef) and e.name in _COLUMNS


def _timestamp_literal(e):
    if isinstance(e, ast.Literal) and e.type_name == "STRING":
        return ast.Literal(parse(e.value), "BIGINT", e.pos)
    return e


def parse(text: str) -> int:
    """Milliseconds since the epoch of a (partial) timestamp string, as ksqlDB's
    PartialStringToTimestampParser reads it."""
    if "T" in text:
        date, with_zone = text[:text.index("T")], text[text.index("T") + 1:]
        zone = _zone_part(with_zone)
        time = _complete_time(re.sub("Z$", "", with_zone[:len(with_zone) - len(zone)]))
    else:
        date, time, zone = _complete_date(text), _complete_time(""), ""
    try:
        tz = _offset(zone)
        return _epoch_millis(date + "T" + time, tz)
    except ValueError as exc:
        raise KsqlError(f"Failed to parse timestamp '{text}': {exc}{_HELP}") from None


def _zone_part(time: str) -> str:
    for sign in "+-":
        if sign in time:
            return time[time.index(sign):]
    return ""


def _complete_date(date: str) -> str:
    parts = date.split("-")
    if len(parts) == 1:
        return date + "-01-01"
    if len(parts) == 2:
        return date + "-01"
    return date


def _complete_time(time: str) -> str:
    if len(time) >= len(_TIME_PATTERN):
        return time
    return time + re.sub("[a-zA-Z]", "0", _TIME_PATTERN[len(time):])


def _offset(zone: str) -> timezone:
    if not zone.strip():
        return timezone.utc
    m = _OFFSET.fullmatch(zone)
    if m is None:
        raise ValueError(f"Invalid ID for ZoneOffset, invalid format: {zone}")
    sign = -1 if m.group(1) == "-" else 1
    hours, minutes, seconds = (int(g or 0) for g in m.groups()[1:])
    if hours > 18 or minutes > 59 or seconds > 59:
        raise ValueError(f"Zone offset out of range: {zone}")
    return timezone(sign * timedelta(hours=hours, minutes=minutes, seconds=seconds))


def _epoch_millis(text: str, tz: timezone) -> int:
    m = _DATE_TIME.fullmatch(text)
    if m is None:
        raise ValueError(f"Text '{text}' could not be parsed")
    year, month, day, hour, minute, second, milli = (int(g) for g in m.groups())
    if not 1 <= month <= 12 or not 1 <= day <= 31 or hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"Text '{text}' could not be parsed: invalid date or time")
    # java.time's SMART resolving moves a day past the month's end to its last day.
    day = min(day, calendar.monthrange(year, month)[1])
    moment = datetime(year, month, day, hour, minute, second, milli * 1000, tzinfo=tz)
    return int((moment - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(milliseconds=1))
