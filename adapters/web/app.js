// BeatBot's chat widget: chat over POST /api/chat, live events over /ws, a tiny timeline.
// Text from the server is shown as text (textContent); only a reply's `html`, which the
// server renders and escapes, is put into the page as HTML. No Markdown is read here.
"use strict";

const params = new URLSearchParams(location.search);
const token = params.get("token") || "";
const user = params.get("user") || "daw";
const thread = sessionStorage.getItem("beatbot-thread") || `w${Math.random().toString(36).slice(2, 10)}`;
sessionStorage.setItem("beatbot-thread", thread);

const $ = (id) => document.getElementById(id);
const log = $("log");
const progressByJob = new Map();
const players = new Map(); // generationId -> player of its result
const waveforms = new Map(); // generationId -> its waveform picture, for the timeline deck
let pendingFiles = []; // [{fileId, name}] attached to the next message
let failedUploads = []; // names of the last uploads, when every one of them failed
let lastEventId = null;

function headers(extra = {}) {
  return { Authorization: `Bearer ${token}`, "x-user-id": user, ...extra };
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// --- the log: newest at the bottom, kept in view while it loads ---------------------------

function atBottom() {
  return log.scrollHeight - log.scrollTop - log.clientHeight < 48;
}

function scrollToNewest() {
  log.scrollTop = log.scrollHeight;
}

// Follow the conversation: after a message is drawn, and again when its pictures and
// players have loaded (they change its height), unless the person scrolled up to read.
function reveal(item) {
  const follow = atBottom() || item === log.lastElementChild;
  if (!follow) return;
  scrollToNewest();
  requestAnimationFrame(scrollToNewest);
  for (const media of item.querySelectorAll("img, audio")) {
    const again = () => { if (item === log.lastElementChild || atBottom()) scrollToNewest(); };
    media.addEventListener(media.tagName === "IMG" ? "load" : "loadedmetadata", again, { once: true });
  }
}

function say(text, kind = "bot", html = null) {
  const item = el("li", kind);
  const body = el("div", "text");
  if (html) body.innerHTML = html; // server-rendered and escaped (reply.html)
  else body.textContent = text;
  item.append(body);
  log.append(item);
  reveal(item);
  return item;
}

function progressFor(jobId, parent) {
  let box = progressByJob.get(jobId);
  if (!box) {
    box = el("div", "progress");
    const bar = el("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", `Progress of job ${jobId}`);
    box.append(bar, el("div", "stage", "Queued"));
    const item = parent || say(`Job ${jobId}`);
    item.append(box);
    reveal(item);
    progressByJob.set(jobId, box);
  }
  return box;
}

// --- a player styled with the page: play, waveform to seek on, time ----------------------

function clock(seconds) {
  if (!Number.isFinite(seconds)) return "0:00";
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// Only one clip sounds at a time, as in a DAW.
document.addEventListener("play", (event) => {
  for (const audio of document.querySelectorAll("audio")) if (audio !== event.target) audio.pause();
}, true);

function makePlayer({ src, waveform = null, label = "clip", compact = false }) {
  const box = el("div", compact ? "player compact" : "player");
  const audio = el("audio");
  audio.preload = "metadata";
  audio.src = src;
  audio.setAttribute("aria-label", label);
  const button = el("button", "play");
  button.type = "button";
  button.setAttribute("aria-label", `Play ${label}`);
  const wave = el("div", "wave");
  wave.setAttribute("role", "slider");
  wave.setAttribute("tabindex", "0");
  wave.setAttribute("aria-label", `Position in ${label}`);
  wave.setAttribute("aria-valuemin", "0");
  if (waveform) {
    const picture = el("img");
    picture.src = waveform;
    picture.alt = "";
    wave.append(picture);
  } else {
    wave.classList.add("plain");
  }
  const played = el("div", "played");
  wave.append(played);
  const time = el("span", "time", "0:00");
  box.append(button, wave, time, audio);

  const draw = () => {
    const duration = audio.duration || 0;
    played.style.width = duration ? `${(100 * audio.currentTime) / duration}%` : "0";
    time.textContent = compact ? clock(duration - audio.currentTime) : `${clock(audio.currentTime)} / ${clock(duration)}`;
    wave.setAttribute("aria-valuemax", String(Math.round(duration)));
    wave.setAttribute("aria-valuenow", String(Math.round(audio.currentTime)));
    box.classList.toggle("playing", !audio.paused);
    button.setAttribute("aria-label", `${audio.paused ? "Play" : "Pause"} ${label}`);
  };
  for (const name of ["timeupdate", "loadedmetadata", "play", "pause", "ended"]) audio.addEventListener(name, draw);
  button.addEventListener("click", () => (audio.paused ? audio.play().catch(() => {}) : audio.pause()));
  const seek = (fraction) => {
    if (audio.duration) audio.currentTime = Math.min(audio.duration, Math.max(0, fraction * audio.duration));
  };
  wave.addEventListener("click", (event) => {
    const rect = wave.getBoundingClientRect();
    seek((event.clientX - rect.left) / rect.width);
  });
  wave.addEventListener("keydown", (event) => {
    const step = { ArrowLeft: -5, ArrowRight: 5 }[event.key];
    if (step && audio.duration) {
      event.preventDefault();
      seek((audio.currentTime + step) / audio.duration);
    }
  });
  draw();
  return {
    element: box,
    audio,
    // Swap what plays (A/B) at the same position, playing on if it was.
    setSource(url) {
      const at = audio.currentTime;
      const wasPlaying = !audio.paused;
      audio.src = url;
      audio.addEventListener("loadedmetadata", () => {
        audio.currentTime = Math.min(at, audio.duration || at);
        if (wasPlaying) audio.play().catch(() => {});
      }, { once: true });
    },
  };
}

// --- results --------------------------------------------------------------------------------

const AUDIO_FILE = /\.(mp3|wav|flac|ogg|m4a)$/i;

function downloadLink(label, url, name) {
  const link = el("a", "download", label);
  link.href = url.includes("?") ? `${url}&download=1` : url;
  link.setAttribute("download", name || "");
  return link;
}

function actionBar(actions, extras = []) {
  const bar = el("div", "actions");
  for (const action of actions || []) {
    const button = el("button", "", action.label);
    button.type = "button";
    button.addEventListener("click", () => send(action.command, action.generationId));
    bar.append(button);
  }
  bar.append(...extras);
  return bar;
}

// Stems, each playable where it is listed; open when they are what was asked for.
function stemList(stems, open) {
  const box = el("details", "stems");
  box.open = open;
  box.append(el("summary", "label", `Stems (${stems.length})`));
  const list = el("ul");
  for (const stem of stems) {
    const row = el("li");
    const title = stem.title.replace(/ stem$/, "");
    row.append(el("span", "stem-name", title));
    row.append(makePlayer({ src: stem.url, label: stem.title, compact: true }).element);
    row.append(downloadLink("↓", stem.url, stem.name));
    row.lastChild.setAttribute("aria-label", `Download ${stem.title}`);
    list.append(row);
  }
  box.append(list);
  return box;
}

function fileList(files) {
  const box = el("details", "files");
  box.append(el("summary", "", `Files (${files.length})`));
  const list = el("ul");
  for (const file of files) {
    const row = el("li");
    row.append(downloadLink(`${file.title} · ${Math.max(1, Math.round(file.size / 1024))} KB`, file.url, file.name));
    list.append(row);
  }
  box.append(list);
  return box;
}

// After mastering: A (what it was made from) against B (the master), at the same position.
function abToggle(player, original, mastered) {
  const group = el("div", "ab");
  group.setAttribute("role", "group");
  group.setAttribute("aria-label", "Compare original and master");
  const choices = [["A", "Original", original], ["B", "Mastered", mastered]];
  const buttons = choices.map(([letter, name, url]) => {
    const button = el("button", "", `${letter} · ${name}`);
    button.type = "button";
    button.dataset.side = letter;
    button.addEventListener("click", () => {
      if (button.getAttribute("aria-pressed") === "true") return;
      for (const other of buttons) other.setAttribute("aria-pressed", String(other === button));
      player.setSource(url);
      player.element.dataset.side = letter;
    });
    return button;
  });
  buttons[0].setAttribute("aria-pressed", "false");
  buttons[1].setAttribute("aria-pressed", "true");
  group.append(...buttons);
  return group;
}

function showResult(text, result, files, actions, generationId = null) {
  const item = say(text, "result");
  files = files || [];
  const audioUrl = result && (result.previewUrl || result.audioUrl);
  let player = null;
  if (audioUrl) {
    const picture = files.find((f) => f.kind === "image");
    player = makePlayer({ src: audioUrl, waveform: picture && picture.url, label: text });
    item.append(player.element);
    if (generationId) players.set(generationId, player);
    if (generationId && picture) waveforms.set(generationId, picture.url);
  }
  const extras = [];
  if (player && result.kind === "master" && result.originalUrl) {
    extras.push(abToggle(player, result.originalUrl, audioUrl));
  }
  if (result && result.audioUrl) extras.push(downloadLink("Download", result.audioUrl, result.downloadName));
  item.append(actionBar(actions, extras));
  const stems = files.filter((f) => f.kind === "stem" && AUDIO_FILE.test(f.name || f.url.split("?")[0]));
  if (stems.length) item.append(stemList(stems, !player || result.kind === "stems"));
  const rest = files.filter((f) => !stems.includes(f));
  if (rest.length) item.append(fileList(rest));
  reveal(item);
  return item;
}

// Several takes: one card per take, each with its player, its download and its Pick button
// (the button's command with the take's generationId, so the pick names that clip).
function showTakes(text, result, actions) {
  const item = say(text, "result");
  item.classList.add("takes");
  for (const take of result.takes || []) {
    const card = el("div", "take");
    card.dataset.take = String(take.take);
    card.append(el("div", "take-title", `Take ${take.take} · seed ${take.seed}`));
    const made = take.result;
    if (take.state === "completed" && made) {
      const picture = (made.files || []).find((f) => f.kind === "image");
      const player = makePlayer({
        src: made.previewUrl || made.audioUrl,
        waveform: picture && picture.url,
        label: `Take ${take.take}`,
      });
      players.set(take.generationId, player);
      if (picture) waveforms.set(take.generationId, picture.url);
      card.append(player.element);
      const pick = (actions || []).filter((a) => a.generationId === take.generationId);
      card.append(actionBar(pick, [downloadLink("Download", made.audioUrl, made.downloadName)]));
    } else {
      card.classList.add("failed");
      card.append(el("div", "take-error", take.error || "This take didn't finish."));
    }
    item.append(card);
  }
  reveal(item);
  return item;
}

function showReply(reply) {
  switch (reply.type) {
    case "accepted": {
      const item = say(reply.text, "bot", reply.html);
      progressFor(reply.jobId, item);
      break;
    }
    case "result":
      showResult(reply.text, null, reply.files, reply.actions);
      break;
    default:
      say(reply.text || "", reply.type, reply.html);
  }
}

// --- sending --------------------------------------------------------------------------------

// "master this" right after uploads that all failed must not fall back to the last beat.
function aboutFailedUpload(text) {
  return failedUploads.length > 0 && pendingFiles.length === 0
    && /\b(master|mix|stems?|split|separate)\b/i.test(text)
    && /\b(this|these|them|it|that)\b/i.test(text);
}

async function send(text, generationId = null) {
  say(text, "you");
  if (aboutFailedUpload(text)) {
    const names = failedUploads.join(", ");
    say(`${names} didn't upload, so there is nothing attached to work on. Attach it again, or say "master the last beat" for your last beat.`, "error");
    return;
  }
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

// --- the timeline: click a clip to hear it -------------------------------------------------

let deck = null;

function playClip(entry, button) {
  if (!deck || deck.audio.getAttribute("src") !== entry.url) {
    const next = makePlayer({ src: entry.url, waveform: entry.waveform, label: entry.name });
    next.element.classList.add("deck");
    if (deck) deck.element.replaceWith(next.element);
    else $("deck").append(next.element);
    deck = next;
  }
  for (const other of document.querySelectorAll(".clips button")) other.removeAttribute("aria-current");
  button.setAttribute("aria-current", "true");
  $("deck-label").textContent = `Now playing: ${entry.name}`;
  if (entry.bpm) $("bpm").textContent = Number(entry.bpm).toFixed(0);
  deck.audio.currentTime = 0;
  deck.audio.play().catch(() => {});
}

function addClip(d) {
  const clip = d.clip || {};
  const entry = { url: clip.url, name: d.trackName, bpm: clip.bpm, waveform: waveforms.get(d.generationId) };
  const item = el("li");
  item.dataset.clipId = d.clipId;
  const button = el("button", "clip");
  button.type = "button";
  button.setAttribute("aria-label", `Play ${d.trackName}`);
  button.append(el("span", "name", d.trackName));
  button.append(el("span", "meta", `${Number(clip.duration || 0).toFixed(1)} s${clip.key ? ` · ${clip.key}` : ""}`));
  button.addEventListener("click", () => playClip(entry, button));
  item.append(button);
  $("clips").append(item);
}

// --- live events ----------------------------------------------------------------------------

// One take of several reports through its group (combined progress, one result), so the
// take's own job events are left out here.
const handlers = {
  "generation:progress": (d) => {
    if (d.take) return;
    const box = progressFor(d.jobId);
    box.querySelector("progress").value = d.percent;
    box.querySelector(".stage").textContent = `${d.percent}% · ${d.stage}`;
  },
  "generation:completed": (d) => {
    if (d.take) return;
    const box = progressByJob.get(d.jobId);
    if (box) box.remove();
    progressByJob.delete(d.jobId);
    const result = d.result || {};
    if (result.kind === "takes") showTakes(result.summary || "Done.", result, d.actions);
    else showResult(result.summary || "Done.", result, result.files, d.actions, d.generationId);
  },
  "generation:failed": (d) => {
    if (d.take) return;
    const box = progressByJob.get(d.jobId);
    if (box) box.remove();
    progressByJob.delete(d.jobId);
    say(d.error, "failed");
  },
  "daw:audio:loaded": addClip,
  "daw:transport:sync": (d) => {
    $("bpm").textContent = Number(d.bpm).toFixed(0);
  },
  "daw:transport:play": (d) => {
    const player = players.get(d.generationId);
    if (player) player.audio.play().catch(() => {});
  },
  "stream:gap": (d) => say(d.message, "note"),
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
    if (frame.id) lastEventId = frame.id; // frames about the stream itself have no id
    if (frame.event === "stream:error") lastEventId = null; // start again from now
    const handle = handlers[frame.event];
    if (handle) handle(frame.data);
  });
  socket.addEventListener("close", () => {
    $("connection").textContent = "reconnecting…";
    $("connection").classList.remove("online");
    setTimeout(() => connect(Math.min(delay * 2, 10000)), delay);
  });
}

// --- uploads --------------------------------------------------------------------------------

function renderAttachments() {
  const box = $("attachments");
  box.replaceChildren();
  if (!pendingFiles.length) return;
  for (const file of pendingFiles) {
    const chip = el("span", "chip");
    chip.append(el("span", "chip-name", file.name));
    const remove = el("button", "remove", "×");
    remove.type = "button";
    remove.setAttribute("aria-label", `Remove ${file.name}`);
    remove.addEventListener("click", () => {
      pendingFiles = pendingFiles.filter((f) => f !== file);
      renderAttachments();
      $("message").focus();
    });
    chip.append(remove);
    box.append(chip);
  }
  box.append(el("span", "chip-hint", 'say "master this for club", "stems" or "mix these"'));
}

async function upload(files) {
  const failed = [];
  let stored = 0;
  for (const file of files) {
    const form = new FormData();
    form.append("file", file, file.name);
    let data;
    try {
      const response = await fetch("/api/files", { method: "POST", headers: headers(), body: form });
      data = await response.json().catch(() => ({ success: false, error: response.statusText }));
    } catch (err) {
      data = { success: false, error: "I couldn't reach BeatBot's server." };
    }
    if (!data.success) {
      say(`${file.name}: ${data.error}`, "error");
      failed.push(file.name);
      continue;
    }
    stored += 1;
    pendingFiles.push({ fileId: data.fileId, name: data.name });
  }
  failedUploads = stored ? [] : failed;
  renderAttachments();
}

// --- wiring ---------------------------------------------------------------------------------

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("message");
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  send(text);
});
$("file").addEventListener("change", (event) => {
  const files = [...event.target.files];
  event.target.value = ""; // the same file can be picked again after removing it
  upload(files);
});

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
