"""User-facing errors: the CLI prints them as one line, without a traceback."""
from __future__ import annotations


class UserError(Exception):
    """A mistake the user can fix (bad path, bad option, unsupported input).

    The message must say what was expected and what was found.
    """


class InputError(UserError, ValueError):
    """Input media or data that cannot be processed (corrupt, unsupported format)."""
