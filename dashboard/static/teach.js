// The Teach view: classes and their photos, recording from the camera, training, the models.
// Everything goes through the teach API (/api/...); the pipeline's health and the live
// prediction come from the dashboard's own event stream (/events), as on the main page.
"use strict";

const BLANK = "Blank";
const MAX_LABEL = 64;
const FEW_PHOTOS = 10;          // below this a class gets a warning; about 30 teach it well
const CONFUSED_SHARE = 0.2;     // two classes mixed up in this share of their validation photos
const IMAGE_NAME = /\.(jpe?g|png)$/i;
const PENDING_KEY = "socksort-teach-new-classes";

const $ = (id) => document.getElementById(id);

const state = {
  dataset: { version: null, classes: {} },
  examples: [],                 // [{id, label, sha256, added}]
  pending: loadPending(),       // classes added on the page that have no photo yet
  models: [],
  deployed: null,
  shown: null,                  // the model shown in the Model panel: {detail, why}
  job: null,                    // the training job followed: {id, source}
  cameraOk: null,               // recording possible: the camera is up, or its stream plays
  cameraCheck: null,            // the dashboard's health check of the camera: {ok, detail}
  streamLive: false,            // the relayed stream has delivered a picture since it last failed
  apiOk: null,
  recording: null,
  uploading: false,
};

function loadPending() {
  try { return new Set(JSON.parse(localStorage.getItem(PENDING_KEY) || "[]")); } catch (e) { return new Set(); }
}
function savePending() {
  try { localStorage.setItem(PENDING_KEY, JSON.stringify([...state.pending])); } catch (e) { /* private mode */ }
}

// --- talking to the API ------------------------------------------------------------

class ApiFailure extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// JSON in and out; an answer other than 2xx throws ApiFailure with the API's one-line error.
async function api(method, path, body) {
  const options = { method, headers: { Accept: "application/json" } };
  if (body instanceof FormData || body instanceof Blob) options.body = body;
  else if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch (err) {
    throw new ApiFailure(0, "the dashboard is not answering (" + err.message + ")");
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!response.ok) {
    const message = data && (data.error || data.message) ? (data.error || data.message)
      : `HTTP ${response.status} from ${method} ${path}`;
    throw new ApiFailure(response.status, message);
  }
  return data;
}

const enc = encodeURIComponent;

function say(id, text, bad = false) {
  const node = $(id);
  node.textContent = text;
  node.classList.toggle("bad", bad);
}

function apiDown(err) {
  const banner = $("api-error");
  if (err) {
    state.apiOk = false;
    banner.textContent = err.status === 404
      ? "This dashboard has no teach API (an older socksort?): " + err.message
      : "The teach API is not answering: " + err.message;
    banner.hidden = false;
  } else if (state.apiOk === false) {
    state.apiOk = true;
    banner.hidden = true;
  } else {
    state.apiOk = true;
  }
}

// --- class names, checked as the API checks them (socksort/examples.py validate_label) ---

function notPrintable(ch) {
  return ch !== " " && /[\p{C}\p{Z}]/u.test(ch);
}

function labelProblem(label) {
  if (!label) return "label is missing: give the class name";
  const chars = [...label];
  if (chars.length > MAX_LABEL) return `label '${chars.slice(0, MAX_LABEL).join("")}'... is longer than ${MAX_LABEL} characters`;
  if (label.includes("/") || label.includes("\\") || label.includes("..")) return `label '${label}' may not contain a path separator or '..'`;
  if (chars.some(notPrintable)) return `label '${label}' holds a character that is not printable`;
  if (label.startsWith(".") || label !== label.trim()) return `label '${label}' may not start with '.' or start or end with a space`;
  return null;
}

// --- the dataset -------------------------------------------------------------------

function classNames() {
  const names = new Set([...Object.keys(state.dataset.classes), ...state.pending]);
  return [...names].sort((a, b) => a.localeCompare(b));
}

function countOf(label) { return state.dataset.classes[label] || 0; }

async function loadDataset() {
  try {
    const data = await api("GET", "/api/examples");
    apiDown(null);
    state.examples = data.examples;
    state.dataset = data.dataset;
    let changed = false;
    for (const label of [...state.pending]) {
      if (countOf(label) > 0) { state.pending.delete(label); changed = true; }
    }
    if (changed) savePending();
  } catch (err) {
    apiDown(err);
  }
  renderClasses();
}

function renderClasses() {
  const names = classNames();
  const list = $("classes");
  const cards = new Map([...list.children].map((li) => [li.dataset.label, li]));
  const byLabel = new Map(names.map((n) => [n, []]));
  for (const e of state.examples) if (byLabel.has(e.label)) byLabel.get(e.label).push(e);
  const wanted = names.map((name) => {
    const card = cards.get(name) || classCard(name);
    cards.delete(name);
    updateCard(card, name, byLabel.get(name));
    return card;
  });
  for (const gone of cards.values()) gone.remove();
  wanted.forEach((card, i) => { if (list.children[i] !== card) list.insertBefore(card, list.children[i] || null); });
  $("classes-empty").hidden = names.length > 0;
  const photos = Object.values(state.dataset.classes).reduce((a, b) => a + b, 0);
  $("dataset-summary").textContent = state.dataset.version
    ? `${photos} photo${photos === 1 ? "" : "s"} · dataset ${shortVersion(state.dataset.version)}` : "";
  $("blank-hint").hidden = names.some((n) => n.toLowerCase() === BLANK.toLowerCase());
  renderRecordTargets(names);
  renderDatasetWarnings(names);
}

