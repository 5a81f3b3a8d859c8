// stylecast page: Mirror (camera -> server -> back) and Broadcast viewer, over WebRTC.
// Signaling: one POST /offer with the complete SDP (aiortc does not trickle ICE).
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  mode: "mirror", pc: null, dc: null, peerId: null, camera: null, styles: [], style: null,
  mix: null,  // multi-style blend {member: weight} (normalised by the server) or null
  colors: null,  // colour preservation override 0..1, or null = the style's own (see /styles)
  token: "", frames: 0, fpsFrames: [], statsTimer: null, blendTimer: null,
};
// Test hook (tests/browser): decoded frame count and the current state.
window.stylecast = state;

function setStatus(text, cls) { const s = $("status"); s.textContent = text; s.className = "status " + cls; }
function showError(msg) { const e = $("error"); e.textContent = msg || ""; e.classList.toggle("hidden", !msg); }

function parseHash() {
  const h = new URLSearchParams(location.hash.replace(/^#/, ""));
  if (h.has("view")) state.mode = "view";
  if (h.get("token")) state.token = h.get("token");
}

function selectMode(mode) {
  if (state.pc) stop();
  state.mode = mode;
  for (const t of document.querySelectorAll(".tab")) t.classList.toggle("active", t.dataset.mode === mode);
  $("control-box").classList.toggle("hidden", mode !== "view");
  $("mode-hint").textContent = mode === "mirror"
    ? "Mirror: your camera → server → back to you."
    : "Broadcast: watch the server's stylized stream (same for every viewer).";
  $("placeholder-text").innerHTML = mode === "mirror"
    ? "Press <b>Start</b> to send your camera and get it back stylized."
    : "Press <b>Start</b> to watch the broadcast.";
  $("token").value = state.token;
  updateLock();
  if (state.styles.length) refreshSettings().catch(() => {});
}

// In broadcast mode the controls show the broadcast's live settings (shared by every viewer).
async function refreshSettings() {
  const data = await (await fetch("/styles")).json();
  const show = (s) => {
    $("temporal").checked = s.temporal;
    $("strength").value = s.strength;
    $("strength-val").textContent = Number(s.strength).toFixed(2);
  };
  if (state.mode === "view" && data.broadcast) {
    show(data.broadcast);
    markStyle(data.broadcast.style, data.broadcast.mix, data.broadcast.preserve_color);
  } else if (state.mode === "mirror") {
    if (!state.pc && data.mirror_defaults) show(data.mirror_defaults);  // a live peer keeps its own
    markStyle(state.style || data.default, state.mix);
  }
}

function updateLock() {
  const locked = state.mode === "view" && !state.token;
  $("styles").classList.toggle("locked", locked);
  for (const id of ["temporal", "strength", "blend", "blend-with", "colors"]) $(id).disabled = locked;
}

async function loadStyles() {
  const r = await fetch("/styles");
  const data = await r.json();
  state.styles = data.styles;
  state.janus = data.janus || null; state.iceServers = data.ice_servers || [];  // --janus / --ice-server
  state.style = (data.broadcast && state.mode === "view") ? data.broadcast.style : data.default;
  const box = $("styles");
  box.innerHTML = "";
  // One tile per distinct style name. A multi-style network is one blendable entry: its members
  // are not tiles of their own when a single-style network has the same name (the tile picks the
  // single network; the blend box switches to the member, see blendSpec); marked ◐ instead.
  state.memberSpec = {};
  for (const s of data.styles.filter(blendable)) state.memberSpec[memberOf(s.name)] ??= s.name;
  const tiles = new Map();  // key -> the entry a click picks (insertion order = the server's order)
  for (const s of data.styles) {
    const k = keyOf(s.name, s);
    if (!tiles.has(k) || (blendable(tiles.get(k)) && !blendable(s))) tiles.set(k, s);
  }
  for (const [key, s] of tiles) {
    const b = document.createElement("button");
    b.className = "style"; b.dataset.name = s.name; b.dataset.key = key; b.title = s.description || s.name;
    b.classList.toggle("blendable", key in state.memberSpec);
    b.innerHTML = `<img loading="lazy" alt="" src="${s.thumbnail}"><span></span>`;
    b.querySelector("span").textContent = pretty(key);
    b.onclick = () => chooseStyle(s.name);
    box.appendChild(b);
  }
  const nets = new Set(Object.values(state.memberSpec).map((n) => n.slice(0, n.indexOf(":"))));
  $("styles-hint").textContent = nets.size
    ? `◐ one multi-style network (${[...nets].map(pretty).join(", ")}): pick one, then blend it with another below.` : "";
  markStyle(state.style);
  await refreshSettings();
}

const pretty = (name) => name.replace(/_/g, " ");
const styleInfo = (name) => state.styles.find((s) => s.name === name) || { members: [] };
const memberOf = (name) => name.slice(name.indexOf(":") + 1);
const blendable = (s) => (s.members || []).length >= 2;
// The tile of a style: a member of a multi-style network is its member name ("net:wave" -> "wave").
const keyOf = (name, s) => (blendable(s || styleInfo(name)) ? memberOf(name) : name);
// The multi-style member spec that blends ``name``: itself, or the member with a single's name.
const blendSpec = (name) => (blendable(styleInfo(name)) ? name : (state.memberSpec || {})[name] || null);

// A style of a multi-style network can be blended with the other members of that network
// (conditional instance norm): the blend box shows the selected member (A), another member (B)
// and the share of B. ``mix`` is the server's normalised {member: weight} or null (= A alone).
function markStyle(name, mix, colors) {
  const changed = name !== state.style;
  state.style = name;
  if (mix !== undefined) state.mix = mix; else if (changed) state.mix = null;
  // colours: null = the style's own setting (its "preserve_color"), else the stream's override
  if (colors !== undefined) state.colors = colors; else if (changed) state.colors = null;
  const key = name ? keyOf(name) : null;
  for (const b of document.querySelectorAll(".style")) b.classList.toggle("selected", b.dataset.key === key);
  showBlend();
  $("colors").checked = (state.colors ?? styleInfo(name).preserve_color ?? 0) > 0;
}

function showBlend() {
  const name = state.style, spec = name ? blendSpec(name) : null, members = spec ? styleInfo(spec).members : [];
  $("blend-box").classList.toggle("hidden", members.length < 2);
  let label = name ? pretty(keyOf(name)) : "–";
  if (members.length >= 2) {
    const a = memberOf(spec), sel = $("blend-with"), mix = state.mix || {};
    const others = members.filter((m) => m !== a);
    if (sel.dataset.net !== spec) {  // rebuild the options for this style
      sel.innerHTML = "";
      for (const m of others) {
        const o = document.createElement("option"); o.value = m; o.textContent = pretty(m); sel.appendChild(o);
      }
      sel.dataset.net = spec;
    }
    // B: the heaviest other member in the mix, else keep the selection
    const heavy = others.filter((m) => (mix[m] || 0) > 0).sort((x, y) => mix[y] - mix[x])[0];
    if (heavy) sel.value = heavy;
    const b = sel.value, wa = mix[a] ?? (state.mix ? 0 : 1), wb = mix[b] || 0;
    const t = wa + wb > 0 ? wb / (wa + wb) : 0;
    $("blend").value = t;
    $("blend-a").textContent = pretty(a); $("blend-b").textContent = pretty(b);
    $("blend-val").textContent = `${Math.round(t * 100)}%`;
    if (state.mix) {
      label = Object.entries(state.mix).map(([m, w]) => `${pretty(m)} ${Math.round(w * 100)}%`).join(" + ");
    }
  }
  $("s-style").textContent = label;
}

function blendPatch() {
  const spec = blendSpec(state.style), a = memberOf(spec), b = $("blend-with").value, t = parseFloat($("blend").value);
  if (!b || t <= 0) return { mix: null };
  const mix = {}; mix[a] = 1 - t; mix[b] = t;
  if (t >= 1) delete mix[a];
  return spec === state.style ? { mix } : { style: spec, mix };  // a single-style pick blends as its member
}

// Slider drags send at most every 120 ms (continuous blending), plus once on release.
function sendBlend(final) {
  $("blend-val").textContent = `${Math.round(parseFloat($("blend").value) * 100)}%`;
  if (state.mode === "view" && !state.token) { showError("Enter the control token to change the broadcast."); return; }
  const go = () => {
    state.blendTimer = null; const p = blendPatch();
    if (p.style) markStyle(p.style, p.mix); else state.mix = p.mix;
    sendSettings(p);
  };
  if (final) { clearTimeout(state.blendTimer); go(); }
  else if (!state.blendTimer) state.blendTimer = setTimeout(go, 120);
}

function settings() {
  const out = { temporal: $("temporal").checked, strength: parseFloat($("strength").value) };
  if (state.colors !== null && state.colors !== undefined) out.preserve_color = state.colors;
  return out;
}

async function sendSettings(patch) {
  showError("");
  if (state.mode === "mirror") {
    if (state.dc && state.dc.readyState === "open") state.dc.send(JSON.stringify(patch));
    return;  // before Start, settings travel with the offer
  }
  if (!state.token) { showError("Enter the control token to change the broadcast."); return; }
  const r = await fetch("/control", {
    method: "POST", body: JSON.stringify(patch),
    headers: { "Content-Type": "application/json", "Authorization": "Bearer " + state.token },
  });
  const body = await r.json();
  if (!r.ok) { showError(body.error); await refreshSettings(); } else markStyle(body.style, body.mix, body.preserve_color);
}

function chooseStyle(name) {
  if (state.mode === "view" && !state.token) { showError("Enter the control token to change the broadcast."); return; }
  markStyle(name, null, null);  // a chosen style starts unblended, in its own colours (as on the server)
  sendSettings({ style: name });
}

function waitIceComplete(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => { if (pc.iceGatheringState === "complete") { pc.removeEventListener("icegatheringstatechange", check); resolve(); } };
    pc.addEventListener("icegatheringstatechange", check);
    setTimeout(resolve, 3000);  // a missing interface must not block: send what was gathered
  });
}

