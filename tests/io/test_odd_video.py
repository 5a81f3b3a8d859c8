"""Issue 20 (defect 6): odd-size video used to be written as H.264 4:4:4, which browsers and most
players cannot play. Default: yuv420p padded to even (said in one line); 4:4:4 on request."""
from __future__ import annotations

import warnings
from pathlib import Path

import av
import numpy as np
import pytest

from models.cli import main
from models.errors import UserError, UserWarning_
from models.io import VideoWriter, open_video
from tests.media_factory import make_video, pattern


def probe(path: Path) -> tuple[str, str, int, int]:
    with av.open(str(path)) as c:
        cc = c.streams.video[0].codec_context
        return cc.pix_fmt, cc.profile, cc.width, cc.height


def test_writer_pads_odd_sizes_to_even_yuv420p(tmp_path: Path) -> None:
    frames = [pattern(i, 241, 321) for i in range(3)]
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        with VideoWriter(tmp_path / "o.mp4", width=321, height=241, fps=10) as w:
            for f in frames:
                w.write(f)
    msgs = [str(m.message) for m in got if issubclass(m.category, UserWarning_)]
    assert msgs == ["321x241 is odd: o.mp4 is 322x242 (last column and row repeated) so that every player can "
                    "play it (yuv420p); --pix-fmt yuv444p keeps the exact size"]
    assert probe(tmp_path / "o.mp4")[::2] == ("yuv420p", 322) and probe(tmp_path / "o.mp4")[3] == 242
    assert probe(tmp_path / "o.mp4")[1] == "High"
    with open_video(tmp_path / "o.mp4") as r:
        out = np.stack(list(r))
    assert out.shape == (3, 242, 322, 3)
    # the picture is all there (H.264 4:2:0 error as for even sizes), the added column/row repeat the last ones
    assert np.abs(out[:, :241, :321].astype(float) - np.stack(frames)).mean() < 3.0
    assert np.abs(out[:, :241, 321].astype(float) - out[:, :241, 320]).mean() < 3.0
    assert np.abs(out[:, 241, :321].astype(float) - out[:, 240, :321]).mean() < 3.0

    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        with VideoWriter(tmp_path / "e.mp4", width=320, height=240, fps=10) as w:
            w.write(frames[0][:240, :320])
    assert not got and probe(tmp_path / "e.mp4")[::2] == ("yuv420p", 320)


def test_yuv444_on_request_keeps_the_exact_size(tmp_path: Path) -> None:
    with VideoWriter(tmp_path / "o.mp4", width=321, height=241, fps=10, pix_fmt="yuv444p") as w:
        w.write(np.zeros((241, 321, 3), np.uint8))
    assert probe(tmp_path / "o.mp4")[0] == "yuv444p" and probe(tmp_path / "o.mp4")[2:] == (321, 241)
    with pytest.raises(UserError, match="yuv420p, yuv444p"):
        VideoWriter(tmp_path / "x.mp4", width=8, height=8, fps=10, pix_fmt="rgb24")


def test_stylize_and_video_cli_odd_size(tmp_path: Path, capsys) -> None:
    src = tmp_path / "odd.mp4"
    make_video(src, width=321, height=241, n=3, pix_fmt="yuv444p", audio=None)
    assert main(["stylize", str(src), "-o", str(tmp_path / "a.mp4"), "-s", "wave", "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "stylecast stylize: warning: 321x241 is odd: a.mp4 is 322x242" in err
    assert probe(tmp_path / "a.mp4")[0] == "yuv420p"
    assert main(["stylize", str(src), "-o", str(tmp_path / "b.mp4"), "-s", "wave", "--device", "cpu",
                 "--pix-fmt", "yuv444p"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert probe(tmp_path / "b.mp4")[0] == "yuv444p" and probe(tmp_path / "b.mp4")[2:] == (321, 241)
    assert main(["video", str(src), "-o", str(tmp_path / "v.mp4"), "--method", "fast", "--device", "cpu"]) == 0
    # `video` processes at an even size already (offline.ruder.source.processing_size): plain 4:2:0
    assert probe(tmp_path / "v.mp4") == ("yuv420p", "High", 320, 240)