function classCard(name) {
  const li = document.createElement("li");
  li.className = "class-card";
  li.dataset.label = name;
  li.innerHTML = `
    <div class="class-head">
      <span class="name"></span><span class="count"></span>
      <div class="class-tools">
        <button type="button" class="rename"></button>
        <button type="button" class="delete danger"></button>
      </div>
    </div>
    <div class="class-tools upload-tools">
      <span class="pick"><label class="files-label"></label><input type="file" class="files" multiple accept="image/jpeg,image/png,.jpg,.jpeg,.png"></span>
      <span class="pick"><label class="folder-label"></label><input type="file" class="folder" webkitdirectory multiple></span>
    </div>
    <div class="thumbs"></div>`;
  const uid = "c" + Math.random().toString(36).slice(2, 9);
  const files = li.querySelector(".files"), folder = li.querySelector(".folder");
  files.id = uid + "-files"; folder.id = uid + "-folder";
  li.querySelector(".files-label").htmlFor = files.id;
  li.querySelector(".folder-label").htmlFor = folder.id;
  li.querySelector(".rename").addEventListener("click", () => startRename(li));
  li.querySelector(".delete").addEventListener("click", () => deleteClass(li.dataset.label));
  for (const input of [files, folder]) {
    input.addEventListener("change", () => {
      const chosen = [...input.files].filter((f) => IMAGE_NAME.test(f.name) || f.type.startsWith("image/"));
      input.value = "";
      uploadFiles(chosen.map((file) => ({ file, label: li.dataset.label })));
    });
  }
  li.addEventListener("dragover", (e) => { e.preventDefault(); e.stopPropagation(); li.classList.add("over"); });
  li.addEventListener("dragleave", () => li.classList.remove("over"));
  li.addEventListener("drop", async (e) => {
    e.preventDefault();
    e.stopPropagation();
    li.classList.remove("over");
    const found = await droppedFiles(e.dataTransfer);
    uploadFiles(found.map(({ file }) => ({ file, label: li.dataset.label })));
  });
  return li;
}

function updateCard(li, name, examples) {
  li.dataset.label = name;
  li.querySelector(".name").textContent = name;
  const n = examples.length;
  const count = li.querySelector(".count");
  count.textContent = `${n} photo${n === 1 ? "" : "s"}`;
  count.classList.toggle("few", n < FEW_PHOTOS);
  li.querySelector(".rename").textContent = "Rename";
  li.querySelector(".rename").setAttribute("aria-label", `Rename class ${name}`);
  li.querySelector(".delete").textContent = "Delete";
  li.querySelector(".delete").setAttribute("aria-label", `Delete class ${name}`);
  li.querySelector(".files-label").textContent = "Add photos";
  li.querySelector(".files").setAttribute("aria-label", `Add photos to ${name}`);
  li.querySelector(".folder-label").textContent = "Add a folder";
  li.querySelector(".folder").setAttribute("aria-label", `Add a folder of photos to ${name}`);
  li.querySelector(".thumbs").setAttribute("aria-label", `photos of ${name}`);
  syncThumbs(li.querySelector(".thumbs"), examples);
}

// Keeps the thumbnails of one class in step with its photos without reloading those shown.
function syncThumbs(box, examples) {
  const have = new Map([...box.querySelectorAll(".thumb")].map((t) => [t.dataset.id, t]));
  const ordered = [...examples].sort((a, b) => (b.added || "").localeCompare(a.added || "") || a.id.localeCompare(b.id));
  const wanted = ordered.map((e) => {
    const t = have.get(e.id) || thumb(e);
    t.dataset.label = e.label;
    t.setAttribute("aria-label", `photo ${e.id} of ${e.label}: delete or move`);
    have.delete(e.id);
    return t;
  });
  for (const gone of have.values()) gone.remove();
  wanted.forEach((t, i) => { if (box.children[i] !== t) box.insertBefore(t, box.children[i] || null); });
}

function thumb(example) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "thumb";
  button.dataset.id = example.id;
  const img = document.createElement("img");
  img.loading = "lazy";
  img.alt = "";
  img.src = `/api/examples/${enc(example.id)}/image`;
  button.append(img);
  button.addEventListener("click", () => openPhoto(example.id, button.dataset.label));
  return button;
}

// --- adding, renaming and deleting classes ------------------------------------------

function showFieldError(input, errorNode, message) {
  errorNode.textContent = message || "";
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

function addClass(label) {
  const input = $("new-class");
  const problem = labelProblem(label)
    || (classNames().includes(label) ? `class '${label}' already exists` : null);
  if (problem) {
    showFieldError(input, $("new-class-error"), problem);
    input.focus();
    return false;
  }
  showFieldError(input, $("new-class-error"), "");
  state.pending.add(label);
  savePending();
  renderClasses();
  $("record-class").value = label;
  return true;
}

$("add-class").addEventListener("submit", (e) => {
  e.preventDefault();
  if (addClass($("new-class").value)) $("new-class").value = "";
});
$("new-class").addEventListener("input", () => {
  // Once an error shows, it follows the typing and goes away as soon as the name is good.
  if ($("new-class-error").textContent) {
    const value = $("new-class").value;
    showFieldError($("new-class"), $("new-class-error"), value ? labelProblem(value) : "");
  }
});
$("add-blank").addEventListener("click", () => addClass(BLANK));

function startRename(li) {
  if (li.querySelector(".rename-form")) return;
  const old = li.dataset.label;
  const form = document.createElement("form");
  form.className = "rename-form";
  form.noValidate = true;
  const uid = "r" + Math.random().toString(36).slice(2, 9);
  form.innerHTML = `<label for="${uid}">New name</label><input id="${uid}" type="text" autocomplete="off"
      aria-describedby="${uid}-error"><button type="submit">Save</button><button type="button" class="cancel">Cancel</button>
      <p id="${uid}-error" class="field-error" role="alert"></p>`;
  const input = form.querySelector("input"), error = form.querySelector(".field-error");
  input.value = old;
  form.querySelector(".cancel").addEventListener("click", () => { form.remove(); li.querySelector(".rename").focus(); });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const to = input.value;
    if (to === old) { form.remove(); return; }
    const problem = labelProblem(to);
    if (problem) { showFieldError(input, error, problem); input.focus(); return; }
    try {
      if (countOf(old) > 0) await api("POST", "/api/labels/rename", { from: old, to });
      if (state.pending.delete(old)) { if (countOf(to) === 0) state.pending.add(to); savePending(); }
      form.remove();
      await loadDataset();
    } catch (err) {
      showFieldError(input, error, err.message);
    }
  });
  li.querySelector(".class-head").append(form);
  input.focus();
  input.select();
}

