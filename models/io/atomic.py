"""The one atomic file writer: every output goes through a hidden temp sibling and a rename.

A reader (a player, a resumed job, a cache lookup) therefore never sees a half-written file, and a
crash or an error leaves the previous file untouched and no temp file behind. Files get normal
permissions (``0666 & ~umask``), unlike ``tempfile.mkstemp``'s owner-only 0600.
"""
from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def temp_sibling(path: Path, *, keep_suffix: bool = False) -> Path:
    """A hidden, unique temp name beside ``path``.

    By default it ends in ``.part`` (after the real suffix), so a crash leaves nothing that a
    ``*.png`` / ``*.flo`` listing would pick up; ``keep_suffix`` keeps the suffix last for writers
    that guess the format from the name (FFmpeg, OpenCV)."""
    token = secrets.token_hex(4)
    if keep_suffix:
        return path.with_name(f".{path.stem}.{token}.part{path.suffix}")
    return path.with_name(f".{path.name}.{token}.part")


@contextmanager
def atomic_path(path: str | Path, *, keep_suffix: bool = False) -> Iterator[Path]:
    """Yield a temp path to write; on success it replaces ``path``, on any exception it is removed.

        with atomic_path(out) as tmp:
            torch.save(state, tmp)
    """
    path = Path(path)
    tmp = temp_sibling(path, keep_suffix=keep_suffix)
    try:
        yield tmp
        publish(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def publish(tmp: Path, path: Path) -> None:
    """Give a finished temp file normal permissions and rename it onto ``path`` (atomic on one
    filesystem). For writers whose temp file outlives one ``with`` block (the video writer)."""
    if not tmp.exists():
        raise FileNotFoundError(f"the writer produced no file for {path}")
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, path)


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | Path, text: str) -> None:
    """``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _umask() -> int:
    # os.umask can only be read by setting it; restore at once (no other thread writes files with
    # a umask of its own in this process).
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
