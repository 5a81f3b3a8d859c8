// Broadcast view through a Janus VideoRoom (server started with --janus): Janus's HTTP API
// directly (create session, attach videoroom, join as subscriber, answer Janus's offer, start),
// long-poll for events, keepalive every 25 s. No janus.js needed (it also wants adapter.js).
"use strict";

window.stylecastJanus = (() => {
  const tx = () => Math.random().toString(36).slice(2, 12);

  async function post(url, body) {
    const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`Janus ${body.janus}: HTTP ${r.status}`);
    const d = await r.json();
    if (d.janus === "error") throw new Error(`Janus ${body.janus}: ${d.error && d.error.reason}`);
    return d;
  }

  // cfg: {url, room, display}; pc: an RTCPeerConnection whose ontrack the caller set.
  // onLost(reason) runs once if Janus goes away, hangs up, or the feed is unpublished (the
  // stylecast publisher reconnects with a new feed: the caller subscribes again).
  async function subscribe(pc, cfg, waitIce, onLost) {
    const base = cfg.url.replace(/\/$/, "");
    let closed = false;
    const lost = (why) => { if (!closed) { close(); if (onLost) onLost(why); } };
    const pending = new Map();  // transaction -> resolve (registered before the POST: events can beat it)
    const sid = (await post(base, { janus: "create", transaction: tx() })).data.id;
    const session = `${base}/${sid}`;
    (async () => {  // event long-poll
      while (!closed) {
        try {
          const r = await fetch(`${session}?maxev=1&rid=${Date.now()}`, { cache: "no-cache" });
          const evs = [].concat(await r.json());
          for (const ev of evs) {
            const f = pending.get(ev.transaction);
            if (f && ev.janus !== "ack") f(ev);
            const data = (ev.plugindata && ev.plugindata.data) || {};
            if (ev.janus === "error" || ev.janus === "hangup" || data.unpublished || data.leaving) lost(ev.janus === "error" ? "Janus session lost" : "the broadcast left Janus");
          }
        } catch (e) { lost("Janus unreachable"); }
      }
    })();
    const keepalive = setInterval(() => post(session, { janus: "keepalive", transaction: tx() }).catch(() => {}), 25000);
    const request = async (path, body) => {
      const t = tx();
      const done = new Promise((res, rej) => { pending.set(t, res); setTimeout(() => rej(new Error(`Janus ${body.janus}: no answer`)), 10000); });
      const d = await post(path, { ...body, transaction: t });
      const ev = d.janus === "ack" ? await done : d;
      pending.delete(t);
      const data = ev.plugindata && ev.plugindata.data;
      if (data && data.error) throw new Error(`Janus ${body.body && body.body.request}: ${data.error}`);
      return ev;
    };
    const close = () => {
      if (closed) return;
      closed = true; clearInterval(keepalive);
      fetch(session, { method: "POST", headers: { "Content-Type": "application/json" }, keepalive: true,
                       body: JSON.stringify({ janus: "destroy", transaction: tx() }) }).catch(() => {});
    };
    pc.addEventListener("connectionstatechange", () => { if (pc.connectionState === "failed") lost("media connection failed"); });
    try {
      const hid = (await request(session, { janus: "attach", plugin: "janus.plugin.videoroom" })).data.id;
      const handle = `${session}/${hid}`;
      const list = await request(handle, { janus: "message", body: { request: "listparticipants", room: cfg.room } });
      const pub = (list.plugindata.data.participants || []).find((p) => p.publisher && p.display === cfg.display);
      if (!pub) throw new Error(`the broadcast is not in Janus room ${cfg.room} yet (stylecast /stats shows the publisher state)`);
      const joined = await request(handle, { janus: "message", body: { request: "join", ptype: "subscriber", room: cfg.room, streams: [{ feed: pub.id }] } });
      await pc.setRemoteDescription(joined.jsep);
      await pc.setLocalDescription(await pc.createAnswer());
      await waitIce(pc);
      await request(handle, { janus: "message", body: { request: "start" }, jsep: { type: "answer", sdp: pc.localDescription.sdp } });
    } catch (e) { close(); throw e; }
    return { close, session: sid };
  }
  return { subscribe };
})();