async function deleteClass(label) {
  const n = countOf(label);
  if (!window.confirm(n ? `Delete class ${label} and its ${n} photo${n === 1 ? "" : "s"}?` : `Delete class ${label}?`)) return;
  try {
    if (n > 0) await api("DELETE", `/api/labels/${enc(label)}`);
    if (state.pending.delete(label)) savePending();
    say("upload-status", `Deleted class ${label}.`);
  } catch (err) {
    say("upload-status", `Could not delete class ${label}: ${err.message}`, true);
  }
  await loadDataset();
}

// --- uploading photos ------------------------------------------------------------------

// Every file of a drop, folders read through; each with the folder it was in (or "").
async function droppedFiles(transfer) {
  const found = [];
  const entries = [...transfer.items].map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry()).filter(Boolean);
  if (!entries.length) {
    for (const file of transfer.files) found.push({ file, folder: "" });
  }
  async function walk(entry, folder) {
    if (entry.isFile) {
      const file = await new Promise((ok, fail) => entry.file(ok, fail));
      found.push({ file, folder });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((ok, fail) => reader.readEntries(ok, fail));
        if (!batch.length) break;
        for (const child of batch) await walk(child, entry.name);
      }
    }
  }
  for (const entry of entries) await walk(entry, "");
  return found.filter(({ file }) => IMAGE_NAME.test(file.name) || (file.type || "").startsWith("image/"));
}

// A folder of folders dropped on the class list (not on one class): each folder is a class.
$("classes").addEventListener("dragover", (e) => e.preventDefault());
$("classes").addEventListener("drop", async (e) => {
  e.preventDefault();
  const found = await droppedFiles(e.dataTransfer);
  const loose = found.filter((f) => !f.folder);
  if (loose.length) say("upload-status", `Drop loose photos onto a class; ${loose.length} not added.`, true);
  uploadFiles(found.filter((f) => f.folder).map(({ file, folder }) => ({ file, label: folder })));
});
// A drop that misses every target must not navigate away from the page to the photo.
window.addEventListener("dragover", (e) => e.preventDefault());
window.addEventListener("drop", (e) => e.preventDefault());

async function uploadFiles(items) {
  if (!items.length) { say("upload-status", "No photos (.jpg, .jpeg, .png) in what was dropped.", true); return; }
  state.uploading = true;
  let added = 0, present = 0;
  const refused = [];
  for (const [i, { file, label }] of items.entries()) {
    say("upload-status", `Uploading ${i + 1} of ${items.length} into ${label}…`);
    const problem = labelProblem(label);
    if (problem) { refused.push(`${file.name}: ${problem}`); continue; }
    const form = new FormData();
    form.append("label", label);
    form.append("file", file, file.name);
    try {
      const answer = await fetchStatus("POST", "/api/examples", form);
      if (answer === 201) added++; else present++;
    } catch (err) {
      refused.push(`${file.name}: ${err.message}`);
    }
    if ((i + 1) % 10 === 0) loadDataset();
  }
  state.uploading = false;
  const parts = [`Added ${added} photo${added === 1 ? "" : "s"}`];
  if (present) parts.push(`${present} already there`);
  if (refused.length) parts.push(`${refused.length} refused — ${refused.slice(0, 3).join("; ")}${refused.length > 3 ? "; …" : ""}`);
  say("upload-status", parts.join(", ") + ".", refused.length > 0);
  await loadDataset();
}

// The status of a successful answer (201 new, 200 already there), else ApiFailure.
async function fetchStatus(method, path, body) {
  let response;
  try {
    response = await fetch(path, { method, body, headers: { Accept: "application/json" } });
  } catch (err) {
    throw new ApiFailure(0, "the dashboard is not answering");
  }
  if (response.ok) return response.status;
  let message = `HTTP ${response.status}`;
  try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
  throw new ApiFailure(response.status, message);
}

// --- one photo: look, delete, move ----------------------------------------------------

let photoOpen = null;
function openPhoto(id, label) {
  photoOpen = { id, label };
  $("photo-title").textContent = `Photo ${id} of ${label}`;
  $("photo-big").src = `/api/examples/${enc(id)}/image`;
  $("photo-big").alt = `photo ${id} of class ${label}`;
  const others = classNames().filter((n) => n !== label);
  $("photo-move-to").replaceChildren(...others.map((n) => new Option(n, n)));
  $("photo-move").disabled = others.length === 0;
  say("photo-status", others.length ? "" : "Add another class to move photos into.");
  $("photo-dialog").showModal();
}

