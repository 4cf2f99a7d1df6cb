"""The one exception type that means "the user gave us something wrong".

Every stage raises :class:`UserError` for bad input; the CLI prints it as a single
``socksort: error: ...`` line and exits with status 2, without a traceback.
"""


class UserError(Exception):
    """Bad input or configuration, explained in one line that names what is wrong."""


def first_line(exc: BaseException) -> str:
    """An exception's first line, for a one-line error (library messages run to pages)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
