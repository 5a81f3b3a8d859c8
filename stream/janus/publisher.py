"""Publish the stylized broadcast once into a Janus VideoRoom, and keep it published.

One aiortc peer connection encodes the broadcast (VP8) and sends it to Janus; Janus fans the
packets out to every viewer, so the stylecast process's CPU does not grow with the audience.
If Janus goes away or restarts, the broadcast keeps running (the local page, WHEP and recording
do not depend on Janus) while this publisher reconnects with exponential backoff; :meth:`snapshot`
is what /stats shows.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable

import aiohttp
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from stream.janus.client import JanusError, JanusSession

log = logging.getLogger(__name__)
VIDEOROOM = "janus.plugin.videoroom"
DISPLAY = "stylecast"
NO_SUCH_ROOM = 426


class JanusPublisher:
    def __init__(self, url: str, room: int, *, subscribe: Callable[[], MediaStreamTrack],
                 unsubscribe: Callable[[MediaStreamTrack], None], rtc_config: Callable[[], RTCConfiguration],
                 backoff: tuple[float, float] = (0.5, 30.0), timeout: float = 10.0) -> None:
        self.url, self.room = url, room
        self._subscribe, self._unsubscribe, self._rtc_config = subscribe, unsubscribe, rtc_config
        self.backoff, self.timeout = backoff, timeout
        self.state = "starting"  # starting | connecting | publishing | reconnecting | stopped
        self.publisher_id: int | None = None
        self.connects = 0  # successful publishes (the first one plus reconnects)
        self.failures = 0
        self.last_error: str | None = None
        self.next_retry_s: float | None = None
        self.since = time.monotonic()
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    def snapshot(self) -> dict:
        return {"url": self.url, "room": self.room, "state": self.state, "publisher_id": self.publisher_id,
                "connects": self.connects, "reconnects": max(0, self.connects - 1), "failures": self.failures,
                "last_error": self.last_error, "next_retry_s": self.next_retry_s,
                "state_for_s": round(time.monotonic() - self.since, 1)}

    def _set(self, state: str) -> None:
        if state != self.state:
            self.state, self.since = state, time.monotonic()
            log.info("janus publisher: %s", state)

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        delay = self.backoff[0]
        # An unread subscription for the publisher's lifetime: the broadcast keeps stylizing while
        # Janus is away (a reconnect has a frame at once); its relay slot holds one frame, no copy.
        hold = self._subscribe()
        try:
            await self._retry(delay)
        finally:
            self._unsubscribe(hold)
            self._set("stopped")

    async def _retry(self, delay: float) -> None:
        async with aiohttp.ClientSession() as http:
            while not self._stop.is_set():
                self._set("connecting" if self.connects == 0 else "reconnecting")
                t0 = time.monotonic()
                try:
                    await self._publish_once(http)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - any failure: report it, retry later
                    self.failures += 1
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.warning("janus publisher: %s", self.last_error)
                if self._stop.is_set():
                    break
                if time.monotonic() - t0 > 30.0:
                    delay = self.backoff[0]  # it was up for a while: a fresh failure starts the backoff over
                self._set("reconnecting")
                self.next_retry_s = round(delay, 2)
                try:
                    await asyncio.wait_for(self._stop.wait(), delay)
                except asyncio.TimeoutError:
                    pass
                self.next_retry_s = None
                delay = min(self.backoff[1], delay * 2)

    async def _publish_once(self, http: aiohttp.ClientSession) -> None:
        session = JanusSession(self.url, http, timeout=self.timeout)
        pc: RTCPeerConnection | None = None
        track: MediaStreamTrack | None = None
        handle = None
        try:
            await session.create()
            handle = await session.attach(VIDEOROOM)
            await self._take_room(session, handle)
            pc = RTCPeerConnection(self._rtc_config())
            track = self._subscribe()
            pc.addTransceiver(track, direction="sendonly")
            failed = asyncio.Event()

            @pc.on("connectionstatechange")
            def _on_state() -> None:
                if pc is not None and pc.connectionState in ("failed", "closed"):
                    failed.set()

            await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers every candidate here
            ans = await session.message(handle, {"request": "configure", "audio": False, "video": True},
                                        jsep={"type": "offer", "sdp": pc.localDescription.sdp, "trickle": False})
            jsep = ans.get("jsep")
            if not jsep or jsep.get("type") != "answer":
                raise JanusError(f"Janus configure: expected an SDP answer, got {ans.get('plugindata')}")
            await pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"], type="answer"))
            # Janus lists the feed as a publisher (and viewers can subscribe) only once its side of
            # ICE/DTLS is up: "publishing" means that, not just an SDP answer.
            try:
                await asyncio.wait_for(self._webrtcup(session, handle), self.timeout + 10)
            except asyncio.TimeoutError:
                raise ConnectionError(f"media to Janus did not come up in {self.timeout + 10:.0f} s "
                                      f"(ICE {pc.iceConnectionState}): can this machine reach Janus's media address?") from None
            self.connects += 1
            self.last_error = None
            self._set("publishing")
            lost = asyncio.ensure_future(session.lost.wait())
            dead = asyncio.ensure_future(failed.wait())
            stop = asyncio.ensure_future(self._stop.wait())
            await asyncio.wait({lost, dead, stop}, return_when=asyncio.FIRST_COMPLETED)
            for t in (lost, dead, stop):
                t.cancel()
            if not self._stop.is_set():
                raise ConnectionError(session.lost_reason if session.lost.is_set() else
                                      f"media connection to Janus {pc.connectionState}")
        finally:
            self.publisher_id = None
            if handle is not None and not session.lost.is_set():
                try:
                    await asyncio.wait_for(session.message(handle, {"request": "leave"}), 2.0)
                except (Exception, asyncio.TimeoutError):  # noqa: BLE001 - leaving anyway
                    pass
            await session.destroy()
            if pc is not None:
                await pc.close()
            if track is not None:
                self._unsubscribe(track)

    @staticmethod
    async def _webrtcup(session: JanusSession, handle: int) -> None:
        while True:
            ev = await session.events.get()
            if ev.get("janus") == "webrtcup" and ev.get("sender") == handle:
                return
            if ev.get("janus") == "hangup" and ev.get("sender") == handle:
                raise ConnectionError(f"Janus hung up the publisher: {ev.get('reason')}")

    async def _take_room(self, session: JanusSession, handle: int) -> None:
        """Join as the room's publisher: create the room if missing, evict a stale stylecast publisher
        (a crashed or restarted server's session lingers for Janus's 60 s session timeout)."""
        try:
            ans = await session.message(handle, {"request": "listparticipants", "room": self.room})
        except JanusError as exc:
            if exc.code != NO_SUCH_ROOM:
                raise
            await session.message(handle, {"request": "create", "room": self.room, "publishers": 1,
                                           "videocodec": "vp8", "description": "stylecast broadcast"})
            ans = {}
        for p in ans.get("plugindata", {}).get("data", {}).get("participants", []) or []:
            if p.get("display") == DISPLAY:  # publishing or about to: one stylecast per room
                try:
                    await session.message(handle, {"request": "kick", "room": self.room, "id": p["id"]})
                except JanusError as exc:
                    log.warning("janus publisher: could not evict stale publisher %s: %s", p.get("id"), exc)
        joined = await session.message(handle, {"request": "join", "ptype": "publisher", "room": self.room,
                                                "display": DISPLAY})
        self.publisher_id = joined.get("plugindata", {}).get("data", {}).get("id")

    async def close(self) -> None:
        """Leave the room and hang up (on server shutdown)."""
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 5.0)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)


def start_publisher(config, broadcaster) -> JanusPublisher:  # (ServerConfig, Broadcaster)
    from stream.server.ice import rtc_configuration

    pub = JanusPublisher(config.janus_url, config.janus_room, subscribe=broadcaster.subscribe,
                         unsubscribe=broadcaster.unsubscribe, rtc_config=lambda: rtc_configuration(config.ice_servers))
    pub.start()
    return pub


def page_webrtc(config) -> dict:
    """What the page needs to subscribe: the Janus room (when --janus) and the ICE servers."""
    janus = None
    if config.janus_url is not None:
        janus = {"url": config.janus_page_url or config.janus_url, "room": config.janus_room, "display": DISPLAY}
    return {"janus": janus, "ice_servers": [s.page() for s in config.ice_servers]}
