"""``stylecast flow FRAME_A FRAME_B -o DIR``: forward/backward optical flow and the Ruder et al.
consistency weights between two frames (the same check as the live pipeline)."""
from __future__ import annotations

import argparse


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("flow", help="optical flow between two frames: forward.flo, backward.flo, consistency.png",
                       description="Writes DIR/forward.flo (A->B), DIR/backward.flo (B->A) and "
                                   "DIR/consistency.png: 8-bit weights on B's grid, 255 = reliable "
                                   "(Ruder et al. 2016 disocclusion + motion-boundary check).")
    p.add_argument("frame_a", metavar="FRAME_A", help="first frame (image file)")
    p.add_argument("frame_b", metavar="FRAME_B", help="second frame, the same size as FRAME_A")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output directory (created)")
    p.add_argument("--flow", choices=("dis", "deepflow"), default="dis", help="dis: OpenCV DIS medium (fast); deepflow: DeepFlow (quality, slow) (default: dis)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path


    from models.errors import UserError
    from offline.ruder.flowtool import flow_pair

    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise UserError(f"-o: expected a directory, got existing file {out}")
    files = flow_pair(Path(args.frame_a), Path(args.frame_b), out, method=args.flow)
    for f in files:
        print(f"stylecast flow: wrote {f}")
    return 0
