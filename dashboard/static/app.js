// The dashboard page: one EventSource feeds every panel; the timeline redraws on a canvas.
"use strict";

const WINDOW_MS = 60000;
const BLANK = "Blank";
const PALETTE = ["#3b7dd8", "#e0742b", "#2aa876", "#c0399f", "#8c6bd6", "#d9b51f",
                 "#1fa2b8", "#d6455b", "#6f9b2c", "#8a5a3c", "#4a5bc4", "#e8578e"];

const state = {
  clockOffset: 0,         // server clock minus this page's clock, in ms
  frames: [],             // [ts, label, probability, device, seq], oldest first
  seen: new Set(),        // device/seq of numbered frames already held, so overlaps are not doubled
  showings: [],
  colours: new Map(),
  pairs: new Map(),
  rows: [],               // the pair table's rows as last shown
  album: null,            // the camera's showings by label ({label: [showing]}), null: no --match
  cameraOk: null,
  cameraEnded: "",        // why the camera stopped on purpose (its recording ended), or ""
};

const $ = (id) => document.getElementById(id);

function colour(label) {
  if (label === BLANK) return "#c8cdd3";
  if (!state.colours.has(label)) {
    state.colours.set(label, PALETTE[state.colours.size % PALETTE.length]);
    renderLegend();
  }
  return state.colours.get(label);
}

function syncClock(serverNow) {
  if (typeof serverNow === "number") state.clockOffset = serverNow - Date.now();
}

// --- raw frames --------------------------------------------------------------------

// A frame the page already holds (same camera and seq) is not added twice; frames without a
// seq cannot be told apart and all count.
const frameKey = (f) => f[4] == null ? null : f[3] + "/" + f[4];

function addFrames(frames) {
  for (const f of frames) {
    const key = frameKey(f);
    if (key !== null && state.seen.has(key)) continue;
    if (key !== null) state.seen.add(key);
    state.frames.push(f);
  }
  state.frames.sort((a, b) => a[0] - b[0]);
  const newest = state.frames.length ? state.frames[state.frames.length - 1][0] : 0;
  const cutoff = Math.max(newest, Date.now() + state.clockOffset) - WINDOW_MS - 5000;
  let drop = 0;
  while (drop < state.frames.length && state.frames[drop][0] < cutoff) drop++;
  for (const f of state.frames.slice(0, drop)) state.seen.delete(frameKey(f));
  state.frames.splice(0, drop);
}

function showCurrent(cur) {
  $("now-label").textContent = cur ? cur.label : "–";
  $("now-probability").textContent = cur ? cur.probability.toFixed(1) + " %" : "–";
  $("now-fps").textContent = cur ? cur.fps.toFixed(1) : "–";
  if (cur) $("now-label").style.color = cur.label === BLANK ? "" : colour(cur.label);
}

// --- pairs -------------------------------------------------------------------------

function showPairs(rows) {
  renderPairs(rows);
  refreshAlbum();
}

function renderPairs(rows) {
  const body = document.querySelector("#pairs tbody");
  const previous = state.pairs;
  const ticked = new Set(picked());   // kept across a redraw, so a pick survives another change
  state.rows = rows;
  state.pairs = new Map(rows.map((r) => [r.image, r]));
  body.replaceChildren(...rows.map((r) => {
    const tr = document.createElement("tr");
    tr.dataset.image = r.image;
    tr.className = r.pair_seen === "Pair" ? "pair" : "unmatched";
    const old = previous.get(r.image);
    if (!old || old.number_socks_seen !== r.number_socks_seen) tr.classList.add("changed");
    tr.append(labelCell(r));
    for (const [text, cls] of [[r.pair_seen, "seen"], [r.number_socks_seen, "count"]]) {
      const td = document.createElement("td");
      td.className = cls;
      td.textContent = text;
      tr.append(td);
    }
    tr.append(fixCell(r, ticked));
    tr.firstChild.style.borderLeft = "4px solid " + colour(r.image);
    return tr;
  }));
  $("pairs-empty").hidden = rows.length > 0;
  const pairs = rows.filter((r) => r.pair_seen === "Pair").length;
  $("pairs-summary").textContent = rows.length
    ? `${pairs} of ${rows.length} designs paired, ${rows.length - pairs} waiting for a match` : "";
  updateJoin();
}