$("photo-delete").addEventListener("click", async () => {
  try {
    await api("DELETE", `/api/examples/${enc(photoOpen.id)}`);
    $("photo-dialog").close();
    say("upload-status", `Deleted photo ${photoOpen.id} of ${photoOpen.label}.`);
    await loadDataset();
  } catch (err) {
    say("photo-status", "Could not delete it: " + err.message, true);
  }
});

$("photo-move").addEventListener("click", async () => {
  const to = $("photo-move-to").value;
  try {
    await api("PATCH", `/api/examples/${enc(photoOpen.id)}`, { label: to });
    $("photo-dialog").close();
    say("upload-status", `Moved photo ${photoOpen.id} from ${photoOpen.label} to ${to}.`);
    await loadDataset();
  } catch (err) {
    say("photo-status", "Could not move it: " + err.message, true);
  }
});

// --- recording from the camera ---------------------------------------------------------

function renderRecordTargets(names) {
  const select = $("record-class");
  const before = select.value;
  select.replaceChildren(...names.map((n) => new Option(n, n)));
  if (names.includes(before)) select.value = before;
  updateRecordButton();
}

function updateRecordButton() {
  const button = $("record");
  const hasClass = $("record-class").options.length > 0;
  button.disabled = !state.recording && (!state.cameraOk || !hasClass);
  $("record-help").textContent = !state.cameraOk
    ? "Recording needs the camera; upload photos instead until it is back."
    : !hasClass ? "Add a class first, then hold the button (or hold Space) to record into it."
    : "Hold the button, or hold Space, while the thing is in front of the camera.";
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

async function startRecording() {
  if (state.recording || $("record").disabled) return;
  const label = $("record-class").value;
  const rate = Math.min(10, Math.max(0.5, Number($("record-rate").value) || 3));
  const run = { label, taken: 0, skipped: 0, active: true };
  state.recording = run;
  const button = $("record");
  button.classList.add("recording");
  button.setAttribute("aria-pressed", "true");
  button.textContent = "Recording — release to stop";
  $("record-thumbs").replaceChildren();
  const card = [...$("classes").children].find((li) => li.dataset.label === label);
  if (card) card.classList.add("recording-into");
  if ($("record-countdown").checked) {
    for (let n = 3; n > 0 && run.active; n--) {
      say("record-status", `Recording into ${label} in ${n}…`);
      await sleep(1000);
    }
  }
  while (run.active) {
    const started = performance.now();
    try {
      const answer = await api("POST", "/api/examples/capture", { label });
      if (answer.skipped) run.skipped++;
      else {
        run.taken++;
        const t = thumb(answer);
        t.dataset.label = label;
        $("record-thumbs").prepend(t);
        state.dataset.classes[label] = countOf(label) + (answer.id ? 1 : 0);
        if (state.pending.delete(label)) savePending();
      }
      say("record-status", `${label}: ${run.taken} new photo${run.taken === 1 ? "" : "s"}, ` +
          `${run.skipped} skipped as near-duplicates`);
      if (run.taken % 5 === 1) loadDataset();
    } catch (err) {
      say("record-status", `Recording stopped: ${err.message}`, true);
      break;
    }
    await sleep(Math.max(0, 1000 / rate - (performance.now() - started)));
  }
  run.active = false;
  if (card) card.classList.remove("recording-into");
  if (state.recording === run) state.recording = null;
  button.classList.remove("recording");
  button.setAttribute("aria-pressed", "false");
  button.textContent = "Hold to record";
  updateRecordButton();
  await loadDataset();
}

function stopRecording() {
  if (state.recording) state.recording.active = false;
}

$("record").setAttribute("aria-pressed", "false");
$("record").addEventListener("pointerdown", (e) => {
  if (e.button !== 0) return;
  $("record").setPointerCapture(e.pointerId);
  startRecording();
});
for (const kind of ["pointerup", "pointercancel", "lostpointercapture"]) $("record").addEventListener(kind, stopRecording);
$("record").addEventListener("click", (e) => e.preventDefault());   // a click is a press too short to record

// Keys that belong to what has focus: typing in a field, choosing in a list, pressing a button.
function ownKeys(target) {
  if (!(target instanceof Element)) return false;
  if (target.closest("dialog[open]")) return true;
  return target.matches("input, textarea, select, button, a[href], summary, [contenteditable]");
}

document.addEventListener("keydown", (e) => {
  if (e.key === " " && (!ownKeys(e.target) || e.target === $("record"))) {
    e.preventDefault();
    if (!e.repeat) startRecording();
  } else if (e.key === "Enter" && !ownKeys(e.target) && !e.repeat) {
    e.preventDefault();
    startTraining();
  }
});
document.addEventListener("keyup", (e) => {
  if (e.key === " " && state.recording) { e.preventDefault(); stopRecording(); }
});
window.addEventListener("blur", stopRecording);

// --- training ---------------------------------------------------------------------------

function chosenMode() {
  return document.querySelector("input[name=mode]:checked").value;
}

async function startTraining() {
  if (state.job) { say("train-status", `Training job ${state.job.id} is still running.`); return; }
  const mode = chosenMode();
  $("train").disabled = true;
  say("train-status", `Starting ${mode} training…`);
  try {
    const answer = await api("POST", "/api/train", { mode });
    followJob(answer.job, mode);
  } catch (err) {
    $("train").disabled = false;
    say("train-status", "Cannot train: " + err.message, true);
  }
}

$("train").addEventListener("click", startTraining);
$("cancel").addEventListener("click", async () => {
  if (!state.job) return;
  $("cancel").disabled = true;
  say("train-status", "Cancelling…");
  try {
    await api("POST", `/api/train/${enc(state.job.id)}/cancel`);
  } catch (err) {
    say("train-status", "Could not cancel: " + err.message, true);
  }
});

function followJob(id, mode) {
  if (state.job && state.job.id === id) return;
  const job = { id, mode, source: null, ended: false };
  state.job = job;
  $("train").disabled = true;
  $("cancel").disabled = false;
  $("progress").value = 0;
  say("train-status", `Training (${mode || "…"}) queued as job ${id}…`);
  const source = new EventSource(`/api/train/${enc(id)}/events`);
  job.source = source;
  const on = (name, handler) => source.addEventListener(name, (e) => handler(JSON.parse(e.data)));
  on("state", (d) => { if (d.state === "running") say("train-status", `Training (${mode || "…"}) started…`); });
  on("step", (d) => {
    if (typeof d.progress === "number") $("progress").value = d.progress;
    say("train-status", `${Math.round(100 * $("progress").value)} % — ${d.text || "training"}`);
  });
  on("epoch", (d) => {
    say("train-status", `${Math.round(100 * $("progress").value)} % — ${d.phase || "epoch"} ${d.epoch}: ` +
        `validation accuracy ${pct(d.val_acc)}, loss ${num(d.val_loss)}`);
  });
  on("error", (d) => { if (d && d.error) say("train-status", "Training failed: " + d.error, true); });
  on("end", (d) => jobEnded(job, d));
  source.onerror = () => {
    // The stream resumes by itself (Last-Event-ID); one the server refuses is asked for plainly.
    if (source.readyState === EventSource.CLOSED && !job.ended) pollJob(job);
  };
}

async function pollJob(job) {
  while (!job.ended && state.job === job) {
    try {
      const d = await api("GET", `/api/train/${enc(job.id)}`);
      if (typeof d.progress === "number") $("progress").value = d.progress;
      if (!["queued", "running"].includes(d.state)) { jobEnded(job, d); return; }
      say("train-status", `${Math.round(100 * d.progress)} % — training (${d.state})`);
    } catch (err) {
      say("train-status", "Lost the training job: " + err.message, true);
      jobEnded(job, { state: "unknown" });
      return;
    }
    await sleep(1000);
  }
}

async function jobEnded(job, d) {
  if (job.ended) return;
  job.ended = true;
  if (job.source) job.source.close();
  if (state.job === job) state.job = null;
  $("train").disabled = false;
  $("cancel").disabled = true;
  if (d.state === "done") {
    $("progress").value = 1;
    // "Done" is said only once the new model's figures are on screen, so nobody reads an old model's.
    say("train-status", `Trained model ${d.model}; loading its figures…`);
    await loadModels();
    await showModel(d.model, "just trained");
    say("train-status", `Done: model ${d.model}${d.reused ? " (already trained on these photos with these settings)" : ""}.`);
  } else if (d.state === "cancelled") {
    $("progress").value = 0;
    say("train-status", "Training cancelled; no model was written.");
  } else if (d.state === "failed") {
    say("train-status", "Training failed: " + (d.error || "no reason given"), true);
  }
}

// --- the model panel ----------------------------------------------------------------------

const pct = (x) => (typeof x === "number" ? (100 * x).toFixed(1) + " %" : "–");
const num = (x) => (typeof x === "number" ? x.toFixed(3) : "–");
const shortVersion = (v) => (v ? v.replace(/^sha256:/, "").slice(0, 10) : "–");
const shortTime = (iso) => {
  if (!iso) return "–";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString([], { dateStyle: "short", timeStyle: "short" });
};

async function showModel(id, why) {
  try {
    const detail = await api("GET", `/api/models/${enc(id)}`);
    state.shown = { detail, why };
    renderModel();
  } catch (err) {
    $("model-which").textContent = `(model ${id}: ${err.message})`;
  }
}

// The confusion matrix as {classes, matrix}, whichever shape the API gave it in.
function confusionOf(detail) {
  const c = detail.confusion;
  if (!c) return null;
  if (Array.isArray(c)) return { classes: detail.classes || [], matrix: c };
  if (Array.isArray(c.matrix)) return { classes: c.classes || detail.classes || [], matrix: c.matrix };
  return null;
}

function classCounts(model) {
  if (model.class_counts) return model.class_counts;
  if (model.dataset_version && model.dataset_version === state.dataset.version) return state.dataset.classes;
  return null;
}

function classesText(model) {
  const counts = classCounts(model);
  const names = model.classes || Object.keys(counts || {});
  return names.map((n) => counts && counts[n] != null ? `${n} (${counts[n]})` : n).join(", ");
}

function renderModel() {
  const shown = state.shown;
  $("model-empty").hidden = !!shown;
  $("model-body").hidden = !shown;
  if (!shown) { $("model-which").textContent = ""; return; }
  const m = shown.detail;
  const deployed = m.id === state.deployed;
  $("model-which").textContent = `${m.id} — ${deployed ? "deployed" : shown.why}`;
  $("model-summary").textContent = `${m.mode || "model"} · created ${shortTime(m.created)} · dataset ` +
    `${shortVersion(m.dataset_version)} · validation accuracy ${pct(m.val_accuracy)} · classes: ${classesText(m)}`;
  $("deploy").disabled = deployed;
  $("deploy").textContent = deployed ? "In use on the camera" : "Use this model";

  const body = document.querySelector("#per-class tbody");
  const perClass = m.per_class || {};
  body.replaceChildren(...Object.entries(perClass).map(([label, acc]) => {
    const tr = document.createElement("tr");
    tr.dataset.label = label;
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = label;
    const value = document.createElement("td");
    value.className = "accuracy";
    value.textContent = acc == null ? "no validation photo" : pct(acc);
    const bar = document.createElement("td");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.style.width = (acc == null ? 0 : 100 * acc) + "%";
    if (acc != null && acc < 0.7) fill.className = "low";
    bar.append(fill);
    tr.append(name, value, bar);
    return tr;
  }));
  const confusion = confusionOf(m);
  drawConfusion(confusion);
  drawCurves(m.history || []);
  renderModelWarnings(m, confusion);
}

$("deploy").addEventListener("click", () => { if (state.shown) deploy(state.shown.detail.id, "deploy-status"); });

async function deploy(id, statusId) {
  try {
    await api("POST", `/api/models/${enc(id)}/deploy`);
    say(statusId, `Model ${id} is deployed; the camera switches to it within a few seconds.`);
    await loadModels();
    renderModel();
  } catch (err) {
    say(statusId, `Could not deploy ${id}: ${err.message}`, true);
  }
}

// Crisp drawing at the screen's pixel density: the canvas sized in CSS pixels.
function prepare(canvas, width, height) {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.width = width + "px";     // drawn at its own size; CSS only ever shrinks it to fit
  canvas.style.aspectRatio = `${width} / ${height}`;
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  g.font = "12px system-ui, sans-serif";
  return g;
}

function drawConfusion(confusion) {
  const canvas = $("confusion");
  if (!confusion || !confusion.matrix.length) {
    const g = prepare(canvas, 360, 60);
    g.fillStyle = "#6b7683";
    g.fillText("No validation confusion matrix for this model.", 8, 30);
    $("confusion-text").textContent = "";
    return;
  }
  const { classes, matrix } = confusion;
  const n = matrix.length;
  const g0 = canvas.getContext("2d");
  g0.font = "12px system-ui, sans-serif";
  const labelW = Math.min(120, 10 + Math.max(...classes.map((c) => g0.measureText(c).width)));
  const cell = Math.max(22, Math.min(48, Math.floor(300 / n)));
  const top = labelW + 8, left = labelW + 8;
  const caption = "rows: true class · columns: predicted";
  const width = Math.max(left + n * cell + 8, g0.measureText(caption).width + 12), height = top + n * cell + 22;
  const g = prepare(canvas, width, height);
  const most = Math.max(1, ...matrix.flat());
  g.textBaseline = "middle";
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = matrix[i][j], share = v / most;
      // Right answers in green, mix-ups in red, both darker the more photos they hold.
      g.fillStyle = v === 0 ? "#f4f6f8" : i === j ? `rgba(31,157,85,${0.2 + 0.8 * share})` : `rgba(214,69,69,${0.25 + 0.75 * share})`;
      g.fillRect(left + j * cell, top + i * cell, cell - 1, cell - 1);
      g.fillStyle = share > 0.55 ? "#fff" : "#1d232b";
      const text = String(v);
      g.fillText(text, left + j * cell + (cell - g.measureText(text).width) / 2, top + i * cell + cell / 2);
    }
  }
  g.fillStyle = "#1d232b";
  for (let i = 0; i < n; i++) {
    g.fillText(classes[i] || String(i), 4, top + i * cell + cell / 2, labelW);
    g.save();
    g.translate(left + i * cell + cell / 2, top - 6);
    g.rotate(-Math.PI / 2);
    g.fillText(classes[i] || String(i), 0, 0, labelW);
    g.restore();
  }
  g.fillStyle = "#6b7683";
  g.fillText(caption, 4, height - 10);
  const right = matrix.reduce((s, row, i) => s + (row[i] || 0), 0), all = matrix.flat().reduce((a, b) => a + b, 0);
  $("confusion-text").textContent = `${right} of ${all} validation photos named right; rows are the true class, columns the predicted one.`;
}

