"""Java ``.properties`` files that ``java.util.Properties.load`` reads back exactly: the
Kafka and Connect worker configs, and the secrets Connect's FileConfigProvider reads."""

from __future__ import annotations


def properties_text(props: dict[str, object]) -> str:
    """``props`` as a Java properties file that ``Properties.load`` reads back exactly."""
    return "".join(f"{_escape(str(key), key=True)}={_escape(str(value))}\n" for key, value in props.items())


_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f"}


def _escape(text: str, key: bool = False) -> str:
    out = []
    for i, ch in enumerate(text):
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch == " " and (key or i == 0):
            out.append("\\ ")  # the loader drops a value's leading blanks and ends a key at one
        elif key and ch in "=:#!":
            out.append("\\" + ch)
        elif not " " <= ch <= "~":
            # \uXXXX per UTF-16 unit reads the same whether the file is loaded as Latin-1 or UTF-8.
            units = ch.encode("utf-16-be")
            out.extend(f"\\u{units[j]:02x}{units[j + 1]:02x}" for j in range(0, len(units), 2))
        else:
            out.append(ch)
    return "".join(out)