// The label (with the person's name for it, if given) and, in an open-set session, a crop of
// each of its showings: what a person needs to see to judge the camera's pairing.
function labelCell(r) {
  const td = document.createElement("td");
  td.className = "image";
  if (r.name) {
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = r.name;
    td.append(name);
  }
  const label = document.createElement("span");
  label.className = "label";
  label.textContent = r.image;
  td.append(label);
  const showings = state.album ? state.album[r.image] || [] : [];
  if (showings.length) {
    const looks = document.createElement("div");
    looks.className = "looks";
    for (const s of showings) {
      if (!s.crops.length) continue;
      const img = document.createElement("img");
      img.src = s.crops[Math.floor(s.crops.length / 2)];
      img.alt = `${r.image}, showing ${s.id}`;
      img.dataset.showing = s.id;
      looks.append(img);
    }
    td.append(looks);
  }
  return td;
}

function fixCell(r, ticked) {
  const td = document.createElement("td");
  td.className = "fix";
  if (!state.album) return td;
  const showings = state.album[r.image] || [];
  if (showings.length === 1 && r.number_socks_seen % 2 === 1) {
    const tick = document.createElement("input");
    tick.type = "checkbox";
    tick.className = "pick";
    tick.title = "pick this single sock to join with another";
    tick.checked = ticked.has(r.image);
    tick.addEventListener("change", updateJoin);
    td.append(tick);
  }
  if (showings.length >= 2) td.append(button("Split", "these are two different socks",
                                             () => correct("split", { label: r.image })));
  if (showings.length) td.append(button("Name…", "name this sock, and keep its crops as photos to teach",
                                        () => nameSock(r)));
  return td;
}

function button(text, title, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.title = title;
  b.dataset.action = text.replace("…", "").toLowerCase();
  b.addEventListener("click", onClick);
  return b;
}

function picked() {
  return [...document.querySelectorAll("#pairs input.pick:checked")].map((t) => t.closest("tr").dataset.image);
}

function updateJoin() {
  $("join").disabled = picked().length !== 2;
}

function nameSock(r) {
  const name = window.prompt(`A name for ${r.image} (its crops become photos of it on the Teach page):`, r.name || "");
  if (name) correct("name", { label: r.image, name: name.trim() });
}

async function correct(kind, body) {
  const status = $("correct-state");
  status.className = "";
  status.textContent = kind === "name" ? "naming…" : kind + "ing…";
  try {
    const response = await fetch("/api/socks/" + kind, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error || "HTTP " + response.status);
    status.textContent = kind === "split" ? `${answer.label} split: its second showing is now ${answer.new_label}`
      : kind === "join" ? `${answer.joined} joined ${answer.label}: one pair`
      : `${answer.label} is ${answer.name}; ${answer.examples_added} photos added to teach it`;
  } catch (err) {
    status.className = "bad";
    status.textContent = `${kind} failed: ${err.message}`;
  }
  refreshAlbum();
}

$("join").addEventListener("click", () => correct("join", { labels: picked() }));

// The camera's showings, asked again whenever the table changes. An edge without --match
// has none, and the page then offers no corrections; once it had some, a camera that does
// not answer for a while keeps them on the page (a correction then says what went wrong).
let albumAsked = null;
function refreshAlbum() {
  if (albumAsked) return;
  albumAsked = setTimeout(async () => {
    let album = state.album;
    try {
      const response = await fetch("/api/showings");
      if (response.ok) {
        album = {};
        for (const s of (await response.json()).showings) (album[s.label] = album[s.label] || []).push(s);
      }
    } catch (err) { /* the dashboard is restarting; the event stream says so */ }
    albumAsked = null;
    if (JSON.stringify(album) === JSON.stringify(state.album)) return;
    state.album = album;
    $("correct").hidden = !album;
    $("pairs").classList.toggle("open-set", !!album);
    renderPairs(state.rows);
  }, 200);
}