function drawCurves(history) {
  const canvas = $("curves");
  const width = 360, height = 220;
  const g = prepare(canvas, width, height);
  if (!history.length) {
    g.fillStyle = "#6b7683";
    g.fillText("No training history for this model.", 8, 30);
    $("curves-text").textContent = "";
    return;
  }
  const plot = { left: 40, right: width - 10, top: 12, bottom: height - 44 };
  const x = (i) => plot.left + (history.length === 1 ? 0.5 : i / (history.length - 1)) * (plot.right - plot.left);
  const y = (v) => plot.bottom - v * (plot.bottom - plot.top);
  g.strokeStyle = "#dde1e6";
  g.fillStyle = "#6b7683";
  g.textBaseline = "middle";
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    g.beginPath(); g.moveTo(plot.left, y(v)); g.lineTo(plot.right, y(v)); g.stroke();
    g.fillText(`${v * 100}%`, 4, y(v));
  }
  const losses = history.flatMap((h) => [h.train_loss, h.val_loss]).filter((v) => typeof v === "number" && isFinite(v));
  const maxLoss = Math.max(1e-6, ...losses);
  const series = [
    ["val_acc", "#2c5fab", [], (v) => v, "validation accuracy"],
    ["train_acc", "#2c5fab", [5, 4], (v) => v, "training accuracy"],
    ["val_loss", "#e0742b", [], (v) => v / maxLoss, "validation loss (scaled)"],
    ["train_loss", "#e0742b", [5, 4], (v) => v / maxLoss, "training loss (scaled)"],
  ];
  series.forEach(([key, colour, dash, scale, name], k) => {
    const points = history.map((h, i) => [i, h[key]]).filter(([, v]) => typeof v === "number" && isFinite(v));
    g.strokeStyle = colour;
    g.fillStyle = colour;
    g.setLineDash(dash);
    g.lineWidth = 2;
    g.beginPath();
    points.forEach(([i, v], p) => (p ? g.lineTo(x(i), y(scale(v))) : g.moveTo(x(i), y(scale(v)))));
    g.stroke();
    if (points.length === 1) g.fillRect(x(points[0][0]) - 2, y(scale(points[0][1])) - 2, 4, 4);
    const lx = 4 + (k % 2) * 178, ly = height - 30 + Math.floor(k / 2) * 16;
    g.beginPath(); g.moveTo(lx, ly); g.lineTo(lx + 18, ly); g.stroke();
    g.setLineDash([]);
    g.fillStyle = "#1d232b";
    g.fillText(name, lx + 22, ly, 150);
  });
  g.setLineDash([]);
  g.lineWidth = 1;
  const last = history[history.length - 1];
  $("curves-text").textContent = `${history.length} point${history.length === 1 ? "" : "s"}; ` +
    `last: training accuracy ${pct(last.train_acc)}, validation accuracy ${pct(last.val_acc)}.`;
}

