"""Query results drawn as the ksql CLI draws them: a boxed table of columns and rows."""

from __future__ import annotations

import json


def cell(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def rule(widths: list[int]) -> str:
    return "+" + "+".join("-" * w for w in widths) + "+"


def line(cells, widths: list[int]) -> str:
    return "|" + "|".join(text.ljust(w) for text, w in zip(cells, widths)) + "|"


def widths_for(columns, rows) -> list[int]:
    texts = [list(columns)] + [[cell(v) for v in row] for row in rows]
    return [max(len(r[i]) for r in texts) + 1 for i in range(len(columns))]


def table(columns, rows) -> str:
    """The whole table: rule, header, rule, rows, rule."""
    widths = widths_for(columns, rows)
    out = [rule(widths), line(columns, widths), rule(widths)]
    out += [line([cell(v) for v in row], widths) for row in rows]
    out.append(rule(widths))
    return "\n".join(out)
