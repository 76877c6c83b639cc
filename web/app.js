// mailsift's page: everything it does goes through the public API (/v1/...), as curl would.
"use strict";

// bytes a PUT carries: the API's limit, or less with ?chunk=N in the page's address (slow links)
const CHUNK = Math.min(8 << 20, Number(new URLSearchParams(location.search).get("chunk")) || (8 << 20));
const PREVIEW_BYTES = 65536;      // text read for the preview
const PREVIEW_ROWS = 8;
const VERDICTS = [                // Okabe-Ito colours: told apart with colour blindness too
  ["valid", "#009E73"], ["invalid", "#D55E00"], ["risky", "#E69F00"],
  ["catch_all", "#56B4E9"], ["unknown", "#7f7f7f"], ["duplicates", "#CC79A7"]];
const $ = (id) => document.getElementById(id);
let key = localStorage.getItem("mailsift_key") || "";
let chosen = null;                // {file, gzip, header, rows, col}
let polling = null;

// ---- the API ----

// api - a request with the key; resolves to {status, body (parsed JSON or null), blob}
async function api(method, path, body, asBlob) {
  const h = {Authorization: "Bearer " + key};
  if (body && !(body instanceof Blob)) { h["Content-Type"] = "application/json"; body = JSON.stringify(body); }
  let r;
  try {
    r = await fetch(path, {method, headers: h, body});
  } catch (e) {
    return {status: 0, body: {error: "network", detail: "The server cannot be reached (" + e.message + ")."}};
  }
  if (asBlob && r.ok) return {status: r.status, blob: await r.blob()};
  let j = null;
  try { j = await r.json(); } catch (e) { j = null; }
  return {status: r.status, body: j};
}

// words - what an API error means, in words
function words(res) {
  const b = res.body || {};
  if (res.status === 401) return "This API key is not one of this server's. Check it, or ask for a new one.";
  if (res.status === 413) return "The file is too large for this server (" + (b.detail || "over its limit") + ").";
  if (res.status === 429) return "Too many lists at once for this key: " + (b.detail || "wait a little");
  if (res.status === 0) return b.detail;
  return (b.detail || b.error || ("the server answered " + res.status));
}

function say(id, text) { $(id).textContent = text || ""; }

// ---- the key ----

async function useKey(k) {
  key = k;
  const res = await api("GET", "/v1/jobs");
  if (res.status !== 200) { say("keyerr", words(res)); return false; }
  localStorage.setItem("mailsift_key", k);
  say("keyerr", "");
  $("keybox").hidden = true;
  $("app").hidden = false;
  showJobs(res.body.jobs);
  return true;
}

$("keyform").addEventListener("submit", (e) => { e.preventDefault(); useKey($("key").value.trim()); });
$("forget").addEventListener("click", (e) => {
  e.preventDefault();
  localStorage.removeItem("mailsift_key");
  key = "";
  $("app").hidden = true;
  $("keybox").hidden = false;
  $("key").value = "";
  $("key").focus();
});

// ---- choosing a file: preview and the address column ----

// parseCsv - the first records of TEXT (RFC 4180 quotes; a comma, semicolon, tab or pipe)
function parseCsv(text, max) {
  const first = text.split(/\r?\n/, 1)[0];
  const delim = [",", ";", "\t", "|"].reduce((a, d) => first.split(d).length > first.split(a).length ? d : a, ",");
  const rows = [];
  let row = [], cell = "", q = false;
  for (let i = 0; i < text.length && rows.length < max; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') q = false; else cell += c;
    } else if (c === '"' && cell === "") q = true;
    else if (c === delim) { row.push(cell); cell = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell); cell = "";
      if (row.length > 1 || row[0] !== "") rows.push(row);
      row = [];
    } else cell += c;
  }
  return rows;
}