// Warnings a person can act on: a class with too few photos, two classes the model mixes up.
function renderModelWarnings(model, confusion) {
  const warnings = [];
  const counts = classCounts(model) || {};
  for (const label of model.classes || []) {
    if (counts[label] != null && counts[label] < FEW_PHOTOS) {
      warnings.push(`Class ${label} has only ${counts[label]} photo${counts[label] === 1 ? "" : "s"}: about 30, from different angles, teach it better.`);
    }
  }
  if (confusion) {
    const { classes, matrix } = confusion;
    const rows = matrix.map((row) => row.reduce((a, b) => a + b, 0));
    for (let i = 0; i < matrix.length; i++) {
      for (let j = i + 1; j < matrix.length; j++) {
        const mixed = (matrix[i][j] || 0) + (matrix[j][i] || 0), both = rows[i] + rows[j];
        if (mixed > 0 && both > 0 && mixed / both >= CONFUSED_SHARE) {
          warnings.push(`${classes[i]} and ${classes[j]} are often confused (${mixed} of their ${both} validation photos): ` +
                        "add photos that show how they differ.");
        }
      }
    }
  }
  $("model-warnings").replaceChildren(...warnings.map((w) => Object.assign(document.createElement("li"), { textContent: w })));
}

function renderDatasetWarnings(names) {
  const warnings = [];
  const withPhotos = names.filter((n) => countOf(n) > 0);
  if (withPhotos.length < 2) warnings.push("Training needs at least two classes with photos.");
  for (const name of names) {
    const n = countOf(name);
    if (n < FEW_PHOTOS) warnings.push(`Class ${name} has ${n === 0 ? "no photos" : `only ${n} photo${n === 1 ? "" : "s"}`}` +
                                      (n < 2 ? " (training needs 2 at least)" : ": about 30 teach it better") + ".");
  }
  $("dataset-warnings").replaceChildren(...warnings.map((w) => Object.assign(document.createElement("li"), { textContent: w })));
}

