// Switchboard's console: live calls, each call's timeline, the simulated world, apps. Plain DOM, no framework, no
// network beyond this server. Live updates come from /_sim/activity/stream (server-sent events, read with fetch so
// the admin key can go in a header); each event redraws what it concerns. Nothing polls.
"use strict";

const DEV_KEY_STORAGE = "switchboard-admin-key";
/** What comes first in a timeline when two entries share a time: a request, the change it made, what it raised. */
const ORDER = ["request", "change", "notification", "delivery"];
const PERMISSIONS = ["Calls.AccessMedia.All", "Calls.AccessMedia.Chat", "Calls.Initiate.All", "Calls.InitiateGroupCall.All",
  "Calls.JoinGroupCall.All", "Calls.JoinGroupCallAsGuest.All", "Calls.JoinGroupCalls.Chat"];

// ---------- DOM and HTTP helpers ----------

/** Builds an element: h("button", {class: "x", onclick: f}, "text", child…). Text is never parsed as HTML. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

const main = () => document.getElementById("main");
/** Replaces an element's children, skipping the null and false that conditional parts leave. */
function put(element, ...children) {
  element.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}
const short = (id) => (id ? String(id).slice(0, 8) : "—");
const time = (iso) => (iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) + "." +
  String(new Date(iso).getMilliseconds()).padStart(3, "0") : "");
const badge = (text, kind = text) => h("span", { class: `badge ${kind}` }, text);
const json = (value) => JSON.stringify(value, null, 2);

function toast(message, kind = "error") {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.className = `toast ${kind}`;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, kind === "error" ? 8000 : 3000);
}

function headers(extra = {}) {
  const key = sessionStorage.getItem(DEV_KEY_STORAGE);
  return key ? { ...extra, authorization: `Bearer ${key}` } : extra;
}

/** Asks for the admin key (outside dev mode) and resolves once one is entered. */
function askForKey() {
  if (askForKey.pending) return askForKey.pending;
  const dialog = document.getElementById("key-dialog");
  askForKey.pending = new Promise((resolve) => {
    document.getElementById("key-form").onsubmit = () => {
      sessionStorage.setItem(DEV_KEY_STORAGE, document.getElementById("key-input").value.trim());
      askForKey.pending = null;
      resolve();
    };
  });
  dialog.showModal();
  return askForKey.pending;
}

/** A JSON request to this server; Graph-shaped errors become exceptions with Graph's message. */
async function api(method, path, body, raw = false) {
  const init = { method, headers: headers(body !== undefined && !raw ? { "content-type": "application/json" } : {}) };
  if (body !== undefined) init.body = raw ? body : JSON.stringify(body);
  const response = await fetch(path, init);
  if (response.status === 401 && path.startsWith("/_")) {
    await askForKey();
    return api(method, path, body, raw);
  }
  const text = await response.text();
  const value = text ? (() => { try { return JSON.parse(text); } catch { return text; } })() : null;
  if (!response.ok) {
    const message = value && value.error ? value.error.message : `${response.status} ${text}`;
    throw new Error(`${method} ${path}: ${message}`);
  }
  return value;
}

/** Runs an action from a button, reporting failures. */
async function act(what, action) {
  try {
    await action();
  } catch (error) {
    toast(`${what} failed: ${error.message}`);
  }
}

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = h("textarea", {}, text);
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  toast("Copied", "info");
}

// ---------- live feed ----------

const watchers = new Set();
let lastSeq = 0;

async function watch() {
  const status = document.getElementById("live");
  for (;;) {
    try {
      const response = await fetch(`/_sim/activity/stream?after=${lastSeq}`, { headers: headers() });
      if (response.status === 401) { await askForKey(); continue; }
      if (!response.ok) throw new Error(String(response.status));
      status.textContent = "live";
      status.className = "live on";
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          dispatch(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (error) {
      console.warn("live feed interrupted", error);
    }
    status.textContent = "reconnecting…";
    status.className = "live off";
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function dispatch(block) {
  let event = "message";
  let data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data += line.slice(5).trim();
  }
  if (event === "resync") { for (const watcher of watchers) watcher(null); return; }
  if (event !== "activity" || !data) return;
  const entry = JSON.parse(data);
  lastSeq = Math.max(lastSeq, entry.seq);
  for (const watcher of watchers) watcher(entry);
}

/** Redraws at most once per frame however many events arrive. */
function coalesce(draw) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; draw(); });
  };
}

// ---------- routing ----------

const views = { calls: callsView, world: worldView, apps: appsView };

