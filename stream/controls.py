"""Keyboard control of `stylecast live` while it runs (keys pressed in the preview window).

A performer switches styles, colours and flicker reduction without restarting: ``n``/``p`` next
or previous style, ``1``-``9`` a style by position, ``c`` keep the camera's colours on/off, ``t``
temporal blending on/off, ``h`` this help. The keys arrive on the loop's model thread (the window
sink is written there), so changing ``loop.stylizer``/``loop.temporal`` between two frames needs
no lock. A style change starts the temporal history over: blending the new style with the old
style's previous output would ghost (as on the web page). Stylizers are loaded once and cached.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

from torch import Tensor

Stylizer = Callable[[Tensor], Tensor]
HELP = "keys: n/p next/previous style, 1-9 style by number, c colours, t flicker reduction, h help, q quit"


class Controlled(Protocol):  # what LiveLoop exposes
    stylizer: Stylizer
    temporal: Callable[[Tensor, Tensor], Tensor] | None


@dataclass
class LiveControls:
    """``load(spec, preserve_color)`` -> stylizer (``preserve_color`` None: the style's own);
    ``colors(spec)`` -> the style's own colour setting (0..1); ``make_temporal()`` -> a fresh blender.
    ``styles`` is the cycle order; ``switchable=False`` (e.g. during ``--sweep``) keeps the style."""

    loop: Controlled
    styles: Sequence[str]
    current: str
    load: Callable[[str, float | None], Stylizer]
    colors: Callable[[str], float]
    make_temporal: Callable[[], Callable[[Tensor, Tensor], Tensor]]
    temporal_on: bool = True
    switchable: bool = True
    preserve_color: float | None = None  # the override in force (None: each style's own)
    report: Callable[[str], None] = print
    initial: Stylizer | None = None  # the stylizer already running for (current, preserve_color)
    _cache: dict[tuple[str, float | None], Stylizer] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.initial is not None:
            self._cache[(self.current, self.preserve_color)] = self.initial

    def on_key(self, key: str) -> None:
        if key in ("n", "p") or key.isdigit():
            self._style_key(key)
        elif key == "c":
            now = self.preserve_color if self.preserve_color is not None else self.colors(self.current)
            self.preserve_color = 0.0 if now > 0 else 1.0
            self._apply(restart=True)
            self.report(f"colours: {'camera' if self.preserve_color else 'style'}")
        elif key == "t":
            self.temporal_on = not self.temporal_on
            self.loop.temporal = self.make_temporal() if self.temporal_on else None
            self.report(f"flicker reduction: {'on' if self.temporal_on else 'off'}")
        elif key == "h":
            self.report(HELP)

    def _style_key(self, key: str) -> None:
        if not self.switchable:
            self.report("style keys are off while --sweep runs")
            return
        if not self.styles:
            return
        i = self.styles.index(self.current) if self.current in self.styles else -1
        if key == "n":
            i = (i + 1) % len(self.styles)
        elif key == "p":
            i = (i - 1) % len(self.styles)
        else:
            k = int(key) - 1
            if not 0 <= k < len(self.styles):
                self.report(f"no style {key}: {len(self.styles)} styles")
                return
            i = k
        self.current = self.styles[i]
        self.preserve_color = None  # a chosen style starts in its own colours (as on the web page)
        self._apply(restart=True)
        self.report(f"style {i + 1}/{len(self.styles)}: {self.current}")

    def _apply(self, *, restart: bool) -> None:
        key = (self.current, self.preserve_color)
        fn = self._cache.get(key)
        if fn is None:
            fn = self._cache[key] = self.load(self.current, self.preserve_color)
        self.loop.stylizer = fn
        if restart and self.temporal_on:
            self.loop.temporal = self.make_temporal()


def style_cycle(spec: str, entries: Sequence[Any]) -> list[str]:
    """The styles ``n``/``p`` cycle through: the members of ``spec``'s multi-style network when
    ``spec`` is ``NET:member``, else every single-style network (registry entries)."""
    net = next((e.network for e in entries if e.name == spec and e.network), "")
    if net:
        return [e.name for e in entries if e.network == net]
    names = [e.name for e in entries if not e.network]
    return names if spec in names or not names else [spec, *names]