// pickColumn - the column the importers would pick: a header naming an email column, else the
// one whose cells hold an @ most often
function pickColumn(rows) {
  const names = /^(e-?mail|email[ _-]?address|mail|courriel|correo)$/i;
  if (rows.length && rows[0].some((c) => names.test(c.trim()))) {
    return {header: true, col: rows[0].findIndex((c) => names.test(c.trim()))};
  }
  const width = Math.max(...rows.map((r) => r.length));
  let best = 0, bestN = -1;
  for (let c = 0; c < width; c++) {
    const n = rows.filter((r) => /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test((r[c] || "").trim())).length;
    if (n > bestN) { best = c; bestN = n; }
  }
  const headerLike = rows.length > 1 && !/@/.test(rows[0][best] || "");
  return {header: headerLike, col: best};
}

async function readStart(file) {
  const head = new Uint8Array(await file.slice(0, 2).arrayBuffer());
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  let stream = file.stream();
  if (gzip) stream = stream.pipeThrough(new DecompressionStream("gzip"));
  const reader = stream.getReader(), dec = new TextDecoder("utf-8", {fatal: false});
  let text = "";
  try {
    while (text.length < PREVIEW_BYTES) {
      const {done, value} = await reader.read();
      if (done) break;
      text += dec.decode(value, {stream: true});
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  return {gzip, text};
}

function renderPreview() {
  const t = $("preview"), {rows, header, col} = chosen;
  t.textContent = "";
  rows.slice(0, PREVIEW_ROWS + (header ? 1 : 0)).forEach((r, i) => {
    const tr = t.insertRow();
    r.forEach((c, k) => {
      const cellEl = document.createElement(i === 0 && header ? "th" : "td");
      cellEl.textContent = c;
      if (k === col) cellEl.className = "pick";
      tr.appendChild(cellEl);
    });
  });
}

async function choose(file) {
  say("fileerr", "");
  say("uploaderr", "");
  $("resultbox").hidden = true;
  let start;
  try {
    start = await readStart(file);
  } catch (e) {
    say("fileerr", file.name + ": cannot be read as a list (" + e.message + ")");
    return;
  }
  if (/[\x00-\x08\x0e-\x1f]/.test(start.text.slice(0, 4096)) || start.text.startsWith("\ufffdPNG")) {
    say("fileerr", file.name + " is not a list: it holds binary data (a CSV, TXT or .gz file is expected).");
    return;
  }
  const rows = parseCsv(start.text, PREVIEW_ROWS + 1);
  if (rows.length === 0) { say("fileerr", file.name + " is empty."); return; }
  const p = pickColumn(rows);
  chosen = {file, gzip: start.gzip, rows, header: p.header, col: p.col};
  const sel = $("column");
  sel.textContent = "";
  const width = Math.max(...rows.map((r) => r.length));
  for (let c = 0; c < width; c++) {
    const o = document.createElement("option");
    o.value = String(c);
    o.textContent = "column " + (c + 1) + (p.header && rows[0][c] ? " (" + rows[0][c] + ")" : "");
    sel.appendChild(o);
  }
  sel.value = String(p.col);
  say("fileinfo", file.name + ", " + fmtBytes(file.size) + (start.gzip ? " (gzip)" : "") +
      ". The highlighted column holds the addresses; choose another one if it is wrong.");
  $("previewbox").hidden = false;
  renderPreview();
}

$("column").addEventListener("change", () => { chosen.col = Number($("column").value); renderPreview(); });
$("file").addEventListener("change", () => { if ($("file").files[0]) choose($("file").files[0]); });
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  if (e.dataTransfer.files[0]) choose(e.dataTransfer.files[0]);
});
drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); $("file").click(); } });

// ---- upload (resumable) and the job's progress ----

function fmtBytes(n) { return n >= 1 << 20 ? (n / 1048576).toFixed(1) + " MiB" : n >= 1024 ? (n / 1024).toFixed(1) + " KiB" : n + " bytes"; }
function fileKey(f) { return "mailsift_upload:" + f.name + ":" + f.size + ":" + f.lastModified; }

