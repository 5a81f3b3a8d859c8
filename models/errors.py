"""User-facing errors: the CLI prints them as one line, without a traceback."""
from __future__ import annotations


class UserError(Exception):
    """A mistake the user can fix (bad path, bad option, unsupported input).

    The message must say what was expected and what was found.
    """


class InputError(UserError, ValueError):
    """Input media or data that cannot be processed (corrupt, unsupported format)."""


class UserWarning_(UserWarning):
    """Something the user should know that does not stop the command (a truncated input, an
    adjusted output size). ``stylecast`` prints it as one line ``stylecast CMD: warning: ...``
    (models.cli); library callers get an ordinary Python warning they can filter or record."""


class TruncatedVideoWarning(UserWarning_):
    """A video file ended before the frames its header announces (cut short, partial download)."""
