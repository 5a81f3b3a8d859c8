"""``stylecast bench``: time every available backend and the whole per-frame path."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser(
        "bench",
        help="benchmark inference backends (network, end-to-end, concurrent streams)",
        description="Times each backend at several resolutions against fp32 eager in the same run, "
        "then 1/4/16 concurrent streams; prints a markdown table. On CPU: light preset at 320x240 and 640x480.",
    )
    from models.cli.options import add_device

    add_device(p)
    p.add_argument("--preset", choices=("standard", "light"), help="network size (default: standard on GPU, light on CPU)")
    p.add_argument("--style", help="bundled style name or .safetensors path (default: random weights calibrated to "
                   "trained-net output statistics; timing is the same)")
    p.add_argument("--sizes", help="comma list, e.g. 480p,720p,1080p (also 240p, 480p-vga)")
    p.add_argument("--variants", help="comma list of backend variants (see docs/backends.md)")
    p.add_argument("--extra-variants", help="variants run after the stream items if budget remains "
                   "(default on GPU: compile-ro-fp16,compile-ma-fp16-cl; none when --variants is given)")
    p.add_argument("--streams", help="comma list of concurrent stream counts, e.g. 1,4,16")
    p.add_argument("--stream-size", help="resolution of the concurrent streams (default 720p on GPU)")
    p.add_argument("--iters", type=int, help="timed iterations per item")
    p.add_argument("--budget-s", type=float, help="start no new item after this many seconds")
    p.add_argument("--cache-dir", type=Path, help="TensorRT engine cache directory")
    p.add_argument("--temporal", action=argparse.BooleanOptionalAction, default=None,
                   help="also time end-to-end with models.temporal.blender.TemporalBlender (default: on for GPU)")
    p.add_argument("--threads", type=int, help="CPU threads for torch (torch.set_num_threads); default: torch's")
    p.add_argument("--out", type=Path, help="also write the markdown table here")
    p.set_defaults(func=run)


def _csv(s: str | None) -> tuple[str, ...] | None:
    return tuple(x.strip() for x in s.split(",") if x.strip()) if s else None


def run(args: argparse.Namespace) -> int:
    import torch

    from models.cli.bench_harness import SIZES, VARIANTS, default_config, size_hw
    from models.cli.bench_harness import run as run_bench
    from models.cli.bench_report import to_markdown, write_markdown
    from models.errors import UserError

    from models.devices import pick_device

    device = pick_device(args.device)
    if args.threads is not None:
        if args.threads < 1:
            raise UserError(f"--threads: expected >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    if args.iters is not None and args.iters < 1:
        raise UserError(f"--iters: expected >= 1, got {args.iters}")
    try:
        streams = tuple(int(s) for s in _csv(args.streams)) if args.streams else None
    except ValueError:
        raise UserError(f"--streams: expected comma-separated integers, got {args.streams!r}") from None
    extra = _csv(args.extra_variants) or (() if args.variants else None)
    bad = [v for v in (*(_csv(args.variants) or ()), *(extra or ())) if v not in VARIANTS]
    if bad:
        raise UserError(f"--variants: expected some of {', '.join(VARIANTS)}, got {', '.join(bad)}")
    for name, given in (("--sizes", _csv(args.sizes)), ("--stream-size", _csv(args.stream_size))):
        for g in given or ():
            try:
                size_hw(g)
            except ValueError:
                raise UserError(f"{name}: expected one of {', '.join(SIZES)} or WxH, got {g!r}") from None
    cfg = default_config(device, preset=args.preset, sizes=_csv(args.sizes), variants=_csv(args.variants),
                         streams=streams, stream_size=args.stream_size or None, iters=args.iters,
                         budget_s=args.budget_s, out=args.out, cache_dir=args.cache_dir,
                         extra_variants=extra, temporal=args.temporal)
    model = _model(args.style, cfg.preset)
    try:
        from tqdm import tqdm
    except ImportError:  # the GPU bench machine may lack tqdm: plain progress lines
        tqdm = None
    from models.cli.bench_harness import plan

    total = len(plan(cfg)) + len(cfg.streams) + len(plan(cfg, cfg.extra_variants))
    bar = tqdm(total=total, desc="benchmark items", unit="item") if tqdm else None

    def progress(label: str) -> None:
        if bar is not None:
            bar.set_postfix_str(label)
            bar.update(1)
        else:
            print(f"bench: {label}", flush=True)

    res = run_bench(model, cfg, progress=progress, on_result=write_markdown)
    if bar is not None:
        bar.close()
    print(to_markdown(res))
    return 0


def _model(style: str | None, preset: str):
    from models.backends.synthetic import synthetic_style_net

    if not style:
        return synthetic_style_net(preset)
    from models.styles.registry import load_stylizer  # lazy: only when a real style is asked for

    return load_stylizer(style, device="cpu")


def bench_main(argv: list[str]) -> int:
    """Entry of bench/gpu_bench.py and bench/cpu_bench.py: registers only this subcommand (not
    the whole CLI), so no app package (stream/: aiortc, av) is ever imported."""
    import sys

    from models.errors import UserError

    parser = argparse.ArgumentParser(prog="bench")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", *argv])
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