async function upload() {
  const f = chosen.file;
  say("uploaderr", "");
  $("upload").disabled = true;
  let id = localStorage.getItem(fileKey(f)), offset = 0;
  if (id) { // the same file chosen again: go on where the server says
    const res = await api("GET", "/v1/jobs/" + id + "/upload");
    if (res.status === 200 && res.body.state === "uploading") offset = res.body.offset; else id = null;
  }
  if (!id) {
    const column = chosen.header && chosen.rows[0][chosen.col] ? chosen.rows[0][chosen.col] : chosen.col + 1;
    const res = await api("POST", "/v1/jobs", {name: f.name, column});
    if (res.status !== 201) { say("uploaderr", words(res)); $("upload").disabled = false; return; }
    id = res.body.id;
    localStorage.setItem(fileKey(f), id);
    refreshJobs();
  }
  $("progressbox").hidden = false;
  say("jobname", f.name);
  while (offset < f.size) {
    $("upbar").value = 100 * offset / f.size;
    say("uptext", fmtBytes(offset) + " of " + fmtBytes(f.size) + " sent (" + Math.floor(100 * offset / f.size) + "%)");
    const res = await api("PUT", "/v1/jobs/" + id + "/upload?offset=" + offset, f.slice(offset, offset + CHUNK));
    if (res.status === 409 && res.body && typeof res.body.offset === "number") { offset = res.body.offset; continue; }
    if (res.status !== 200) {
      say("uploaderr", words(res) + " Choose the same file again to go on from " + fmtBytes(offset) + ".");
      $("upload").disabled = false;
      return;
    }
    offset = res.body.offset;
  }
  $("upbar").value = 100;
  say("uptext", fmtBytes(f.size) + " sent (100%)");
  const res = await api("POST", "/v1/jobs/" + id + "/start");
  if (res.status !== 202) { say("uploaderr", words(res)); $("upload").disabled = false; return; }
  localStorage.removeItem(fileKey(f));
  $("upload").disabled = false;
  $("previewbox").hidden = true; // uploaded: the rest happens below
  follow(id);
}
$("upload").addEventListener("click", upload);

function follow(id) {
  if (polling) clearTimeout(polling);
  $("progressbox").hidden = false;
  let last = "";
  const tick = async () => {
    const res = await api("GET", "/v1/jobs/" + id);
    if (res.status !== 200) { say("joberr", words(res)); return; }
    const j = res.body;
    if (j.state !== last) { last = j.state; refreshJobs(); } // the list below shows it too
    say("jobname", j.name);
    $("jobbar").value = j.total ? 100 * j.done / j.total : 0;
    let line = j.state.replace("_", " ") + ": " + j.done.toLocaleString() + " of " + j.total.toLocaleString() + " rows";
    if (j.rate > 0) line += ", " + Math.round(j.rate).toLocaleString() + " rows/s";
    if (j.eta_seconds) line += ", about " + Math.ceil(j.eta_seconds / 60) + " min left";
    if (j.done > 0) line += ". So far: " + VERDICTS.map(([k]) => (j.counts[k] || 0).toLocaleString() + " " + k.replace("_", "-")).join(", ");
    say("jobtext", line);
    say("retrytext", j.retry_waiting > 0 && j.next_retry_at
      ? j.retry_waiting.toLocaleString() + " addresses wait for a retry at " +
        new Date(j.next_retry_at).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"}) +
        ": their servers asked us to come back later."
      : "");
    if (j.state === "failed") { say("joberr", "This list could not be cleaned: " + (j.error || "unknown error")); refreshJobs(); return; }
    if (j.state === "done") { say("joberr", ""); showResult(j); refreshJobs(); return; }
    polling = setTimeout(tick, 1000);
  };
  tick();
}

// ---- results ----