function showQueries(queries) {
  const q = queries.pairs;
  $("pairs-state").textContent = q && !q.ok ? "(not live: " + q.detail + ")" : "";
}

// --- health ------------------------------------------------------------------------

function showHealth(health) {
  const list = $("health");
  list.replaceChildren(...health.checks.map((c) => {
    const li = document.createElement("li");
    li.dataset.part = c.part;
    li.dataset.ok = String(c.ok);
    li.className = c.ok ? "ok" : c.idle ? "idle" : "bad";
    li.innerHTML = '<span class="dot"></span><span class="name"></span><span class="detail"></span>';
    li.querySelector(".name").textContent = c.title;
    li.querySelector(".detail").textContent = c.detail;
    return li;
  }));
  const overall = $("overall");
  const failing = health.checks.filter((c) => !c.ok && !c.idle);
  const idle = health.checks.filter((c) => c.idle);
  // A part that stopped on purpose (the demo's show has ended) is news, not a fault: it
  // gets a neutral banner of its own unless something is really down.
  overall.className = "overall " + (failing.length ? "bad" : idle.length ? "idle" : "ok");
  // One failing part gets its reason in the banner; several get their names, and the
  // panel below has each one's reason.
  overall.textContent = failing.length === 1 ? `Down: ${failing[0].title} — ${failing[0].detail}`
    : failing.length ? "Down: " + failing.map((c) => c.title).join(", ")
    : idle.length ? idle.map((c) => c.detail).join("; ")
    : "All parts up";
  const camera = health.checks.find((c) => c.part === "camera");
  const cameraOk = camera ? camera.ok : null;
  if (cameraOk && state.cameraOk === false) reloadStream();
  state.cameraOk = cameraOk;
  state.cameraEnded = camera && camera.idle ? camera.detail : "";
  if (state.cameraEnded) showStreamEnded();
}

// --- the camera stream --------------------------------------------------------------

let retryTimer = null;
function reloadStream() {
  clearTimeout(retryTimer);
  const missing = $("stream-missing");
  missing.textContent = "camera stream unavailable — retrying";
  missing.classList.remove("ended");
  $("stream").src = "/stream.mjpg?t=" + Date.now();
}
// The recording has played to its end: say so where the picture was, and stop asking for it.
function showStreamEnded() {
  clearTimeout(retryTimer);
  const missing = $("stream-missing");
  missing.textContent = state.cameraEnded;
  missing.classList.add("ended");
  missing.hidden = false;
}
$("stream").addEventListener("load", () => { $("stream-missing").hidden = true; });
$("stream").addEventListener("error", () => {
  if (state.cameraEnded) { showStreamEnded(); return; }
  $("stream-missing").hidden = false;
  clearTimeout(retryTimer);
  retryTimer = setTimeout(reloadStream, 2000);
});

// --- the timeline ------------------------------------------------------------------

function renderLegend() {
  const legend = $("legend");
  legend.replaceChildren(...[...state.colours.entries()].map(([label, c]) => {
    const span = document.createElement("span");
    span.textContent = label;
    span.style.setProperty("--swatch", c);
    return span;
  }));
  const blank = document.createElement("span");
  blank.textContent = BLANK + " (no sock)";
  blank.style.setProperty("--swatch", colour(BLANK));
  legend.append(blank);
}

// Each camera gets its own block: a lane of raw frames above a lane of its showings. The
// first block sits where the single camera's always did; each further camera adds one below.
const LANES = { top: 14, raw: 70, gap: 24, showings: 34, between: 26 };
const BLOCK = LANES.raw + LANES.gap + LANES.showings + LANES.between;
const CANVAS_HEIGHT = 190;   // one camera's block plus the time axis
const UNKNOWN_CAMERA = "(no camera named)";