function route() {
  watchers.clear();
  const [section = "calls", id] = location.hash.replace(/^#\/?/, "").split("/");
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const view = views[section] || callsView;
  put(main());
  view(id ? decodeURIComponent(id) : undefined).catch((error) => toast(error.message));
}

// ---------- calls ----------

function peerName(peer) {
  const identity = peer.identity || {};
  for (const kind of ["user", "phone", "application", "guest", "applicationInstance"]) {
    if (identity[kind]) return identity[kind].displayName || identity[kind].id;
  }
  return peer.endpointId || peer.participantId;
}

function peerFlags(peer) {
  const roster = peer.roster || {};
  return h("span", { class: "flags" },
    roster.clientMuted || roster.serverMuted ? badge(roster.serverMuted ? "muted by bot" : "muted", "muted") : null,
    roster.onHold ? badge("on hold", "hold") : null,
    roster.inLobby ? badge("in lobby", "lobby") : null);
}

function mediaState(call) {
  const jobs = (call.mediaJobs || []).length + (call.dtmfJobs || []).length;
  return `${call.audioActive ? "audio active" : "no audio"}${jobs ? `, ${jobs} media job(s)` : ""}`;
}

async function callsView(selected) {
  const list = h("section", { class: "panel", "aria-labelledby": "calls-title" });
  const detail = h("div", { id: "call-detail" });
  const showEnded = h("input", { type: "checkbox", id: "show-ended", checked: true });
  main().append(h("div", { class: "grid" }, list, detail));

  const drawList = async () => {
    const { value: calls } = await api("GET", `/_sim/calls?active=${!showEnded.checked}`);
    calls.sort((a, b) => (b.createdAt || "").localeCompare(a.createdAt || ""));
    const rows = calls.map((call) => h("tr", { class: call.id === selected ? "selected" : null, dataset: { call: call.id } },
      h("td", {}, h("a", { href: `#/calls/${call.id}`, "aria-label": `Call ${call.id}` }, short(call.id))),
      h("td", {}, badge(call.state, `state-${call.state}`)),
      h("td", {}, call.direction),
      h("td", {}, (call.peers || []).map(peerName).join(", ")),
      h("td", {}, call.kind ? call.kind.kind : ""),
      h("td", { class: "mono" }, short(call.appId))));
    put(list,
      h("h2", { id: "calls-title" }, "Calls"),
      h("div", { class: "field check" }, showEnded, h("label", { for: "show-ended" }, "Include ended calls")),
      calls.length
        ? h("table", { class: "calls-table" },
          h("thead", {}, h("tr", {}, ["Call", "State", "Direction", "Others", "Kind", "App"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, rows))
        : h("p", { class: "muted" }, "No calls yet. Have a bot create one, or call a bot from the ",
          h("a", { href: "#/world" }, "simulated world"), "."));
  };
  showEnded.addEventListener("change", () => drawList().catch((e) => toast(e.message)));
  const redrawList = coalesce(() => drawList().catch((e) => toast(e.message)));
  watchers.add((entry) => { if (!entry || entry.kind === "change") redrawList(); });
  await drawList();
  if (selected) await callDetail(detail, selected);
  else detail.append(h("section", { class: "panel" }, h("h2", {}, "Timeline"), h("p", { class: "muted" }, "Choose a call.")));
}

async function callDetail(container, callId) {
  const summary = h("section", { class: "panel", "aria-labelledby": "call-title" });
  const people = h("section", { class: "panel", "aria-labelledby": "people-title" });
  const operations = h("section", { class: "panel", "aria-labelledby": "operations-title" });
  const timeline = h("section", { class: "panel", "aria-labelledby": "timeline-title" });
  container.append(summary, people, operations, timeline);
  let media = [];
  try { media = (await api("GET", "/_sim/media")).value || []; } catch { /* listed when available */ }

  const drawCall = async () => {
    const call = await api("GET", `/_sim/calls/${encodeURIComponent(callId)}`);
    put(summary,
      h("h2", { id: "call-title" }, `Call ${short(call.id)} `, badge(call.state, `state-${call.state}`)),
      h("dl", { class: "kv" },
        h("dt", {}, "Id"), h("dd", { class: "mono" }, call.id),
        h("dt", {}, "Direction"), h("dd", {}, `${call.direction} (${call.kind ? call.kind.kind : ""}, ${call.apiVersion})`),
        h("dt", {}, "App"), h("dd", { class: "mono" }, call.appId),
        h("dt", {}, "Media"), h("dd", { id: "media-state" }, mediaState(call)),
        h("dt", {}, "Callback"), h("dd", { class: "mono" }, call.callbackUri || "the app's calling webhook"),
        call.resultInfo ? [h("dt", {}, "Result"), h("dd", {}, `${call.resultInfo.code}/${call.resultInfo.subcode} ${call.resultInfo.message || ""}`)] : null),
      call.state === "terminated" ? null : h("div", { class: "actions" },
        h("button", { class: "danger", onclick: () => act("Ending the call", () => api("POST", `/_sim/calls/${call.id}/terminate`, { code: 500, subcode: 3002, message: "Ended from the console" })) }, "End the call (service failure)")));
    drawPeople(call);
    drawOperations(call);
  };

  const drawPeople = (call) => {
    const rows = (call.peers || []).map((peer) => {
      const who = peer.participantId;
      const path = `/_sim/calls/${call.id}/participants/${encodeURIComponent(who)}`;
      const name = peerName(peer);
      const keys = h("input", { id: `keys-${who}`, size: 6, placeholder: "123#", "aria-label": `Keys ${name} presses` });
      const speech = h("select", { "aria-label": `What ${name} says` },
        h("option", { value: "tone:440" }, "a 440 Hz tone (1 s)"),
        media.map((file) => h("option", { value: `media:${file.name}` }, file.name)));
      const live = call.state !== "terminated" && !["left", "gone"].includes(peer.status);
      const doing = (label, segment, body) => h("button", {
        onclick: () => act(`${name}: ${label}`, () => api("POST", `${path}/${segment}`, body)),
        disabled: !live,
      }, label);
      const ringing = peer.status === "ringing" || call.state === "incoming" || call.state === "establishing";
      return h("tr", { dataset: { participant: who } },
        h("th", { scope: "row" }, name, h("div", { class: "muted mono" }, short(who))),
        h("td", {}, badge(peer.status || ""), " ", peerFlags(peer)),
        h("td", {}, h("div", { class: "actions" },
          ringing ? doing("Answer", "answer") : null,
          ringing ? doing("Reject", "reject") : null,
          doing("Hang up", "hangUp"),
          (peer.roster || {}).clientMuted ? doing("Unmute", "unmute") : doing("Mute", "mute"),
          keys, h("button", { disabled: !live, onclick: () => act(`${name}: press keys`, () => api("POST", `${path}/pressKeys`, { keys: keys.value })) }, "Press keys"),
          speech, h("button", { disabled: !live, onclick: () => act(`${name}: say`, () => {
            const [kind, what] = speech.value.split(/:(.*)/s);
            return api("POST", `${path}/say`, kind === "tone" ? { toneHz: Number(what), durationMs: 1000 } : { media: what });
          }) }, "Say"),
          h("button", { onclick: () => listen(call.id, who, name, row) }, "Listen"))));
    });
    const row = h("div", {});
    const bot = h("tr", {}, h("th", { scope: "row" }, "The bot", h("div", { class: "muted mono" }, short(call.myParticipantId))),
      h("td", {}, call.bot && call.bot.muted ? badge("muted") : null, call.bot && call.bot.inLobby ? badge("in lobby") : null),
      h("td", {}, h("div", { class: "actions" },
        call.bot && call.bot.inLobby ? h("button", { onclick: () => act("Admitting the bot", () => api("POST", `/_sim/calls/${call.id}/admit`)) }, "Admit from lobby") : null,
        h("button", { onclick: () => listen(call.id, "bot", "the bot", row) }, "Listen"))));
    put(people, h("h2", { id: "people-title" }, "Participants"),
      h("table", {}, h("thead", {}, h("tr", {}, ["Who", "State", "Play their side"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, bot, rows)), row);
  };

  const drawOperations = (call) => {
    const ops = call.operations || [];
    put(operations, h("h2", { id: "operations-title" }, "Operations"),
      ops.length ? h("table", {}, h("thead", {}, h("tr", {}, ["Operation", "Type", "Status", "Result", ""].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, ops.map((op) => {
          const props = op.properties || {};
          const recording = props.recordingLocation && props.recordingAccessToken;
          const slot = h("div", {});
          return h("tr", {},
            h("td", { class: "mono" }, short(op.id)),
            h("td", {}, op.odataType),
            h("td", {}, badge(op.status)),
            h("td", {}, op.resultInfo ? `${op.resultInfo.code}/${op.resultInfo.subcode}` : ""),
            h("td", {}, recording ? h("button", { onclick: () => playRecording(props.recordingLocation, props.recordingAccessToken, slot) }, "Play recording") : null, slot));
        }))) : h("p", { class: "muted" }, "No operations."));
  };

  const filters = { request: true, change: true, notification: true, delivery: true };
  const search = h("input", { id: "timeline-search", type: "search", placeholder: "method, path, state, payload…" });
  const list = h("ol", { class: "timeline", "aria-live": "polite" });
  // The call's activity is read once and then kept up by the live feed (entries never change once made; a resync
  // reads it again); the notification journal is read again only after a change or a delivery, which add or settle
  // notifications. Filters and search only redraw.
  const activity = new Map();
  let activityRead = false;
  let journal = [];
  let journalStale = true;
  const drawTimeline = async () => {
    const reads = [];
    if (!activityRead) {
      activityRead = true;
      reads.push(api("GET", `/_sim/activity?callId=${encodeURIComponent(callId)}&limit=10000`)
        .then(({ value }) => { for (const e of value) activity.set(e.seq, e); }));
    }
    if (journalStale) {
      journalStale = false;
      reads.push(api("GET", `/_sim/notifications?callId=${encodeURIComponent(callId)}&limit=1000`)
        .then(({ value }) => { journal = value; }));
    }
    await Promise.all(reads);
    const entries = [
      ...[...activity.values()].filter((e) => e.kind !== "delivery" || filters.delivery).map((e) => ({ at: e.at, kind: e.kind, entry: e })),
      ...journal.map((n) => ({ at: n.queuedAt, kind: "notification", entry: n })),
    ].sort((a, b) => a.at.localeCompare(b.at) || ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind));
    const needle = search.value.trim().toLowerCase();
    const shown = entries.filter((e) => filters[e.kind] && (!needle || JSON.stringify(e.entry).toLowerCase().includes(needle)));
    put(list, ...shown.map(timelineItem));
    if (!shown.length) list.append(h("li", { class: "muted" }, "Nothing matches."));
  };
  const redrawTimeline = coalesce(() => drawTimeline().catch((e) => toast(e.message)));
  timeline.append(h("h2", { id: "timeline-title" }, "Timeline"),
    h("form", { class: "inline", role: "search", onsubmit: (e) => { e.preventDefault(); redrawTimeline(); } },
      Object.keys(filters).map((kind) => {
        const box = h("input", { type: "checkbox", id: `filter-${kind}`, checked: true,
          onchange: () => { filters[kind] = box.checked; redrawTimeline(); } });
        return h("div", { class: "check" }, box, h("label", { for: `filter-${kind}` }, `${kind}s`));
      }),
      h("div", {}, h("label", { for: "timeline-search" }, "Search"), search)),
    list);
  search.addEventListener("input", redrawTimeline);

  const redrawCall = coalesce(() => drawCall().catch((e) => toast(e.message)));
  watchers.add((entry) => {
    if (entry && entry.callId !== callId) return;
    if (!entry || entry.kind === "change") redrawCall();
    if (!entry) {
      // Resync: the feed may have dropped entries; read everything again.
      activity.clear();
      activityRead = false;
      journalStale = true;
    } else {
      activity.set(entry.seq, entry);
      if (entry.kind === "change" || entry.kind === "delivery") journalStale = true;
    }
    redrawTimeline();
  });
  await Promise.all([drawCall(), drawTimeline()]);
}

function timelineItem({ kind, entry }) {
  const when = h("span", { class: "when" }, time(kind === "notification" ? entry.queuedAt : entry.at));
  const payload = (label, value) => h("details", {},
    h("summary", {}, label),
    h("div", { class: "actions" }, h("button", { type: "button", onclick: () => copy(json(value)) }, "Copy")),
    h("pre", {}, json(value)));
  if (kind === "request") {
    return h("li", { class: "request" }, when, badge("request"), " ",
      h("strong", {}, `${entry.method} ${entry.path}`), " → ", badge(String(entry.status), entry.status < 400 ? "completed" : "failed"),
      entry.requestBody !== null && entry.requestBody !== undefined ? payload("Request body", entry.requestBody) : null,
      entry.responseBody !== null && entry.responseBody !== undefined ? payload("Response body", entry.responseBody) : null);
  }
  if (kind === "change") {
    const transition = entry.previousState ? `${entry.previousState} → ${entry.state}` : entry.state;
    return h("li", { class: "change" }, when, badge("change"), " ", h("strong", {}, transition),
      ` (version ${entry.version}${entry.notifications ? `, ${entry.notifications} notification(s)` : ""})`,
      h("div", { class: "muted mono" }, entry.cause));
  }
  if (kind === "delivery") {
    return h("li", { class: "delivery" }, when, badge("delivery"), " ",
      `POST ${entry.url} → ${entry.status ?? entry.error ?? "no answer"} `, badge(entry.outcome),
      ` in ${entry.latencyMs} ms (notification ${entry.seqs.join(", ")})`);
  }
  const values = (entry.body && entry.body.value) || [];
  const change = values.map((v) => `${v.changeType} ${v.resourceUrl}${v.resourceData && v.resourceData.state ? ` (${v.resourceData.state})` : ""}`).join("; ");
  const attempts = h("div", {});
  return h("li", { class: "notification", dataset: { seq: entry.seq } }, when, badge("notification"), " ",
    h("strong", {}, change || "notification"), " ", badge(entry.status),
    ` #${entry.sequenceNumber}, ${entry.attempts} attempt(s)`,
    entry.status === "deadLettered" ? h("button", { onclick: () => act("Replay", async () => {
      await api("POST", `/_sim/notifications/${entry.seq}/replay`, {});
      toast("Queued again", "info");
    }) }, "Replay") : null,
    payload("Payload", entry.body),
    h("details", { ontoggle: (e) => e.target.open && act("Loading attempts", async () => {
      const full = await api("GET", `/_sim/notifications/${entry.seq}`);
      put(attempts, h("pre", {}, json(full.deliveryAttempts)));
    }) }, h("summary", {}, "Delivery attempts"), attempts));
}

// ---------- audio ----------

/** Reads a 16-bit PCM WAV into samples (mono) and its rate. */
function pcm(buffer) {
  const view = new DataView(buffer);
  let offset = 12;
  let rate = 16000;
  while (offset + 8 <= view.byteLength) {
    const id = String.fromCharCode(...new Uint8Array(buffer, offset, 4));
    const size = view.getUint32(offset + 4, true);
    if (id === "fmt ") rate = view.getUint32(offset + 12, true);
    if (id === "data") return { rate, samples: new Int16Array(buffer.slice(offset + 8, offset + 8 + size)) };
    offset += 8 + size + (size % 2);
  }
  return { rate, samples: new Int16Array(0) };
}

function waveform(canvas, samples) {
  const width = canvas.width = canvas.clientWidth * devicePixelRatio || 600;
  const height = canvas.height = canvas.clientHeight * devicePixelRatio || 72;
  const context = canvas.getContext("2d");
  context.fillStyle = "#0f1720";
  context.fillRect(0, 0, width, height);
  context.fillStyle = "#4ade80";
  const per = Math.max(1, Math.floor(samples.length / width));
  for (let x = 0; x < width; x++) {
    let low = 0, high = 0;
    for (let i = x * per; i < Math.min(samples.length, (x + 1) * per); i++) {
      if (samples[i] < low) low = samples[i];
      if (samples[i] > high) high = samples[i];
    }
    const top = height / 2 - (high / 32768) * (height / 2);
    const bottom = height / 2 - (low / 32768) * (height / 2);
    context.fillRect(x, top, 1, Math.max(1, bottom - top));
  }
}

async function player(slot, title, response) {
  if (!response.ok) throw new Error(`${response.status}: ${await response.text()}`);
  const buffer = await response.arrayBuffer();
  const { rate, samples } = pcm(buffer);
  const canvas = h("canvas", { role: "img", "aria-label": `Waveform of ${title}` });
  const audio = h("audio", { controls: true, src: URL.createObjectURL(new Blob([buffer], { type: "audio/wav" })) });
  put(slot, h("div", { class: "player" }, h("strong", {}, `${title} (${(samples.length / rate).toFixed(1)} s)`), canvas, audio));
  waveform(canvas, samples);
}

function listen(callId, who, name, slot) {
  act(`Listening to ${name}`, async () => {
    const response = await fetch(`/_sim/calls/${callId}/participants/${encodeURIComponent(who)}/heard.wav`, { headers: headers() });
    await player(slot, `What ${name} heard`, response);
  });
}

function playRecording(location, token, slot) {
  act("Playing the recording", async () => {
    const response = await fetch(new URL(location).pathname, { headers: { authorization: `Bearer ${token}` } });
    await player(slot, "Recording", response);
  });
}

// ---------- the simulated world ----------

function behaviourFields(prefix) {
  const reaction = h("select", { id: `${prefix}-reaction` },
    ["answer", "ring", "busy", "decline", "unreachable"].map((r) => h("option", { value: r }, r)));
  const after = h("input", { id: `${prefix}-after`, type: "number", min: 0, step: "0.5", value: 1, size: 4 });
  const hangUp = h("input", { id: `${prefix}-hangup`, type: "number", min: 0, step: 1, size: 4, placeholder: "never" });
  const read = () => {
    const afterMs = Math.round(Number(after.value || 0) * 1000);
    const response = reaction.value === "busy" ? { kind: "reject", afterMs }
      : reaction.value === "decline" ? { kind: "reject", afterMs, declined: true }
      : { kind: reaction.value, afterMs };
    return { response, hangUpAfterMs: hangUp.value ? Number(hangUp.value) * 1000 : null };
  };
  return {
    fields: [h("div", {}, h("label", { for: `${prefix}-reaction` }, "When called"), reaction),
      h("div", {}, h("label", { for: `${prefix}-after` }, "After (s)"), after),
      h("div", {}, h("label", { for: `${prefix}-hangup` }, "Hangs up after (s)"), hangUp)],
    read,
  };
}

function describeBehaviour(behaviour) {
  if (!behaviour) return "default";
  const r = behaviour.response || {};
  const kind = r.kind === "reject" ? (r.declined ? "declines" : "busy") : r.kind === "answer" ? "answers" : r.kind;
  return `${kind} after ${(r.afterMs || 0) / 1000} s${behaviour.hangUpAfterMs ? `, hangs up after ${behaviour.hangUpAfterMs / 1000} s` : ""}`;
}

async function worldView() {
  const [users, phones, meetings, apps, media] = await Promise.all([
    api("GET", "/_sim/users"), api("GET", "/_sim/phones"), api("GET", "/_sim/meetings"), api("GET", "/_admin/apps"),
    api("GET", "/_sim/media"),
  ]);
  const appChoice = (id) => h("select", { id, "aria-label": "App to call" },
    apps.value.map((app) => h("option", { value: app.appId }, app.displayName)));
  const callApp = (from, select, label) => act(`${label} calling the app`, async () => {
    const call = await api("POST", "/_sim/calls", { from, appId: select.value });
    location.hash = `#/calls/${call.id}`;
  });

  // Users
  const userName = h("input", { id: "user-name", required: true, autocomplete: "off" });
  const guest = h("input", { id: "user-guest", type: "checkbox" });
  const userBehaviour = behaviourFields("user");
  const userForm = h("form", { class: "inline", "aria-label": "Add a user", onsubmit: (e) => {
    e.preventDefault();
    act("Adding the user", async () => {
      await api("POST", "/_sim/users", { displayName: userName.value, guest: guest.checked, behaviour: userBehaviour.read() });
      route();
    });
  } }, h("div", {}, h("label", { for: "user-name" }, "Name"), userName), userBehaviour.fields,
  h("div", { class: "check" }, guest, h("label", { for: "user-guest" }, "Guest")), h("button", { class: "primary", type: "submit" }, "Add user"));
  const userRows = users.value.map((user) => {
    const select = appChoice(`call-app-${user.id}`);
    return h("tr", { dataset: { user: user.id } }, h("th", { scope: "row" }, user.displayName), h("td", { class: "mono" }, user.id),
      h("td", {}, describeBehaviour(user.behaviour)),
      h("td", {}, h("div", { class: "actions" }, select,
        h("button", { onclick: () => callApp({ user: { id: user.id } }, select, user.displayName) }, "Call the app"),
        h("button", { class: "danger", onclick: () => act("Removing", async () => { await api("DELETE", `/_sim/users/${user.id}`); route(); }) }, "Remove"))));
  });

  // Phones
  const number = h("input", { id: "phone-number", required: true, placeholder: "+14255550100", pattern: "\\+[0-9]{6,15}" });
  const phoneBehaviour = behaviourFields("phone");
  const phoneForm = h("form", { class: "inline", "aria-label": "Add a phone number", onsubmit: (e) => {
    e.preventDefault();
    act("Adding the phone", async () => { await api("POST", "/_sim/phones", { number: number.value, behaviour: phoneBehaviour.read() }); route(); });
  } }, h("div", {}, h("label", { for: "phone-number" }, "Number (E.164)"), number), phoneBehaviour.fields,
  h("button", { class: "primary", type: "submit" }, "Add phone"));
  const phoneRows = phones.value.map((phone) => {
    const select = appChoice(`call-app-${phone.number}`);
    return h("tr", {}, h("th", { scope: "row" }, phone.number), h("td", {}, describeBehaviour(phone.behaviour)),
      h("td", {}, h("div", { class: "actions" }, select,
        h("button", { onclick: () => callApp({ phone: { id: phone.number } }, select, phone.number) }, "Call the app"))));
  });

  // Meetings
  const organizer = h("select", { id: "meeting-organizer", required: true }, users.value.map((u) => h("option", { value: u.id }, u.displayName)));
  const subject = h("input", { id: "meeting-subject" });
  const bypass = h("select", { id: "meeting-bypass" }, ["organization", "organizer", "organizationAndFederated",
    "organizationExcludingGuests", "invited", "everyone"].map((b) => h("option", { value: b }, b)));
  const meetingForm = h("form", { class: "inline", "aria-label": "Add a meeting", onsubmit: (e) => {
    e.preventDefault();
    act("Adding the meeting", async () => {
      await api("POST", "/_sim/meetings", { organizerId: organizer.value, subject: subject.value || null, lobbyBypass: bypass.value });
      route();
    });
  } }, h("div", {}, h("label", { for: "meeting-organizer" }, "Organizer"), organizer),
  h("div", {}, h("label", { for: "meeting-subject" }, "Subject"), subject),
  h("div", {}, h("label", { for: "meeting-bypass" }, "Who skips the lobby"), bypass),
  h("button", { class: "primary", type: "submit", disabled: !users.value.length }, "Add meeting"));
  const meetingRows = meetings.value.map((meeting) => {
    const who = h("select", { "aria-label": "Who joins" }, users.value.map((u) => h("option", { value: u.id }, u.displayName)));
    const lobby = h("input", { type: "checkbox", id: `lobby-${meeting.id}` });
    return h("tr", {}, h("th", { scope: "row" }, meeting.subject || meeting.id),
      h("td", { class: "mono" }, `${meeting.joinMeetingId}${meeting.passcode ? ` / ${meeting.passcode}` : ""}`),
      h("td", {}, meeting.lobbyBypass),
      h("td", {}, h("div", { class: "actions" }, who,
        h("span", { class: "check" }, lobby, h("label", { for: `lobby-${meeting.id}` }, "wait in lobby")),
        h("button", { onclick: () => act("Joining", async () => {
          await api("POST", `/_sim/meetings/${encodeURIComponent(meeting.id)}/join`, { userId: who.value, lobby: lobby.checked || null });
          toast("Joined", "info");
        }) }, "Join"),
        h("button", { onclick: () => act("Ending the meeting", () => api("POST", `/_sim/meetings/${encodeURIComponent(meeting.id)}/end`)) }, "End"))));
  });

  // Media files
  const file = h("input", { id: "media-file", type: "file", accept: ".wav,.mp3,.ogg,audio/*", required: true });
  const mediaForm = h("form", { class: "inline", "aria-label": "Upload a media file", onsubmit: (e) => {
    e.preventDefault();
    act("Uploading", async () => {
      const chosen = file.files[0];
      await api("PUT", `/_sim/media/${encodeURIComponent(chosen.name)}`, await chosen.arrayBuffer(), true);
      route();
    });
  } }, h("div", {}, h("label", { for: "media-file" }, "WAV, MP3 or Ogg file"), file), h("button", { class: "primary", type: "submit" }, "Upload"));

  const table = (heads, rows, empty) => rows.length
    ? h("table", {}, h("thead", {}, h("tr", {}, heads.map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows))
    : h("p", { class: "muted" }, empty);
  main().append(
    h("section", { class: "panel", "aria-labelledby": "users-title" }, h("h2", { id: "users-title" }, "Users"), userForm,
      table(["Name", "Id", "Behaviour", ""], userRows, "No users yet.")),
    h("section", { class: "panel", "aria-labelledby": "phones-title" }, h("h2", { id: "phones-title" }, "Phone numbers"), phoneForm,
      table(["Number", "Behaviour", ""], phoneRows, "No phone numbers yet.")),
    h("section", { class: "panel", "aria-labelledby": "meetings-title" }, h("h2", { id: "meetings-title" }, "Meetings"), meetingForm,
      table(["Meeting", "Join id / passcode", "Lobby bypass", ""], meetingRows, "No meetings yet.")),
    h("section", { class: "panel", "aria-labelledby": "media-title" }, h("h2", { id: "media-title" }, "Media files people can say"), mediaForm,
      table(["Name", "Bytes"], (media.value || []).map((m) => h("tr", {}, h("td", {}, m.name), h("td", {}, m.bytes))), "No media files yet.")));
}

// ---------- apps ----------

/** A secret just created, shown on the next drawing of the apps view and then forgotten. */
let newSecret = null;

async function appsView() {
  const [tenants, apps] = await Promise.all([api("GET", "/_admin/tenants"), api("GET", "/_admin/apps")]);
  const origin = location.origin;
  const secretBox = h("div", { "aria-live": "polite" });
  if (newSecret) {
    const { app, value } = newSecret;
    newSecret = null;
    secretBox.append(h("div", { class: "secret", role: "status" },
      h("strong", {}, `New secret for ${app}: `), h("code", { id: "new-secret" }, value), " ",
      h("button", { type: "button", onclick: () => copy(value) }, "Copy"),
      h("p", {}, "Shown once: Switchboard keeps only its hash.")));
  }
  const showSecret = (app, secret) => {
    newSecret = { app, value: secret.value };
    return appsView();
  };

  const tenant = h("select", { id: "app-tenant" }, tenants.value.map((t) => h("option", { value: t.tenantId }, t.displayName)));
  const name = h("input", { id: "app-name", required: true });
  const webhook = h("input", { id: "app-webhook", type: "url", placeholder: "https://bot.example.com/api/calling" });
  const boxes = PERMISSIONS.map((p) => h("input", { type: "checkbox", id: `perm-${p}`, value: p, checked: p === "Calls.Initiate.All" || p === "Calls.AccessMedia.All" }));
  const form = h("form", { "aria-label": "Register an app", onsubmit: (e) => {
    e.preventDefault();
    act("Registering the app", async () => {
      const created = await api("POST", "/_admin/apps", { tenantId: tenant.value, displayName: name.value,
        permissions: boxes.filter((b) => b.checked).map((b) => b.value), callingWebhook: webhook.value || null });
      if (created.secret) await showSecret(created.app.displayName, created.secret);
      else await appsView();
    });
  } }, h("div", { class: "inline" },
    h("div", {}, h("label", { for: "app-tenant" }, "Tenant"), tenant),
    h("div", {}, h("label", { for: "app-name" }, "Name"), name),
    h("div", {}, h("label", { for: "app-webhook" }, "Calling webhook"), webhook)),
  h("fieldset", {}, h("legend", {}, "Application permissions"),
    h("div", { class: "inline" }, boxes.map((box) => h("div", { class: "check" }, box, h("label", { for: box.id }, box.value))))),
  h("button", { class: "primary", type: "submit" }, "Register app"));

  const appCards = apps.value.map((app) => {
    const tenantId = app.tenantId;
    return h("section", { class: "panel", "aria-label": app.displayName },
      h("h3", {}, app.displayName),
      h("dl", { class: "kv" },
        h("dt", {}, "Client id"), h("dd", { class: "mono" }, app.appId),
        h("dt", {}, "Tenant id"), h("dd", { class: "mono" }, tenantId),
        h("dt", {}, "Graph base URL"), h("dd", { class: "mono" }, `${origin}/v1.0 (and ${origin}/beta)`),
        h("dt", {}, "Token URL"), h("dd", { class: "mono" }, `${origin}/${tenantId}/oauth2/v2.0/token`),
        h("dt", {}, "Authority"), h("dd", { class: "mono" }, `${origin}/${tenantId}`),
        h("dt", {}, "OpenID configuration"), h("dd", { class: "mono" }, `${origin}/${tenantId}/v2.0/.well-known/openid-configuration`),
        h("dt", {}, "Permissions"), h("dd", {}, app.permissions.join(", ") || "none"),
        h("dt", {}, "Calling webhook"), h("dd", { class: "mono" }, app.callingWebhook || "none"),
        h("dt", {}, "Secrets"), h("dd", {}, app.secrets.map((s) => `${s.hint}… (${short(s.secretId)})`).join(", ") || "none")),
      h("div", { class: "actions" },
        h("button", { onclick: () => act("Creating a secret", async () => {
          const secret = await api("POST", `/_admin/apps/${app.appId}/secrets`, {});
          await showSecret(app.displayName, secret);
        }) }, "New secret")));
  });
  put(main(), 
    h("section", { class: "panel", "aria-labelledby": "tenants-title" }, h("h2", { id: "tenants-title" }, "Tenants"),
      h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Tenant id"))),
        h("tbody", {}, tenants.value.map((t) => h("tr", {}, h("td", {}, t.displayName), h("td", { class: "mono" }, t.tenantId)))))),
    h("section", { class: "panel", "aria-labelledby": "apps-title" }, h("h2", { id: "apps-title" }, "Apps"), secretBox, form),
    ...appCards);
}

// ---------- start ----------

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", () => {
  if (!location.hash) location.hash = "#/calls";
  route();
  watch();
});
