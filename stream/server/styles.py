"""Style catalog: names + descriptions for the picker, a stylizer factory, thumbnails.

The stylizer is injected (``Callable[[Tensor], Tensor]`` per style name) so tests can run the
server with a deterministic stylizer; the default catalog reads ``models.styles.registry``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from models.errors import UserError
from stream.server.worker import StylizerFactory, StyleWorker


@dataclass(frozen=True)
class StyleInfo:
    name: str
    description: str = ""
    # Members of a multi-style network: the network's name and all its member styles, in order
    # (a stream on this style can blend them; see stream.server.settings).
    network: str = ""
    members: tuple[str, ...] = ()
    preserve_color: float = 0.0  # what rendering this style does by default (models.nets.color); the page's toggle


@dataclass(frozen=True)
class StyleCatalog:
    styles: tuple[StyleInfo, ...]
    factory: StylizerFactory

    def __post_init__(self) -> None:
        if not self.styles:
            raise UserError("no styles available: expected bundled styles (models/styles) or user styles "
                            "(`stylecast styles`, STYLECAST_STYLES_DIR), got none")

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.styles]

    @property
    def default(self) -> str:
        return self.styles[0].name

    def members(self, name: str) -> tuple[str, ...]:
        """Member styles of ``name``'s multi-style network (empty for a single style)."""
        for s in self.styles:
            if s.name == name:
                return s.members
        return ()

    def validate(self, name: object) -> str:
        if not isinstance(name, str) or name not in self.names:
            raise UserError(f"unknown style {name!r}; expected one of {self.names}")
        return name


def registry_catalog(*, device: str = "cpu", extra: Sequence[str] = (),
                     preserve_color: float | None = None) -> StyleCatalog:
    """Catalog from ``models.styles.registry`` (bundled + user styles); ``extra`` adds style files by path.
    ``preserve_color``: for every style (None: each file's own setting; see models.nets.color)."""
    from models.styles import registry

    listed = registry.list_styles()
    entries = [StyleInfo(e.name, e.description, e.network, e.members,
                         e.preserve_color if preserve_color is None else preserve_color) for e in listed]

    def colour(spec: str | Path) -> float:  # the server-wide override, else what the file asks for
        return registry.style_preserve_color(spec) if preserve_color is None else preserve_color

    for path in extra:
        registry.resolve_style(path)  # raises UserError naming the available styles
        entries.append(StyleInfo(path, "user file", preserve_color=colour(path)))
    default = getattr(registry, "DEFAULT_STYLE", None)
    entries.sort(key=lambda e: (e.name != default, e.name))  # default first: it is the initial style
    paths = {e.name: e.path for e in listed if e.network}
    networks: dict[str, Any] = {}  # one loaded copy per multi-style file; touched by the worker thread only

    def factory(name: str):  # runs on the worker thread
        path = paths.get(name)
        if path is None:
            return registry.load_stylizer(name, device=device, preserve_color=preserve_color)
        net = networks.get(str(path))
        if net is None:
            net = networks[str(path)] = registry.load_network(path, device=device)
        # every member of one network shares its weights: switching members loads nothing
        return registry.with_preserve_color(registry.stylizer_for(net, name.partition(":")[2]), colour(path))

    return StyleCatalog(tuple(entries), factory)


def thumbnail_source(size: tuple[int, int] = (144, 192)) -> np.ndarray:
    """The image every thumbnail stylizes (a real photograph, the cat of the demo clip: styles read
    best on what users film), so thumbnails compare styles on the same content."""
    from models.io.photo_clip import photo_still

    return photo_still("chelsea.jpg", size)


def render_thumbnail(worker: StyleWorker, source: np.ndarray, name: str) -> bytes:
    """JPEG bytes of ``source`` stylized with ``name``; call on the worker thread."""
    import cv2

    out = worker.stylize_sync(source, name).frame
    ok, buf = cv2.imencode(".jpg", out[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise RuntimeError(f"JPEG encoding of the {name!r} thumbnail failed")
    return buf.tobytes()
