"""``stylecast live``: stylize a camera, file, sample or test pattern in real time."""
from __future__ import annotations

import argparse
import sys

from models.cli.options import add_device, add_preserve_color, add_threads
from models.cli.render import add_render_scale


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser(
        "live",
        help="real-time stylization with temporal consistency (camera/file/sample -> window/file/vcam)",
        description="Stylize a live source frame by frame. Optical flow between consecutive input "
                    "frames carries the previous output forward so strokes do not flicker. "
                    "Shows fps, per-stage ms, end-to-end latency and dropped frames. In the window: "
                    "n/p next/previous style, 1-9 a style, c camera colours, t flicker reduction, q quit.",
    )
    p.add_argument("--source", default="0",
                   help="camera index (0) or /dev/videoN, a video file, 'photos' (the demo clip), 'sample' or 'pattern' (default: 0)")
    p.add_argument("--sink", default="window", help="'window', 'null', 'vcam' or an output video path (default: window)")
    p.add_argument("-s", "--style", default=None,
                   help="style name or checkpoint path (default: the bundled default); for a multi-style network "
                        "NET:style or a blend NET:a=0.7,b=0.3 (see `stylecast styles`)")
    p.add_argument("--mix", default=None, metavar="A=W,B=W",
                   help="blend of the multi-style network named by -s, e.g. starry_night=0.7,wave=0.3 "
                        "(weights >= 0, normalised)")
    p.add_argument("--sweep", default=None, metavar="A,B[,C...]",
                   help="glide continuously through these styles of the multi-style network named by -s "
                        "(A -> A/B blends -> B -> ... -> A), --sweep-seconds per step")
    p.add_argument("--sweep-seconds", type=float, default=4.0,
                   help="seconds of source time from one style of --sweep to the next (default: 4.0)")
    add_preserve_color(p)
    p.add_argument("--no-temporal", action="store_true", help="plain per-frame stylization (flickers)")
    p.add_argument("--strength", type=float, default=None, help="temporal blend strength in [0,1] (default: 0.92)")
    p.add_argument("--max-frames", type=int, default=None, help="stop after N output frames (default: run until the source ends or q)")
    p.add_argument("--realtime", action="store_true",
                   help="pace file/sample/pattern sources at their fps and drop frames like a camera "
                        "(default for window/vcam sinks; file sinks otherwise get every frame in order)")
    add_device(p)
    p.add_argument("--backend", default="auto", choices=("auto", "eager", "compile", "tensorrt"),
                   help="how the network runs on a GPU: auto = TensorRT > torch.compile > eager, built on the "
                        "first frame of each style (seconds; frames are dropped meanwhile), eager if that fails; "
                        "on a CPU auto compiles (bf16 where the CPU has it) in the background while eager serves "
                        "(STYLECAST_CPU_COMPILE=0: eager) (default: auto)")
    p.add_argument("--max-side", type=int, default=None, help="downscale input so its longer side is at most N px (default: full size)")
    add_render_scale(p)
    add_threads(p)
    p.add_argument("--no-overlap", action="store_true",
                   help="finish each frame before taking the next (one frame less latency; on a CPU fewer fps: by "
                        "default the next frame's network runs while this one is blended and upsampled)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from models.contracts import default_dtype
    from models.errors import UserError
    from models.nets.mix import sweep_weights
    from models.styles.registry import DEFAULT_STYLE, load_stylizer
    from models.temporal.blender import TemporalConfig
    from stream.loop import LiveLoop, LoopConfig
    from stream.sinks import open_sink
    from stream.sources import SourceLost, open_source

    if args.strength is not None and not 0.0 <= args.strength <= 1.0:
        raise UserError(f"--strength: expected a value in [0,1], got {args.strength}")
    if args.max_frames is not None and args.max_frames < 1:
        raise UserError(f"--max-frames: expected a positive integer, got {args.max_frames}")
    if args.max_side is not None and args.max_side < 16:
        raise UserError(f"--max-side: expected at least 16, got {args.max_side}")
    from models.devices import pick_device

    device = pick_device(args.device)
    from models.cli.options import apply_cpu_threads

    threads_note = apply_cpu_threads(args.threads, device)
    from models.cli.render import render_from_args

    render = render_from_args(args, device)

    spec = args.style or DEFAULT_STYLE
    sweep = _sweep_names(args)
    if args.mix is not None or sweep:
        spec = _network_spec(spec, args.mix if args.mix is not None else sweep[0])
    from models.backends.accelerated import Accelerated, accelerate
    from models.backends.background import BackgroundCompiled

    def say(line: str) -> None:  # from any thread, without breaking the progress bar
        tqdm.write(f"stylecast live: {line}", file=sys.stderr)

    stylizer = accelerate(load_stylizer(spec, device=device, preserve_color=args.preserve_color),
                          kind=args.backend, device=device, report=say)
    source = open_source(args.source)
    try:
        if not source.is_device and args.sink not in ("window", "vcam") and args.max_frames is None \
                and source.name in ("sample", "photos", "pattern"):
            raise UserError(f"source {source.name!r} never ends: pass --max-frames N to write it to {args.sink}")
        sink = open_sink(args.sink, fps=source.fps)
    except BaseException:
        source.close()
        raise
    realtime = args.realtime or args.sink in ("window", "vcam")
    cfg = TemporalConfig() if args.strength is None else TemporalConfig(strength=args.strength)
    # the blender is made by the loop's engine (its injected flow); attached once the loop exists
    temporal = None
    total = args.max_frames or getattr(source, "frame_count", None)
    bar = tqdm(total=total, unit="frame", desc=f"live {source.name} -> {sink.name}", dynamic_ncols=True)

    keys = None  # terminal keys for sinks without a window (vcam)

    def on_frame(stats) -> None:  # type: ignore[no-untyped-def]
        if keys is not None:  # on the model thread, between frames, like the window's keys
            for k in keys.drain():
                if k in ("q", "\x1b"):
                    loop.stop()
                elif controls is not None:
                    controls.on_key(k)
        if sweep:  # runs on the loop's model thread, between frames: the next frame uses the new blend
            stylizer.set_mix(sweep_weights(sweep, stylizer.style_names,  # type: ignore[operator]
                                           stats.processed / (source.fps * args.sweep_seconds)))
        bar.update(1)
        if stats.processed % 10 == 0:
            bar.set_postfix_str(stats.line(), refresh=False)

    loop = LiveLoop(source, sink, stylizer, temporal=temporal, on_frame=on_frame, device=device,
                    dtype=default_dtype(device), render=render,
                    config=LoopConfig(realtime=realtime, max_frames=args.max_frames, max_side=args.max_side,
                                     overlap=not args.no_overlap))
    if not args.no_temporal:
        loop.temporal = loop.engine.blender(cfg)
    # Keys switch styles, colours, flicker reduction: pressed in the preview window, or for a
    # virtual camera (no window) in this terminal.
    window = hasattr(sink, "on_key")
    if not window and args.sink == "vcam":
        from stream.terminal_keys import TerminalKeys

        keys = TerminalKeys()
        keys = keys if keys.start() else None
    controls = None
    if window or keys is not None:
        controls = _attach_controls(loop, sink, spec=spec, stylizer=stylizer, device=device, cfg=cfg,
                                    backend=args.backend, sweep=bool(sweep), preserve_color=args.preserve_color,
                                    report=lambda m: bar.write(m, file=sys.stderr))
    try:
        stats = loop.run()
    except SourceLost as exc:  # camera unplugged/stalled: report what was done, then the reason
        bar.close()
        print(loop.stats.report())
        print(f"stylecast live: stopped: {exc}", file=sys.stderr)
        return 1
    finally:
        bar.close()
        if keys is not None:
            keys.close()  # the terminal's mode back, also after Ctrl-C
    print(stats.report())
    if loop.last_size is not None:
        from models.cli.render import describe

        print(f"render: {describe(render, *loop.last_size)}")
    if isinstance(loop.stylizer, (Accelerated, BackgroundCompiled)):
        print(f"backend: {loop.stylizer.describe()}")
    if threads_note:
        print(threads_note)
    if hasattr(stylizer, "mix_dict") and not sweep:
        print("style blend: " + ", ".join(f"{k} {v:.0%}" for k, v in stylizer.mix_dict().items()))
    return 0


def _attach_controls(loop, sink, *, spec: str, stylizer, device, cfg, backend: str,  # type: ignore[no-untyped-def]
                     sweep: bool, preserve_color: float | None, report):  # -> LiveControls
    """Keyboard controls for ``loop``; a sink with ``on_key`` (the window) gets them wired in."""
    from models.backends.accelerated import accelerate
    from models.styles.registry import list_styles, load_stylizer, style_preserve_color
    from stream.controls import HELP, LiveControls, style_cycle

    controls = LiveControls(
        loop, styles=style_cycle(spec, list_styles()), current=spec,
        load=lambda s, c: accelerate(load_stylizer(s, device=device, preserve_color=c), kind=backend,
                                     device=device, report=report),
        colors=style_preserve_color,
        make_temporal=lambda: _new_blender(loop, cfg), temporal_on=loop.temporal is not None,
        switchable=not sweep, preserve_color=preserve_color, report=report, initial=stylizer)
    if hasattr(sink, "on_key"):
        sink.on_key = controls.on_key
    report(HELP)
    return controls


def _new_blender(loop, cfg):  # type: ignore[no-untyped-def]
    """A temporal blender from the loop's engine (its injected flow), or a plain one."""
    engine = getattr(loop, "engine", None)
    if engine is not None:
        return engine.blender(cfg)
    from models.temporal.blender import TemporalBlender

    return TemporalBlender(cfg)


def _sweep_names(args: argparse.Namespace) -> list[str]:
    from models.errors import UserError

    if args.sweep is None:
        return []
    if args.mix is not None:
        raise UserError("--mix and --sweep: expected one of them, got both")
    if not args.sweep_seconds > 0:
        raise UserError(f"--sweep-seconds: expected a positive number, got {args.sweep_seconds}")
    names = [n.strip() for n in args.sweep.split(",") if n.strip()]
    if len(names) < 2:
        raise UserError(f"--sweep: expected at least two styles A,B, got {args.sweep!r}")
    return names


def _network_spec(spec: str, member: str) -> str:
    """``-s NET`` (or ``NET:x`` or its path) + ``--mix``/``--sweep`` -> the spec ``PATH:member``."""
    from models.styles.checkpoint import is_multistyle, read_metadata
    from models.errors import UserError
    from models.styles.registry import split_spec

    path, _ = split_spec(spec)
    if not is_multistyle(read_metadata(path)):
        raise UserError(f"--mix/--sweep: expected -s to name a multi-style network (see `stylecast styles`), "
                        f"got the single style {spec!r}")
    return f"{path}:{member}"
