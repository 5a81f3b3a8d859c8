"""``stylecast stylize INPUT -s STYLE -o OUTPUT``: stylize an image, a video or the sample."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from models.cli.options import add_device, add_pix_fmt, add_preserve_color


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser(
        "stylize",
        help="stylize an image, a video, or the embedded sample clip",
        description="Stylize INPUT (an image, a video, or the word 'sample' for the embedded "
                    "sample clip) into OUTPUT. Videos keep frame count, timing and audio.",
    )
    p.add_argument("input", metavar="INPUT", help="image or video file, or 'sample'")
    p.add_argument("-s", "--style", default=None,
                   help="style name (see `stylecast styles`) or checkpoint path (default: the bundled default style)")
    add_preserve_color(p)
    p.add_argument("-o", "--output", required=True, type=Path,
                   help="output file: an image for an image input (.png/.jpg/...), else a video (.mp4/.mkv/.mov)")
    add_device(p)
    p.add_argument("--max-side", type=int, default=None, metavar="N",
                   help="downscale so the longer side is at most N pixels")
    from models.cli.render import add_render_scale

    add_render_scale(p)
    p.add_argument("--batch-size", type=int, default=4, metavar="N", help="frames per batch (default: 4)")
    p.add_argument("--preview", type=Path, default=None, metavar="PNG",
                   help="also write a side-by-side preview (original | stylized) of a few frames")
    p.add_argument("--crf", type=int, default=18, help="x264 quality 0-51, lower is better (default: 18)")
    p.add_argument("--preset", default="medium", metavar="NAME",
                   help="x264 preset: ultrafast ... veryslow; faster presets make bigger files (default: medium)")
    p.add_argument("--no-audio", action="store_true", help="drop the audio track (default: copy it)")
    add_pix_fmt(p)
    p.add_argument("--tile", type=int, default=1024, metavar="N",
                   help="frames over (1.5 N)^2 pixels (2.4 megapixels for 1024) are stylized in overlapping N-pixel "
                        "tiles with whole-frame instance-norm statistics, so memory stays bounded; slower (about 5 "
                        "network passes); 0 never tiles (default: 1024)")
    p.set_defaults(func=run)


def _sigterm_as_interrupt() -> object:
    """Make SIGTERM (``kill``, container stop) unwind like Ctrl-C so temp outputs are removed."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, handler)


def run(args: argparse.Namespace) -> int:
    import signal

    previous = _sigterm_as_interrupt()
    try:
        return _run(args)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)  # type: ignore[arg-type]


def _render(args: argparse.Namespace):  # -> RenderScale | None
    """Offline the default is full size (quality first; render scale costs style,
    docs/bench/render_scale.md); --render-scale / --render-max-side opt in."""
    from models.cli.render import render_from_args

    if args.render_scale is None and args.render_max_side is None:
        return None
    return render_from_args(args, "cpu")


def _run(args: argparse.Namespace) -> int:
    from models.contracts import default_dtype
    from models.errors import UserError
    from models.io import IMAGE_SUFFIXES, VIDEO_SUFFIXES, check_output_path, is_image_path, open_video
    from offline import stylize as st

    opts = st.StylizeOptions(batch_size=args.batch_size, max_side=args.max_side,
                             preview=args.preview, crf=args.crf, preset=args.preset,
                             audio=not args.no_audio, pix_fmt=args.pix_fmt, render=_render(args), tile=args.tile)
    is_sample = args.input == "sample"
    inp = Path(args.input)
    image_in = not is_sample and is_image_path(inp)
    if not is_sample and not inp.is_file():
        raise UserError(f"input not found: expected an image/video file or 'sample', got {args.input!r}")
    if image_in and not is_image_path(args.output):
        raise UserError(f"input {inp.name} is an image: expected an image output "
                        f"({', '.join(IMAGE_SUFFIXES)}), got {args.output.name}")
    check_output_path(args.output, IMAGE_SUFFIXES if image_in else VIDEO_SUFFIXES)
    if opts.preview:
        check_output_path(opts.preview, IMAGE_SUFFIXES)
    if not is_sample and inp.resolve() == args.output.resolve():
        raise UserError(f"output would overwrite the input {inp}: choose another -o path")

    reader = None if (is_sample or image_in) else open_video(inp)  # refuses bad videos early
    try:
        import torch

        from models.devices import device_note, pick_device

        device = torch.device(pick_device(args.device))
        style = args.style
        if style is None:
            from models.styles.registry import DEFAULT_STYLE
            style = DEFAULT_STYLE
        stylizer = st.load_style(style, device=device, dtype=default_dtype(device), preserve_color=args.preserve_color)
        print(f"stylecast stylize: {device_note(str(device), args.device)}", file=sys.stderr)  # after every argument check
        common = dict(stylizer=stylizer, device=device, options=opts)
        if image_in:
            res = st.stylize_image(inp, args.output, **common)
        elif is_sample:
            from models.io.sample import sample_frames
            res = st.stylize_video(st.ArraySource(sample_frames()), args.output, **common)
        else:
            res = st.stylize_video(reader, args.output, **common)
    finally:
        if reader is not None:
            reader.close()
    rate = f", {res.frames / res.seconds:.1f} frames/s" if res.frames > 1 and res.seconds > 0 else ""
    print(f"stylecast stylize: wrote {res.output} ({res.frames} frame{'s' * (res.frames != 1)}, "
          f"{res.width}x{res.height}, {res.seconds:.1f} s{rate})"
          + (f"; preview {res.preview}" if res.preview else ""))
    return 0
