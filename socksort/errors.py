"""The one exception type that means "the user gave us something wrong".

Every stage raises :class:`UserError` for bad input; the CLI prints it as a single
``socksort: error: ...`` line and exits with status 2, without a traceback.
"""


class UserError(Exception):
    """Bad input or configuration, explained in one line that names what is wrong."""
