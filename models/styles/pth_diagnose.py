"""Why a file is not a loadable ``.pth`` state dict, in one line (``stylecast styles --import-pth``).

``torch.load(weights_only=True)`` fails on anything that is not a pickle of tensors with a long
message whose advice is to retry with ``weights_only=False`` (arbitrary code execution): wrong
for a file the user wants to import. Here the file itself is examined and described instead.
"""
from __future__ import annotations

import json
import re
import struct
import zipfile
from pathlib import Path

from models.errors import one_line_reason

_PICKLE_PROTOCOL = re.compile(rb"^\x80[\x02-\x05]")


def describe_bad_pth(path: Path, exc: BaseException) -> str:
    """What is wrong with ``path`` given the exception ``torch.load`` raised on it."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError as err:
        return f"cannot read the file ({err.strerror or err})"
    if size == 0:
        return "the file is empty"
    kind = _kind(path, head)
    if kind == "safetensors":
        return ("this is a .safetensors file, not a .pth: use it directly (-s PATH) or copy it into the styles "
                "directory if it is a stylecast checkpoint")
    text = str(exc)
    unsupported = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if unsupported:
        return (f"the file holds Python objects besides tensors ({unsupported.group(1)}), which are not loaded for "
                f"safety; expected a state dict saved with torch.save(model.state_dict(), PATH)")
    if kind == "zip-broken":
        return f"a PyTorch zip archive that is truncated or corrupt ({size} bytes)"
    if kind == "zip":
        return f"a PyTorch archive whose contents cannot be read ({_short(exc)})"
    if kind == "pickle":
        return f"a legacy PyTorch/pickle file that cannot be read: truncated or corrupt ({_short(exc)})"
    if kind == "text":
        return (f"a text file, not a PyTorch checkpoint (starts with {head[:24].decode('utf-8', 'replace')!r}); "
                f"expected a .pth saved with torch.save")
    return f"not a PyTorch checkpoint (starts with bytes {head[:8].hex(' ')}); expected a .pth saved with torch.save"


def _kind(path: Path, head: bytes) -> str:
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as z:
                z.namelist()
            return "zip"
        except (zipfile.BadZipFile, OSError, EOFError):
            return "zip-broken"
    if _PICKLE_PROTOCOL.match(head):
        return "pickle"
    if len(head) >= 9:
        (n,) = struct.unpack("<Q", head[:8])
        if head[8:9] == b"{" and 0 < n < 100_000_000:
            try:
                with open(path, "rb") as f:
                    f.seek(8)
                    json.loads(f.read(n))
                return "safetensors"
            except (ValueError, OSError):
                pass
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "binary"
    return "text" if all(c.isprintable() or c in "\t\r\n" for c in text) else "binary"


def _short(exc: BaseException) -> str:
    return one_line_reason(exc, with_type=True, limit=len(type(exc).__name__) + 2 + 120)