function chart(counts) {
  const w = 640, bar = 28, gap = 8, left = 90, max = Math.max(1, ...VERDICTS.map(([k]) => counts[k] || 0));
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 " + w + " " + VERDICTS.length * (bar + gap));
  svg.setAttribute("width", "100%");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", VERDICTS.map(([k]) => k + " " + (counts[k] || 0)).join(", "));
  VERDICTS.forEach(([k, colour], i) => {
    const n = counts[k] || 0, y = i * (bar + gap), len = Math.max(2, (w - left - 80) * n / max);
    const t = document.createElementNS(ns, "text");
    t.setAttribute("x", 0); t.setAttribute("y", y + bar * 0.7); t.textContent = k.replace("_", "-");
    const r = document.createElementNS(ns, "rect");
    r.setAttribute("x", left); r.setAttribute("y", y); r.setAttribute("width", len); r.setAttribute("height", bar);
    r.setAttribute("fill", colour);
    const v = document.createElementNS(ns, "text");
    v.setAttribute("x", left + len + 6); v.setAttribute("y", y + bar * 0.7); v.textContent = n.toLocaleString();
    svg.append(t, r, v);
  });
  return svg;
}

function showResult(j) {
  $("resultbox").hidden = false;
  $("resultbox").scrollIntoView();
  $("chart").textContent = "";
  $("chart").appendChild(chart(j.counts));
  const ul = $("files");
  ul.textContent = "";
  (j.files || []).forEach((f) => {
    const li = document.createElement("li"), b = document.createElement("button");
    const kind = f.name.replace(/\.csv(\.gz)?$|\.json$/, "");
    const n = j.counts[kind];
    const rows = kind in j.counts ? " (" + n.toLocaleString() + (n === 1 ? " row)" : " rows)") : "";
    b.type = "button";
    b.textContent = "Download " + f.name + rows;
    b.addEventListener("click", () => download(f));
    li.appendChild(b);
    ul.appendChild(li);
  });
}

async function download(f) {
  say("dlerr", "");
  const res = await api("GET", f.url, null, true);
  if (!res.blob) { say("dlerr", f.name + ": " + words(res)); return; }
  const a = document.createElement("a");
  a.href = URL.createObjectURL(res.blob);
  a.download = f.name;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 60000);
}

// ---- past jobs ----

function showJobs(jobs) {
  const t = $("jobs");
  t.textContent = "";
  const h = t.insertRow();
  ["List", "Made", "Rows", "State", "Valid", "Invalid", "Other", ""].forEach((s) => {
    const th = document.createElement("th"); th.textContent = s; h.appendChild(th);
  });
  jobs.slice().reverse().forEach((j) => {
    const r = t.insertRow(), c = j.counts || {};
    const other = (c.risky || 0) + (c.catch_all || 0) + (c.unknown || 0);
    [j.name, j.created_at ? new Date(j.created_at).toLocaleString() : "", (j.rows || 0).toLocaleString(),
     j.state.replace("_", " "), (c.valid || 0).toLocaleString(), (c.invalid || 0).toLocaleString(),
     other.toLocaleString()].forEach((s) => { r.insertCell().textContent = s; });
    const cell = r.insertCell(), open = document.createElement("button"), del = document.createElement("button");
    open.type = del.type = "button";
    open.textContent = "Open";
    open.setAttribute("aria-label", "Open " + j.name);
    open.addEventListener("click", () => follow(j.id));
    del.textContent = "Delete";
    del.className = "secondary";
    del.setAttribute("aria-label", "Delete " + j.name);
    del.addEventListener("click", async () => {
      if (!confirm("Delete " + j.name + ", its files and its rows? This cannot be undone.")) return;
      const res = await api("DELETE", "/v1/jobs/" + j.id);
      if (res.status !== 204) say("jobserr", j.name + ": " + words(res)); else refreshJobs();
    });
    cell.append(open, del);
  });
}

async function refreshJobs() {
  const res = await api("GET", "/v1/jobs");
  if (res.status === 200) { say("jobserr", ""); showJobs(res.body.jobs); } else say("jobserr", words(res));
}

if (key) useKey(key).then((ok) => { if (!ok) { $("keybox").hidden = false; } });
