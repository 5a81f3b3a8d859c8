"""``stylecast demo``: the README's first command. Runs the most complete main job on the
embedded demo clip (a slow camera move over four public-domain / CC0 photographs shipped with
the package, :mod:`models.io.photo_clip`): the live pipeline (stylize + flow-based temporal
consistency) renders ``out/demo.mp4`` and a side-by-side preview, then ``stylecast serve``
broadcasts the stylized sample (or the webcam when one exists) to any browser. No webcam,
internet or GPU needed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser(
        "demo", help="render the embedded sample with the live pipeline, then serve it over WebRTC",
        description="Stylizes the embedded demo clip (a slow camera move over four public-domain / CC0 "
                    "photographs) with temporal consistency into OUT/demo.mp4 and OUT/demo_preview.png "
                    "(one row per photo: input | stylized), then starts `stylecast serve --demo` (Ctrl+C stops it).")
    p.add_argument("--out", type=Path, default=Path("out"), help="output directory (default: out)")
    p.add_argument("-s", "--style", default=None, help="style name or checkpoint (default: the bundled default)")
    p.add_argument("--frames", type=int, default=96, help="frames of the demo clip to render, 24 fps (default 96)")
    p.add_argument("--size", default="480x360", help="WxH of the rendered clip (default 480x360)")
    from models.cli.options import add_device

    add_device(p)
    p.add_argument("--no-serve", dest="serve", action="store_false", help="only render; do not start the server")
    p.add_argument("--port", type=int, default=8080, help="server port (default 8080, on 127.0.0.1)")
    p.set_defaults(func=run)


def render(out_dir: Path, *, style: str | None, frames: int, size: tuple[int, int], device: str,
           requested_device: str = "auto") -> tuple[Path, Path]:
    """Live pipeline on the sample clip -> ``demo.mp4`` + ``demo_preview.png`` (input | output)."""
    import numpy as np

    from models.contracts import default_dtype
    from models.devices import device_note
    from models.errors import UserError
    from models.io import open_video, write_image
    from models.styles.registry import DEFAULT_STYLE, load_stylizer
    from models.io.photo_clip import photo_clip, shot_bounds
    from models.temporal.blender import TemporalBlender
    from stream.loop import LiveLoop, LoopConfig
    from stream.sinks import FileSink
    from stream.sources import ArraySource

    if frames < 2:
        raise UserError(f"--frames: expected at least 2, got {frames}")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out: cannot create {out_dir}: {exc.strerror}") from None
    name = style or DEFAULT_STYLE
    stylizer = load_stylizer(name, device=device)
    print(f"stylecast demo: {device_note(device, requested_device)}", file=sys.stderr)  # after every argument check
    clip = photo_clip(n=frames, size=size)
    video = out_dir / "demo.mp4"
    print(f"stylecast demo: stylizing {frames} frames of the embedded demo clip with '{name}' "
          f"(temporal consistency on) on {device} ...", file=sys.stderr)
    loop = LiveLoop(ArraySource(clip, fps=24.0, name="sample"), FileSink(video, fps=24.0), stylizer,
                    temporal=TemporalBlender(), device=device, dtype=default_dtype(device),
                    config=LoopConfig(realtime=False))
    stats = loop.run()
    print(f"stylecast demo: {stats.line()}", file=sys.stderr)
    with open_video(video) as reader:
        styled = np.stack(list(reader))
    picks = [(a + b) // 2 for a, b in shot_bounds(frames)]  # the middle of each shot: one row per photo
    rows = [np.concatenate([clip[i], np.full((size[0], 8, 3), 255, np.uint8), styled[i]], axis=1) for i in picks]
    gap = np.full((8, rows[0].shape[1], 3), 255, np.uint8)
    preview = out_dir / "demo_preview.png"
    write_image(preview, np.concatenate([r for row in rows for r in (row, gap)][:-1], axis=0))
    return video, preview


def run(args: argparse.Namespace) -> int:
    from stream.cmd_serve import parse_size

    from models.devices import pick_device

    size = parse_size(args.size)
    device = pick_device(args.device)
    video, preview = render(args.out, style=args.style, frames=args.frames, size=size, device=device,
                            requested_device=args.device)
    print(f"stylecast demo: result written to {video} and {preview} (left: input, right: stylized)")
    if not args.serve:
        return 0
    from stream.server.runner import demo

    print("stylecast demo: starting the WebRTC server (broadcast of the stylized demo photos, or the webcam); "
          "Ctrl+C stops it",
          file=sys.stderr)
    return demo(port=args.port, device=device, style=args.style)
