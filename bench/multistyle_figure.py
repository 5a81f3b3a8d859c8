"""docs/multistyle.png: the bundled multi-style network (conditional instance norm) on one photo:
row 1, each member style; row 2, a continuous blend between two members (Dumoulin et al. 2017 §4).

    .venv/bin/python bench/multistyle_figure.py --photo ../shared/data/content/golden_gate.jpg -o docs/multistyle.png  # docs: saved as docs/multistyle.jpg
"""
from __future__ import annotations

import argparse

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photo", required=True)
    ap.add_argument("--network", default="multistyle")
    ap.add_argument("--blend", nargs=2, default=["starry_night", "stained_glass"])
    ap.add_argument("--height", type=int, default=160)
    ap.add_argument("-o", "--output", default="docs/multistyle.png")
    a = ap.parse_args()
    import cv2

    from models.io import read_image, to_tensor, to_uint8, write_image
    from models.styles.registry import load_stylizer, style_metadata

    photo = read_image(a.photo)
    photo = cv2.resize(photo, (round(photo.shape[1] * 2 * a.height / photo.shape[0]), 2 * a.height),
                       interpolation=cv2.INTER_AREA)
    x = to_tensor([photo], device="cpu", dtype=torch.float32)
    names = [m["name"] for m in style_metadata(a.network)["styles"]]

    def run(spec: str, label: str) -> np.ndarray:
        with torch.no_grad():
            y = to_uint8(load_stylizer(spec)(x))[0]
        y = cv2.resize(y, (y.shape[1] // 2, y.shape[0] // 2), interpolation=cv2.INTER_AREA)
        cv2.putText(y, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 2, cv2.LINE_AA)
        cv2.putText(y, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        return y

    half = (len(names) + 1) // 2
    rows = [[run(f"{a.network}:{n}", n) for n in names[:half]], [run(f"{a.network}:{n}", n) for n in names[half:]]]
    s1, s2 = a.blend
    rows.append([run(f"{a.network}:{s1}={1 - t:g},{s2}={t:g}" if 0 < t < 1 else f"{a.network}:{s2 if t else s1}",
                     f"{1 - t:.2f}/{t:.2f}") for t in np.linspace(0, 1, half)])
    width = max(sum(im.shape[1] for im in r) for r in rows)
    lines = [np.pad(np.concatenate(r, 1), ((0, 4), (0, width - sum(im.shape[1] for im in r)), (0, 0)),
                    constant_values=255) for r in rows]
    print("wrote", write_image(a.output, np.concatenate(lines, 0)))


if __name__ == "__main__":
    main()