function countFrames(video) {
  const onFrame = () => {
    state.frames += 1;
    const now = performance.now();
    state.fpsFrames.push(now);
    while (state.fpsFrames.length && now - state.fpsFrames[0] > 2000) state.fpsFrames.shift();
    if (state.pc) video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}

async function start() {
  showError("");
  $("start").disabled = true;
  setStatus("connecting", "connecting");
  try {
    const pc = new RTCPeerConnection({ iceServers: state.iceServers || [] });
    state.pc = pc;
    pc.ontrack = (ev) => {
      const v = $("remote");
      v.srcObject = new MediaStream([ev.track]);
      $("placeholder").classList.add("hidden");
      countFrames(v);
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "connected") setStatus("live", "live");
      if (pc.connectionState === "failed" && !state.janusSub) { setStatus("connection failed", "error"); stop(); }
    };
    if (state.mode === "mirror") {
      state.camera = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
      for (const t of state.camera.getTracks()) pc.addTrack(t, state.camera);
      $("local").srcObject = state.camera;
      $("local").classList.remove("hidden");
      state.dc = pc.createDataChannel("control");
      state.dc.onmessage = (ev) => {
        const m = JSON.parse(ev.data);
        if (m.type === "error") showError(m.message); else if (m.style) markStyle(m.style, m.mix, m.preserve_color);
      };
    } else if (state.janus) {  // --janus: the broadcast comes from Janus, not from this server
      // Janus restarting / the publisher reconnecting: subscribe again to the new feed
      const resume = (why) => { stop(true); state.resuming = why; setStatus(`reconnecting (${why})`, "connecting"); setTimeout(() => { if (!state.pc && state.resuming) start(); }, 2000); };
      state.janusSub = await window.stylecastJanus.subscribe(pc, state.janus, waitIceComplete, resume);
      state.resuming = null;
      $("stop").disabled = false;
      state.statsTimer = setInterval(pollStats, 1000);
      return;
    } else {
      pc.addTransceiver("video", { direction: "recvonly" });
    }
    await pc.setLocalDescription(await pc.createOffer());
    await waitIceComplete(pc);
    const body = { sdp: pc.localDescription.sdp, type: "offer", mode: state.mode };
    if (state.mode === "mirror") Object.assign(body, state.style ? { style: state.style } : {}, state.mix ? { mix: state.mix } : {}, settings());
    const r = await fetch("/offer", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const answer = await r.json();
    if (!r.ok) throw new Error(answer.error || ("server answered " + r.status));
    state.peerId = answer.peer_id;
    if (answer.settings) markStyle(answer.settings.style, answer.settings.mix, answer.settings.preserve_color);
    await pc.setRemoteDescription({ sdp: answer.sdp, type: answer.type });
    $("stop").disabled = false;
    state.statsTimer = setInterval(pollStats, 1000);
  } catch (err) {
    if (state.resuming) {  // Janus or the publisher not back yet: keep trying
      stop(true); setStatus(`reconnecting (${state.resuming})`, "connecting");
      setTimeout(() => { if (!state.pc && state.resuming) start(); }, 2000);
      return;
    }
    showError(err.message || String(err));
    setStatus("error", "error");
    stop(true);
  }
}

function stop(keepStatus) {
  if (state.peerId) navigator.sendBeacon(`/peer/${state.peerId}/close`);
  if (state.pc) state.pc.close();
  if (state.janusSub) { state.janusSub.close(); state.janusSub = null; }
  if (state.camera) for (const t of state.camera.getTracks()) t.stop();
  clearInterval(state.statsTimer);
  Object.assign(state, { pc: null, dc: null, peerId: null, camera: null, statsTimer: null, fpsFrames: [] });
  $("remote").srcObject = null; $("local").srcObject = null;
  $("local").classList.add("hidden"); $("placeholder").classList.remove("hidden");
  for (const id of ["s-fps", "s-lat", "s-res"]) $(id).textContent = "–";  // no stale figures after Stop
  $("server-stats").innerHTML = "";
  $("start").disabled = false; $("stop").disabled = true;
  if (!keepStatus) { setStatus("idle", "idle"); state.resuming = null; }
}

async function pollStats() {
  if (!state.peerId && !state.janusSub) return;
  const r = await fetch(state.peerId ? `/stats?peer=${state.peerId}` : "/stats");
  if (!r.ok) return;
  const s = await r.json();
  const p = s.peer || (state.janusSub && s.broadcast) || {};
  const f = state.fpsFrames;
  // Until frames flow, "–" rather than 0.0 fps / 0 ms / 0×0; the size is what the page decodes.
  const fps = f.length > 1 ? (f.length - 1) * 1000 / (f[f.length - 1] - f[0]) : 0;
  $("s-fps").textContent = fps > 0 ? fps.toFixed(1) : "–";
  $("s-lat").textContent = p.latency_ms && p.latency_ms.p50 > 0 ? `${p.latency_ms.p50.toFixed(0)} ms` : "–";
  const v = $("remote");
  $("s-res").textContent = v.videoWidth > 0 ? `${v.videoWidth}×${v.videoHeight}` : "–";
  if (p.style && p.style !== state.style) markStyle(p.style, p.mix);
  else if (state.mode === "view" && !state.blendTimer && JSON.stringify(p.mix ?? null) !== JSON.stringify(state.mix)) markStyle(p.style, p.mix ?? null);
  const rows = {
    "server fps": (p.fps ?? 0).toFixed(1), "latency p50 / p99": p.latency_ms ? `${p.latency_ms.p50} / ${p.latency_ms.p99} ms` : "–",
    "dropped frames": p.drops ?? 0, "peers": `${s.peers} / ${s.max_peers}`, "viewers": s.viewers, "device": s.device,
    "backend": p.backend || "–",
  };
  $("server-stats").innerHTML = Object.entries(rows).map(([k, v]) => `<span>${k}</span><b>${v}</b>`).join("");
}

function init() {
  parseHash();
  for (const t of document.querySelectorAll(".tab")) t.onclick = () => selectMode(t.dataset.mode);
  $("start").onclick = start;
  $("stop").onclick = () => stop();
  $("temporal").onchange = () => sendSettings({ temporal: $("temporal").checked });
  $("colors").onchange = () => { state.colors = $("colors").checked ? 1 : 0; sendSettings({ preserve_color: state.colors }); };
  $("strength").oninput = () => { $("strength-val").textContent = parseFloat($("strength").value).toFixed(2); };
  $("strength").onchange = () => sendSettings({ strength: parseFloat($("strength").value) });
  $("blend").oninput = () => sendBlend(false);
  $("blend").onchange = () => sendBlend(true);
  $("blend-with").onchange = () => sendBlend(true);
  $("token").oninput = () => { state.token = $("token").value.trim(); updateLock(); showError(""); };
  window.addEventListener("pagehide", () => { if (state.peerId) navigator.sendBeacon(`/peer/${state.peerId}/close`); });
  selectMode(state.mode);
  loadStyles().catch((e) => showError("could not load styles: " + e.message));
}
init();
