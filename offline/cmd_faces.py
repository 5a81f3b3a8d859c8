"""`stylecast faces INPUT --exemplars DIR -o OUTPUT`: multi-exemplar face stylization."""
from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from models.errors import UserError

# CLI flags for the tunable FaceStyleConfig fields (others keep their documented defaults).
_FLAGS = {
    "transfer": "how exemplar patches become the face: 'energy' transfers their local contrast onto the "
                "input (Shih et al. 2014), 'patch' pastes them (Wang & Tang 2009)",
    "patch": "MRF patch size in pixels of the working crop",
    "stride": "MRF patch step in pixels (neighbours overlap by patch - stride)",
    "smooth_weight": "MRF smoothness weight: agreement of neighbouring patches in their overlap",
    "grad_weight": "MRF data-term weight of the gradient difference (structure) next to luminance",
    "seam_radius": "guided-filter radius (px) that hides seams between patches of different exemplars",
    "seam_band": "half-width (px) of the band around those seams that the guided filter touches",
    "feather": "softness of the face matte's edge: Gaussian sigma as a fraction of the face width",
    "surround": "the rest of the frame: 'look' takes the exemplars' global tone, colour and stroke energy so "
                "the face blends in; 'photo' leaves it untouched",
    "work_height": "height (px) each face crop is processed at",
    "landmark_smoothing": "video: smoothing of landmarks over time, 0 = none, < 1",
    "label_stickiness": "video: bonus for keeping the previous frame's exemplar choice per patch",
    "temporal_strength": "video: blend with the flow-warped previous output, 0 = none, < 1",
    "detect_upsample": "face detector upsampling (dlib HOG; 1 finds faces down to ~40 px)",
    "detect_threshold": "minimum face detection score (dlib HOG)",
}


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("faces", help="stylize faces from a set of exemplar portraits (image or video)",
                       description="Stylize every face in INPUT with the style of the exemplars in DIR "
                                   "(Song et al., CVIU 2017). DIR/styled/ (or sketches/) holds stylized "
                                   "portraits, DIR/photos/ optionally the matching photos. Frames without "
                                   "faces pass through unchanged.")
    p.add_argument("input", metavar="INPUT", help="input image (.png/.jpg) or video (.mp4/...)")
    p.add_argument("--exemplars", required=True, metavar="DIR",
                   help="exemplar directory: DIR/styled/ (or sketches/) stylized portraits, DIR/photos/ "
                        "optionally their photos under the same names")
    p.add_argument("-o", "--output", required=True, help="output image or video path")
    p.add_argument("--exclude", action="append", default=[], metavar="NAME",
                   help="leave out an exemplar by name (repeatable), e.g. the input's own pair")
    p.add_argument("--no-audio", action="store_true", help="video: do not copy the audio track")
    from offline.faces.config import FaceStyleConfig
    for f in fields(FaceStyleConfig):
        if f.name in _FLAGS:
            kw = {"choices": {"transfer": ["patch", "energy"], "surround": ["look", "photo"]}[f.name]} \
                if f.name in ("transfer", "surround") else {"type": type(f.default)}
            p.add_argument("--" + f.name.replace("_", "-"), default=f.default, help=_FLAGS[f.name], **kw)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from models import io as media
    from offline.faces import FaceStyleConfig, FaceStylizer, load_exemplars
    from offline.faces.landmarks import default_detector

    src, dst = Path(args.input), Path(args.output)
    if not src.is_file():
        raise UserError(f"input: expected an image or video file, got {src} (not found)")
    try:
        config = FaceStyleConfig(**{k: getattr(args, k) for k in _FLAGS})
    except ValueError as exc:
        raise UserError(str(exc)) from None
    exemplar_dir = Path(args.exemplars)
    if not exemplar_dir.is_dir():
        raise UserError(f"--exemplars: expected a directory, got {exemplar_dir}")
    is_image = _is_image(src)
    if is_image != _is_image(dst):
        raise UserError(f"output: expected an {'image' if is_image else 'video'} path like the input, got {dst}")
    detector = default_detector(upsample=config.detect_upsample, threshold=config.detect_threshold)
    exemplars = load_exemplars(exemplar_dir, detector)
    for name in args.exclude:
        exemplars = exemplars.without(name)
    if not exemplars.items:
        raise UserError("exemplars: expected at least one exemplar after --exclude, got none")
    stylizer = FaceStylizer(exemplars, config=config, detector=detector)
    if is_image:
        image = media.read_image(src)
        out, faces = stylizer.stylize_image(image)
        media.write_image(dst, out)
        if not faces:
            print(f"stylecast faces: no face found in {src}", file=sys.stderr)
            print(f"stylecast faces: wrote {dst} (the input unchanged)")
        else:
            print(f"stylecast faces: wrote {dst} ({len(faces)} face(s) stylized)")
        return 0
    return _run_video(src, dst, stylizer, audio=not args.no_audio)


def _run_video(src: Path, dst: Path, stylizer: "object", *, audio: bool) -> int:
    from tqdm import tqdm

    from models import io as media
    from models.flow.estimators import DISFlow
    from offline.faces.video import VideoFaceStylizer

    video = VideoFaceStylizer(stylizer, flow=DISFlow())  # type: ignore[arg-type]
    frames = with_faces = 0
    with media.open_video(src) as reader, media.VideoWriter(
            dst, width=reader.width, height=reader.height, fps=reader.fps,
            audio_from=src if (audio and reader.has_audio) else None) as writer:
        for frame in tqdm(reader, total=reader.frame_count, unit="frame", desc="faces: frames"):
            out, n = video(frame)
            writer.write(out)
            frames += 1
            with_faces += n > 0
    if with_faces == 0:
        print(f"stylecast faces: no face found in {src}", file=sys.stderr)
        print(f"stylecast faces: wrote {dst} (the input unchanged)")
    else:
        print(f"stylecast faces: wrote {dst} ({with_faces}/{frames} frames had faces)")
    return 0
