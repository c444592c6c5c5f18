// BeatBot's chat widget: chat over POST /api/chat, live events over /ws, a tiny timeline.
"use strict";

const params = new URLSearchParams(location.search);
const token = params.get("token") || "";
const user = params.get("user") || "daw";
const thread = sessionStorage.getItem("beatbot-thread") || `w${Math.random().toString(36).slice(2, 10)}`;
sessionStorage.setItem("beatbot-thread", thread);

const $ = (id) => document.getElementById(id);
const log = $("log");
const progressByJob = new Map();
const players = new Map(); // clipId -> audio element
let pendingFiles = []; // [{fileId, name}] attached to the next message
let lastEventId = null;

function headers(extra = {}) {
  return { Authorization: `Bearer ${token}`, "x-user-id": user, ...extra };
}

function say(text, kind = "bot") {
  const item = document.createElement("li");
  item.className = kind;
  item.textContent = text;
  log.append(item);
  log.scrollTop = log.scrollHeight;
  return item;
}

function progressFor(jobId, parent) {
  let box = progressByJob.get(jobId);
  if (!box) {
    box = document.createElement("div");
    box.className = "progress";
    box.innerHTML = '<progress max="100" value="0"></progress><div class="stage">Queued</div>';
    box.querySelector("progress").setAttribute("aria-label", `Progress of job ${jobId}`);
    (parent || say(`Job ${jobId}`)).append(box);
    progressByJob.set(jobId, box);
  }
  return box;
}

function actionButtons(actions, extraLinks = []) {
  const bar = document.createElement("div");
  bar.className = "actions";
  for (const action of actions || []) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = action.label;
    button.addEventListener("click", () => send(action.command, action.generationId));
    bar.append(button);
  }
  for (const [label, url] of extraLinks) {
    const link = document.createElement("a");
    link.href = url;
    link.textContent = label;
    link.setAttribute("download", "");
    bar.append(link);
  }
  return bar;
}

function fileList(files) {
  const box = document.createElement("details");
  const summary = document.createElement("summary");
  summary.textContent = `Files (${files.length})`;
  const list = document.createElement("ul");
  list.className = "files";
  box.append(summary, list);
  for (const file of files || []) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = file.url;
    link.textContent = `${file.title} (${Math.max(1, Math.round(file.size / 1024))} KB)`;
    item.append(link);
    list.append(item);
  }
  return box;
}

function showResult(text, result, files, actions) {
  const item = say(text, "result");
  const audioUrl = result && (result.previewUrl || result.audioUrl);
  if (audioUrl) {
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.preload = "metadata";
    audio.src = audioUrl;
    audio.setAttribute("aria-label", text);
    item.append(audio);
    if (result.generationId) players.set(result.generationId, audio);
  }
  const links = result && result.audioUrl ? [["Download", result.audioUrl]] : [];
  item.append(actionButtons(actions, links));
  if (files && files.length) item.append(fileList(files));
  return item;
}

function showReply(reply) {
  switch (reply.type) {
    case "accepted": {
      const item = say(reply.text);
      progressFor(reply.jobId, item);
      break;
    }
    case "result":
      showResult(reply.text, null, reply.files, reply.actions);
      break;
    case "error":
      say(reply.text, "error");
      break;
    default:
      say(reply.text || "", reply.type);
  }
}

async function send(text, generationId = null) {
  say(text, "you");
  const body = { text, thread, fileIds: pendingFiles.map((f) => f.fileId) };
  if (generationId) body.generationId = generationId;
  pendingFiles = [];
  renderAttachments();
  try {
    const response = await fetch("/api/chat", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify(body),
    });
    const data = await response.json();
    if (!data.success) return say(data.error, "error");
    data.replies.forEach(showReply);
  } catch (err) {
    say("I couldn't reach BeatBot's server. Is `beatbot serve` running?", "error");
  }
}

// --- live events --------------------------------------------------------------------------

const handlers = {
  "generation:progress": (d) => {
    const box = progressFor(d.jobId);
    box.querySelector("progress").value = d.percent;
    box.querySelector(".stage").textContent = `${d.percent}% · ${d.stage}`;
  },
  "generation:completed": (d) => {
    const box = progressByJob.get(d.jobId);
    if (box) box.remove();
    progressByJob.delete(d.jobId);
    const result = { ...(d.result || {}), generationId: d.generationId };
    showResult(result.summary || "Done.", result, (d.result || {}).files, d.actions);
  },
  "generation:failed": (d) => {
    const box = progressByJob.get(d.jobId);
    if (box) box.remove();
    say(d.error, "failed");
  },
  "daw:audio:loaded": (d) => {
    const item = document.createElement("li");
    item.dataset.clipId = d.clipId;
    const clip = d.clip || {};
    item.innerHTML = '<div class="name"></div><div class="meta"></div>';
    item.querySelector(".name").textContent = d.trackName;
    item.querySelector(".meta").textContent =
      `${Number(clip.duration || 0).toFixed(1)} s${clip.key ? ` · ${clip.key}` : ""}`;
    $("clips").append(item);
  },
  "daw:transport:sync": (d) => {
    $("bpm").textContent = Number(d.bpm).toFixed(0);
  },
  "daw:transport:play": (d) => {
    const audio = players.get(d.generationId);
    if (audio) audio.play().catch(() => {});
  },
};

function connect(delay = 500) {
  const query = new URLSearchParams({ token, user });
  if (lastEventId) query.set("since", lastEventId);
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws?${query}`);
  socket.addEventListener("open", () => {
    $("connection").textContent = "live";
    $("connection").classList.add("online");
    delay = 500;
  });
  socket.addEventListener("message", (message) => {
    const frame = JSON.parse(message.data);
    lastEventId = frame.id;
    const handle = handlers[frame.event];
    if (handle) handle(frame.data);
  });
  socket.addEventListener("close", () => {
    $("connection").textContent = "reconnecting…";
    $("connection").classList.remove("online");
    setTimeout(() => connect(Math.min(delay * 2, 10000)), delay);
  });
}

// --- uploads ------------------------------------------------------------------------------

function renderAttachments() {
  $("attachments").textContent = pendingFiles.length
    ? `Attached: ${pendingFiles.map((f) => f.name).join(", ")} — say "master this for club", "stems" or "mix these".`
    : "";
}

async function upload(files) {
  for (const file of files) {
    const form = new FormData();
    form.append("file", file, file.name);
    const response = await fetch("/api/files", { method: "POST", headers: headers(), body: form });
    const data = await response.json().catch(() => ({ success: false, error: response.statusText }));
    if (!data.success) {
      say(`${file.name}: ${data.error}`, "error");
      continue;
    }
    pendingFiles.push({ fileId: data.fileId, name: data.name });
  }
  renderAttachments();
}

// --- wiring -------------------------------------------------------------------------------

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("message");
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  send(text);
});
$("file").addEventListener("change", (event) => upload(event.target.files));

let dragDepth = 0;
window.addEventListener("dragenter", (e) => { e.preventDefault(); dragDepth++; $("dropzone").hidden = false; });
window.addEventListener("dragleave", () => { if (--dragDepth <= 0) $("dropzone").hidden = true; });
window.addEventListener("dragover", (e) => e.preventDefault());
window.addEventListener("drop", (e) => {
  e.preventDefault();
  dragDepth = 0;
  $("dropzone").hidden = true;
  upload(e.dataTransfer.files);
});

if (!token) say("This page needs the link `beatbot serve` printed (it carries your token).", "error");
say('Hi! Try "make a dark trap beat at 140", then "make it faster" or "stems".');
connect();
