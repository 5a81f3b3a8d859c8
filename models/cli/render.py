"""``--render-scale`` / ``--render-max-side`` for the commands that run a trained style network
(live, serve, stylize, video --method fast), and the per-device default (models.guided).

Defaults (docs/bench/render_scale.md): on a CPU the network runs at ``CPU_SCALE`` of the frame
(640x480 -> 480x360: ~0.56 of the network time; the VGG style loss to the painting rises ~1.1-1.2x,
while half scale, the speed the 15 fps target needs, costs 1.5-1.9x); on a GPU with its longer
side at most ``GPU_MAX_SIDE`` (1080p -> 1440x810, the same 0.75 scale; 720p at full size; the GPU
speed of it is unmeasured).
``--render-scale 1`` runs the network at full size (no upsampling), as before.
"""
from __future__ import annotations

import argparse

from models.errors import UserError
from models.guided import RenderScale

CPU_SCALE = 0.75
GPU_MAX_SIDE = 1440


def add_render_scale(p: argparse.ArgumentParser) -> None:
    p.add_argument("--render-scale", type=float, default=None, metavar="S",
                   help="run the style network at S x the frame size (0 < S <= 1) and upsample its output "
                        "edge-aware, guided by the full-size frame; 1 = full size (default: per device, "
                        f"{CPU_SCALE:g} on a CPU, longer side at most {GPU_MAX_SIDE} px on a GPU)")
    p.add_argument("--render-max-side", type=int, default=None, metavar="N",
                   help="run the style network with its longer side at most N px (with --render-scale: "
                        "whichever is smaller)")


def render_from_args(args: argparse.Namespace, device: str) -> RenderScale:
    scale, side = getattr(args, "render_scale", None), getattr(args, "render_max_side", None)
    if scale is not None and not 0.0 < scale <= 1.0:
        raise UserError(f"--render-scale: expected a number in (0, 1], got {scale:g}")
    if side is not None and side < 16:
        raise UserError(f"--render-max-side: expected at least 16, got {side}")
    if scale is None and side is None:
        return default_render(device)
    return RenderScale(scale=1.0 if scale is None else scale, max_side=side)


def default_render(device: str) -> RenderScale:
    if str(device).startswith("cuda"):
        return RenderScale(max_side=GPU_MAX_SIDE)
    return RenderScale(scale=CPU_SCALE)


def describe(render: RenderScale, h: int, w: int) -> str:
    nh, nw = render.size(h, w)
    return "full size" if (nh, nw) == (h, w) else f"network at {nw}x{nh}, guided upsampling to {w}x{h}"