// Frames and showings per camera, cameras in name order. A showing that names no camera
// (a pipeline without a DEVICE column) belongs to the only camera when there is one.
function cameras(frames, showings) {
  const byDevice = new Map();
  const lane = (device) => {
    if (!byDevice.has(device)) byDevice.set(device, { device, frames: [], showings: [] });
    return byDevice.get(device);
  };
  for (const f of frames) lane(f[3]).frames.push(f);
  const named = [...byDevice.keys()];
  for (const s of showings) {
    const device = s.device != null ? s.device : named.length === 1 ? named[0] : UNKNOWN_CAMERA;
    lane(device).showings.push(s);
  }
  return [...byDevice.values()].sort((a, b) => a.device < b.device ? -1 : a.device > b.device ? 1 : 0);
}

function drawTimeline() {
  const canvas = $("timeline");
  const lanes = cameras(state.frames, state.showings);
  const wanted = CANVAS_HEIGHT + Math.max(0, lanes.length - 1) * BLOCK;
  if (canvas.style.height !== wanted + "px") canvas.style.height = wanted + "px";
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);

  const newest = state.frames.length ? state.frames[state.frames.length - 1][0] : 0;
  const right = Math.max(Date.now() + state.clockOffset, newest);
  const left = right - WINDOW_MS;
  const gutter = 92, plotW = width - gutter - 18;
  const x = (ts) => gutter + ((ts - left) / WINDOW_MS) * plotW;
  g.font = "12px system-ui, sans-serif";
  g.textBaseline = "middle";
  if (!lanes.length) lanes.push({ device: null, frames: [], showings: [] });
  lanes.forEach((camera, i) => drawCamera(g, camera, LANES.top + i * BLOCK, { x, left, gutter, plotW }));

  const axis = LANES.top + (lanes.length - 1) * BLOCK + LANES.raw + LANES.gap + LANES.showings;
  g.fillStyle = "#6b7683";
  g.textBaseline = "top";
  for (let s = 60; s >= 0; s -= 10) {
    const tx = x(right - s * 1000);
    g.fillRect(tx, axis + 4, 1, 5);
    const text = s === 0 ? "now" : `-${s}s`;
    g.fillText(text, tx - g.measureText(text).width / 2, axis + 12);
  }
}

// One camera's block: its raw frames, and below them the showings the pipeline made of them.
function drawCamera(g, camera, top, { x, left, gutter, plotW }) {
  const raw = { top, h: LANES.raw }, smooth = { top: top + LANES.raw + LANES.gap, h: LANES.showings };
  g.fillStyle = "#6b7683";
  if (camera.device != null) {
    g.font = "600 12px system-ui, sans-serif";
    g.fillText(camera.device, 6, raw.top + raw.h / 2 - 8, gutter - 10);
    g.font = "12px system-ui, sans-serif";
    g.fillText("raw frames", 6, raw.top + raw.h / 2 + 8, gutter - 10);
  } else {
    g.fillText("raw frames", 6, raw.top + raw.h / 2);
  }
  g.fillText("showings", 6, smooth.top + smooth.h / 2);
  g.fillStyle = "#f0f2f5";
  g.fillRect(gutter, raw.top, plotW, raw.h);
  g.fillRect(gutter, smooth.top, plotW, smooth.h);

  // One tick per frame, as tall as its probability: ghosts show as short, odd-coloured
  // ticks inside a run of one colour, and the showings lane shows they were not counted.
  // Each frame lasts until the camera's next one (at most 250 ms, so a stalled camera
  // shows as a gap).
  const frames = camera.frames;
  for (let i = 0; i < frames.length; i++) {
    const [ts, label, probability] = frames[i];
    if (ts < left) continue;
    const until = i + 1 < frames.length ? Math.min(frames[i + 1][0], ts + 250) : ts + 100;
    const h = Math.max(2, (probability / 100) * raw.h);
    g.fillStyle = colour(label);
    g.fillRect(x(ts), raw.top + raw.h - h, Math.max(1, x(until) - x(ts)), h);
  }
  for (const s of camera.showings) {
    if (s.end < left) continue;
    const x0 = Math.max(x(s.start), gutter), x1 = Math.max(x(s.end), x0 + 3);
    g.fillStyle = colour(s.image);
    g.globalAlpha = s.counted === false ? 0.25 : 1;  // filtered out by the pipeline: dimmed
    g.fillRect(x0, smooth.top, x1 - x0, smooth.h);
    g.globalAlpha = 1;
    if (x1 - x0 > 40 && s.counted !== false) {
      g.fillStyle = "#fff";
      g.fillText(s.image, x0 + 4, smooth.top + smooth.h / 2, x1 - x0 - 8);
    }
  }
}

