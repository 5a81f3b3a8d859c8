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


def one_line_reason(exc: BaseException, *, with_type: bool = False, limit: int = 300) -> str:
    """An exception as one short line for an error message or a status field: the OS's
    ``strerror`` or the message's first line, white space folded; the exception's type name
    in front with ``with_type`` (for errors from deep inside a library) or when there is no text."""
    text = str(getattr(exc, "strerror", None) or exc).strip()
    first = " ".join(text.splitlines()[0].split()) if text else ""
    if with_type or not first:
        first = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return first[:limit]