// --- the model list ------------------------------------------------------------------------

// Returns whether the list changed; it is redrawn only then, so a control in it keeps its focus.
async function loadModels() {
  try {
    const data = await api("GET", "/api/models");
    const key = JSON.stringify(data);
    if (key === state.modelsKey) return false;
    state.modelsKey = key;
    state.models = data.models || [];
    state.deployed = data.deployed !== undefined ? data.deployed : (state.models.find((m) => m.deployed) || {}).id || null;
  } catch (err) {
    apiDown(err);
  }
  renderModels();
  return true;
}

function renderModels() {
  const models = [...state.models].sort((a, b) => (b.created || "").localeCompare(a.created || ""));
  const deployed = models.find((m) => m.id === state.deployed);
  const body = document.querySelector("#models tbody");
  body.replaceChildren(...models.map((m) => {
    const tr = document.createElement("tr");
    tr.dataset.model = m.id;
    tr.className = m.id === state.deployed ? "deployed" : "";
    const cells = [m.id, shortTime(m.created), m.mode || "–", shortVersion(m.dataset_version), classesText(m), pct(m.val_accuracy)];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      if (i === 0) {
        const show = document.createElement("button");
        show.type = "button";
        show.className = "show-model";
        show.textContent = text;
        show.setAttribute("aria-label", `Show model ${m.id}`);
        show.addEventListener("click", () => showModel(m.id, "chosen from the list"));
        td.append(show);
      } else {
        td.textContent = text;
      }
      if (i === 3) td.title = m.dataset_version || "";
      if (i === 4) td.className = "classes-cell";
      tr.append(td);
    });
    const action = document.createElement("td");
    action.className = "state";
    if (m.id === state.deployed) {
      action.innerHTML = '<span class="badge">Deployed</span>';
    } else {
      const button = document.createElement("button");
      button.type = "button";
      const older = deployed && (m.created || "") < (deployed.created || "");
      button.textContent = older ? "Roll back" : "Deploy";
      button.className = older ? "rollback" : "deploy";
      button.setAttribute("aria-label", `${older ? "Roll back to" : "Deploy"} model ${m.id}`);
      button.addEventListener("click", () => deploy(m.id, "models-status"));
      action.append(button);
    }
    tr.append(action);
    return tr;
  }));
  $("models-empty").hidden = models.length > 0;
}

// --- export and import ----------------------------------------------------------------------

