"""Issue 20 (defects 3, 4): no client input makes the server answer 5xx; /control without a
broadcast is 409 (docs/webrtc.md), not 401."""
from __future__ import annotations

import itertools

import aiohttp

from stream.server.app import create_app
from stream.server.config import ServerConfig
from tests.stream.test_multistyle_server import H, STYLES, W, make_factory, run, start

# JSON bodies json.dumps cannot write literally (NaN, Infinity, a 10**400 integer, deep nesting)
RAW_NUMBERS = [b"NaN", b"Infinity", b"-Infinity", b"1e308", b"1e400", b"-1", b"1" + b"0" * 400, b"-0.0",
               b'"0.5"', b"true", b"null", b"[]", b"{}"]
FIELDS = ["strength", "preserve_color", "temporal", "style", "mix"]


def bodies() -> list[bytes]:
    out = [b"{not json", b"[" * 30000 + b"]" * 30000, b"\xff\xfe{}", b"", b"null", b"42", b'"x"']
    for field, num in itertools.product(FIELDS, RAW_NUMBERS):
        out.append(b'{"%s": %s}' % (field.encode(), num))
    for a, b in itertools.product(RAW_NUMBERS, repeat=2):
        out.append(b'{"style": "toy:dark", "mix": {"dark": %s, "light": %s}}' % (a, b))
    out.append(b'{"mix": {"dark": 1e308, "nope": 1}}')
    return out


async def fuzz(base: str, headers: dict) -> list[tuple[str, bytes, int]]:
    bad = []
    async with aiohttp.ClientSession() as s:
        for body in bodies():
            for path in ("/control", "/offer", "/peer/nope/settings"):
                offer = body if path != "/offer" or not body.startswith(b"{\"") else \
                    b'{"sdp": "v=0", "type": "offer", "mode": "mirror", ' + body[1:]
                async with s.post(base + path, data=offer, headers={**headers, "Content-Type": "application/json"}) as r:
                    if r.status >= 500:
                        bad.append((path, offer[:80], r.status))
        for q in ("peer=" + "x" * 5000, "peer=%00%ff", "peer=NaN", "peer=1e308", "peer=-1", "peer=&peer=2"):
            async with s.get(f"{base}/stats?{q}") as r:
                if r.status >= 500:
                    bad.append(("/stats", q[:40].encode(), r.status))
        for auth in ("Bearer \u00e9\u00e8", "Bearer " + "x" * 4000, ""):
            async with s.post(base + "/control", json={"strength": 0.5}, headers={"Authorization": auth}) as r:
                if r.status >= 500:
                    bad.append(("/control auth", auth[:20].encode(), r.status))
    return bad


def test_no_client_input_gets_5xx_and_huge_mix_weights_blend() -> None:
    async def main():
        factory, _ = make_factory()
        cfg = ServerConfig(style="toy:dark", temporal=False, source="sample", source_size=(H, W), source_fps=30,
                           sample_frames=4)
        server, base = await start(create_app(cfg, factory, styles=STYLES))
        try:
            hdr = {"Authorization": f"Bearer {cfg.token}"}
            assert await fuzz(base, hdr) == []
            async with aiohttp.ClientSession() as s:
                # 1e308 + 1e308 overflowed the normalisation (HTTP 500): equal finite weights are an equal blend
                async with s.post(f"{base}/control", json={"mix": {"dark": 1e308, "light": 1e308}}, headers=hdr) as r:
                    assert r.status == 200, await r.text()
                    assert (await r.json())["mix"] == {"dark": 0.5, "light": 0.5}
                async with s.post(f"{base}/control", data=b'{"mix": {"dark": Infinity, "light": 1}}', headers=hdr) as r:
                    assert r.status == 400 and "finite" in (await r.json())["error"]
                async with s.post(f"{base}/control", data=b'{"strength": NaN}', headers=hdr) as r:
                    assert r.status == 400 and "strength" in (await r.json())["error"]
        finally:
            await server.close()

    run(main(), timeout=240)


def test_control_without_broadcast_is_409_not_401() -> None:
    async def main():
        factory, _ = make_factory()
        server, base = await start(create_app(ServerConfig(style="toy:dark"), factory, styles=STYLES))
        try:
            async with aiohttp.ClientSession() as s:
                for hdr in ({}, {"Authorization": "Bearer wrong"}):
                    async with s.post(f"{base}/control", json={"strength": 0.5}, headers=hdr) as r:
                        assert r.status == 409 and "--source" in (await r.json())["error"]
            assert await fuzz(base, {}) == []
        finally:
            await server.close()

    run(main(), timeout=240)