function animate() {
  drawTimeline();
  setTimeout(() => requestAnimationFrame(animate), 100);
}

// --- new session -------------------------------------------------------------------

$("new-session").addEventListener("click", async () => {
  if (!window.confirm("Start a new sorting session? The pair counts start again from zero.")) return;
  const button = $("new-session");
  button.disabled = true;
  $("pairs-state").textContent = "(starting a new session…)";
  try {
    const response = await fetch("/api/session", { method: "POST" });
    const body = await response.json();
    $("pairs-state").textContent = body.ok ? "" : "(new session failed: " + body.message + ")";
  } catch (err) {
    $("pairs-state").textContent = "(new session failed: " + err + ")";
  } finally {
    button.disabled = false;
  }
});

// --- the event stream --------------------------------------------------------------

function connect() {
  const events = new EventSource("/events");
  const on = (name, handler) => events.addEventListener(name, (e) => handler(JSON.parse(e.data)));
  events.onopen = () => { $("link").textContent = "live"; $("link").className = "link"; };
  events.onerror = () => { $("link").textContent = "reconnecting"; $("link").className = "link down"; };
  // the greeting holds the whole window: it replaces what the page had before a reconnect
  on("timeline", (d) => { syncClock(d.now); state.frames = []; state.seen.clear(); addFrames(d.frames); });
  on("frames", (d) => { syncClock(d.now); addFrames(d.frames); });
  on("current", showCurrent);
  on("pairs", (d) => showPairs(d.rows));
  on("showings", (d) => { state.showings = d.showings; });
  on("health", showHealth);
  on("queries", showQueries);
  on("fleet", showFleet);
}

// --- thin cameras and their workers (from the workers' status topic) -----------------

function fillRows(table, rows) {
  const body = $(table).tBodies[0];
  body.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    return tr;
  }));
}

function showFleet(fleet) {
  const workers = fleet.workers || [], cameras = fleet.cameras || [];
  $("fleet").hidden = workers.length === 0 && cameras.length === 0;
  const seconds = (s) => `${Number(s).toFixed(2)} s`;
  fillRows("fleet-cameras", cameras.map((c) => [c.device, c.fps.toFixed(1), seconds(c.lag_s), c.frames,
                                                 c.workers.join(", ")]));
  fillRows("fleet-workers", workers.map((w) => [w.worker, w.state, w.fps.toFixed(1),
                                                 `${seconds(w.lag_p50_s)} / ${seconds(w.lag_p99_s)}`,
                                                 w.partitions, w.skipped, w.model || "–"]));
}

async function showStats() {
  try {
    const s = (await (await fetch("/api/live")).json()).stats;
    $("stats").textContent = `frames received ${s.frames_received} · rejected ${s.frames_rejected}` +
      ` · dropped ${s.frames_dropped} · events dropped for slow pages ${s.events_dropped}`;
  } catch (err) { /* the dashboard is restarting; the event stream says so */ }
}

renderLegend();
reloadStream();
connect();
animate();
showStats();
setInterval(showStats, 5000);