$("import").addEventListener("click", async () => {
  const file = $("import-file").files[0];
  if (!file) { say("state-status", "Choose a project zip first.", true); return; }
  say("state-status", `Importing ${file.name}…`);
  try {
    const form = new FormData();
    form.append("file", file, file.name);
    const r = await api("POST", "/api/state", form);
    say("state-status", `Imported ${file.name}: ${r.examples_added} new photos (${r.examples_present} already here), ` +
        `${(r.models_added || []).length} new models` + (r.deployed ? `; deployed model ${r.deployed}.` : "."));
    $("import-file").value = "";
    await Promise.all([loadDataset(), loadModels()]);
    renderModel();
  } catch (err) {
    say("state-status", "Import refused: " + err.message, true);
  }
});

// --- the pipeline's health and the live prediction (the dashboard's /events) ------------------

function showHealth(health) {
  const overall = $("overall");
  const failing = health.checks.filter((c) => !c.ok && !c.idle);
  overall.className = "overall " + (failing.length ? "bad" : "ok");
  overall.textContent = failing.length === 1 ? `Down: ${failing[0].title} — ${failing[0].detail}`
    : failing.length ? "Down: " + failing.map((c) => c.title).join(", ")
    : "All parts up";
  overall.title = health.checks.map((c) => `${c.title}: ${c.ok ? "up" : c.detail}`).join("\n");
  const camera = health.checks.find((c) => c.part === "camera");
  setCamera(camera ? camera.ok : false, camera ? camera.detail : "no camera check", camera ? camera.idle : false);
}

// The camera can be recorded from when the edge says it is healthy, and also when it answers
// but reports a problem elsewhere: its broker is down, or it waits for a first model (its
// camera runs and serves frames to record from, though its annotated stream has none to show).
// Only an edge that does not answer at all (health.py: "edge function at URL: ...") or has
// finished its recording is no camera; if a capture still fails, the recording says why.
const UNREACHABLE = /^edge function at /;

function setCamera(ok, detail, idle) {
  state.cameraCheck = { ok, detail, answers: ok || (!idle && !UNREACHABLE.test(detail)) };
  if (state.cameraCheck.answers && !state.streamLive) reloadStream();
  cameraChanged();
}

function cameraChanged() {
  const check = state.cameraCheck || { ok: false, detail: "checking…", answers: false };
  const usable = check.answers || state.streamLive;
  state.cameraOk = usable;
  $("camera-note").textContent = check.ok ? "Camera live: hold the button to record photos from it."
    : usable ? `The camera answers, though the edge reports: ${check.detail}. Recording works.`
    : `No camera (${check.detail}). Uploading photos, training and deploying still work; recording waits for the camera.`;
  $("camera-note").classList.toggle("bad", !usable);
  if (!usable) {
    stopRecording();
    $("stream-missing").textContent = "No camera — " + check.detail;
    $("stream-missing").hidden = false;
  }
  updateRecordButton();
}

function showCurrent(cur) {
  $("now-label").textContent = cur ? cur.label : "–";
  $("now-probability").textContent = cur && typeof cur.probability === "number" ? cur.probability.toFixed(1) + " %" : "–";
  const model = cur && (cur.model || cur.model_id);
  $("now-model").textContent = model || "–";   // older predictions do not name their model
}

// The stream is asked for again every few seconds until it plays: the page finds the camera
// as soon as it is back, whatever the health check says.
let retryTimer = null;
function reloadStream() {
  clearTimeout(retryTimer);
  $("stream").src = "/stream.mjpg?t=" + Date.now();
}
$("stream").addEventListener("load", () => {
  $("stream-missing").hidden = true;
  if (!state.streamLive) { state.streamLive = true; cameraChanged(); }
});
$("stream").addEventListener("error", () => {
  $("stream-missing").hidden = false;
  clearTimeout(retryTimer);
  retryTimer = setTimeout(reloadStream, 3000);
  if (state.streamLive) { state.streamLive = false; cameraChanged(); }
});

function connect() {
  const events = new EventSource("/events");
  const on = (name, handler) => events.addEventListener(name, (e) => handler(JSON.parse(e.data)));
  on("health", showHealth);
  on("current", showCurrent);
  events.onerror = () => {
    if (events.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
  };
}

// --- keeping up with what others change (the CLI, the API, another page) -----------------------

async function refresh() {
  try {
    const overview = await api("GET", "/api/teach");
    apiDown(null);
    if (overview.dataset && overview.dataset.version !== state.dataset.version && !state.recording && !state.uploading) {
      await loadDataset();
    }
    // Models trained or deployed elsewhere (the CLI, the API, another page) show up here too.
    if (await loadModels()) {
      const newest = [...state.models].sort((a, b) => (b.created || "").localeCompare(a.created || ""))[0];
      const first = state.deployed || (newest && newest.id);
      if (!state.shown && first) await showModel(first, state.deployed ? "deployed" : "newest");
      else renderModel();
    }
    if (overview.job && !state.job) followJob(overview.job.job, overview.job.mode);
  } catch (err) {
    apiDown(err);
  }
}

async function start() {
  $("stream-missing").hidden = false;
  $("stream-missing").textContent = "camera stream unavailable — retrying";
  reloadStream();
  renderClasses();
  renderModel();
  connect();
  await Promise.all([loadDataset(), loadModels()]);
  // The deployed model, else the newest, whoever trained it.
  const newest = [...state.models].sort((a, b) => (b.created || "").localeCompare(a.created || ""))[0];
  const first = state.deployed || (newest && newest.id);
  if (first && !state.shown) await showModel(first, state.deployed ? "deployed" : "newest");
  await refresh();
  setInterval(refresh, 4000);
  document.body.dataset.ready = "true";
}

start();
