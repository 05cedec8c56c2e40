// The live stream (SSE /api/v1/events), one per tab, shared by every page.
//
// Each page says what it shows (`subscribe(fn, interest)`): the event types it needs, the
// targets whose state and results it shows, and the filters its counts are taken under. The
// stream asks the server for the union of what the subscribed pages want, so a dashboard gets
// the states of the rows it shows and its counts, not every result of every target. When the
// union changes, a new stream is opened with it and the old one is closed once the new one is
// open, so nothing wanted is missed in between; a page whose interest grew after it read its
// data gets a "resync" (reason "subscribed") then, to read again what the old stream did not
// cover. A page that only narrowed its interest gets nothing.
//
// EventSource retries by itself after a dropped connection, but gives up for good after an
// HTTP error (a proxy's 502 while the API restarts, say). Then a new one is opened with
// backoff, so the page always comes back by itself. Events sent while disconnected are lost,
// so subscribers get a "resync" message after every reconnect and re-read what they show.
// The stream rides on the session cookie; when the session ends, the page goes to login.

import { api } from "./api.js";

const STREAM_URL = "/api/v1/events";
const MAX_BACKOFF_MS = 15000;
// A page waiting for a stream that covers it (`ready`) reads anyway after this long.
const READY_MS = 3000;
const DEFAULT_TYPES = ["state", "result", "maintenance"];
const TARGETED = ["state", "result"];
const MAX_TARGETS = 1000; // the server's limit on target_id; more ask for every target
const FILTER_KEYS = ["kind", "label", "q"];

const listeners = new Set();

let source = null; // the newest stream, opening or open
let sourceInterest = null;
let sourceUrl = null;
let previous = null; // the stream it replaces, closed when the new one opens
let previousInterest = null;
let covered = null; // the interest of the stream that is open, null while none is
let backoff = 1000;
let retryTimer = null;
let connectedOnce = false;
let lost = false; // events may have been missed since the last open
let started = false;
let scheduled = false;

function normal(interest) {
  const types = new Set(interest?.types || DEFAULT_TYPES);
  let targets = interest?.targets == null ? null : new Set(interest.targets.map(Number));
  if (targets && !targets.size) {
    // No rows shown: no states or results wanted.
    for (const t of TARGETED) types.delete(t);
    targets = null;
  }
  const filters = {};
  for (const k of FILTER_KEYS) if (interest?.filters?.[k]) filters[k] = interest.filters[k];
  return { types, targets, filters: types.has("counts") ? filters : null };
}

const targeted = (i) => TARGETED.some((t) => i.types.has(t));
const sameFilters = (a, b) => FILTER_KEYS.every((k) => (a?.[k] || "") === (b?.[k] || ""));

function union() {
  const types = new Set();
  const targets = new Set();
  let every = false;
  let filters = null;
  for (const l of listeners) {
    const i = l.interest;
    for (const t of i.types) types.add(t);
    if (targeted(i)) {
      if (i.targets === null) every = true;
      else for (const id of i.targets) targets.add(id);
    }
    if (i.filters && !filters) filters = i.filters;
  }
  // Nothing asked for: the stream still says whether the server is there (and its resyncs).
  if (!types.size) types.add("maintenance");
  return { types, targets: every || targets.size > MAX_TARGETS || !targets.size ? null : targets, filters };
}

/** Whether a stream with interest `u` brings everything `i` asks for. */
function covers(u, i) {
  if (!u) return false;
  for (const t of i.types) if (!u.types.has(t)) return false;
  if (targeted(i) && u.targets !== null) {
    if (i.targets === null) return false;
    for (const id of i.targets) if (!u.targets.has(id)) return false;
  }
  return !i.types.has("counts") || sameFilters(u.filters, i.filters);
}

function urlOf(u) {
  const p = new URLSearchParams();
  p.set("type", [...u.types].sort().join(","));
  if (u.targets) for (const id of [...u.targets].sort((a, b) => a - b)) p.append("target_id", id);
  for (const k of FILTER_KEYS) if (u.filters?.[k]) p.set(k, u.filters[k]);
  return `${STREAM_URL}?${p}`;
}

function call(l, message) {
  try {
    l.fn(message);
  } catch (err) {
    console.warn("live update handler failed", err);
  }
}

function resync(l, reason) {
  l.stale = false;
  if (l.readyDone) call(l, { type: "resync", data: { reason } });
  else l.resolve();
}

/** Receive {type: "state"|"result"|"maintenance"|"counts"|"resync", data}, for what
 * `interest` asks: {types: [...], targets: [ids] or null for every target, filters: {kind,
 * label, q} for "counts"}; without one, every state, result and maintenance event.
 * "maintenance": a window started, ended or changed (data says no more). "counts": the
 * dashboard's counts by state under `filters`, sent when they change.
 * Returns the unsubscribe function, which also has `update(interest)` (the stream follows;
 * call it after reading what the new interest covers: a "resync" follows if the stream did
 * not cover it yet) and `ready`, a promise settled once a stream that covers `interest` is
 * open (read after it and no event is missed; it settles after a few seconds regardless). */
export function subscribe(fn, interest) {
  const l = { fn, interest: normal(interest), stale: false, readyDone: false };
  l.ready = new Promise((resolve) => {
    l.resolve = () => {
      if (l.readyDone) return;
      l.readyDone = true;
      resolve();
    };
  });
  if (covers(covered, l.interest)) l.resolve();
  else {
    setTimeout(() => {
      if (l.readyDone) return;
      l.stale = true; // it reads now, before its stream opened
      l.resolve();
    }, READY_MS);
  }
  listeners.add(l);
  schedule();
  const unsubscribe = () => {
    listeners.delete(l);
    schedule();
  };
  unsubscribe.update = (next) => {
    l.interest = normal(next);
    if (!covers(covered, l.interest)) l.stale = true;
    schedule();
  };
  unsubscribe.ready = l.ready;
  return unsubscribe;
}

function deliver(type, data, interest) {
  for (const l of [...listeners]) {
    const i = l.interest;
    if (!i.types.has(type)) continue;
    if (type === "counts" && !sameFilters(i.filters, interest.filters)) continue;
    if (TARGETED.includes(type) && i.targets !== null && !i.targets.has(data?.target_id)) continue;
    call(l, { type, data });
  }
}

function show(state, text) {
  const el = document.getElementById("live");
  if (!el) return;
  el.dataset.state = state;
  el.querySelector(".live-text").textContent = text;
  el.title = state === "live" ? "Receiving live updates" : "Live updates interrupted; reconnecting";
}

function schedule() {
  if (!started || scheduled) return;
  scheduled = true;
  // After the current task: a page switch unsubscribes one page and subscribes the next.
  queueMicrotask(() => {
    scheduled = false;
    if (retryTimer) return; // the retry opens with the union of the moment
    const u = union();
    if (urlOf(u) !== sourceUrl || !source || source.readyState === EventSource.CLOSED) open(u);
  });
}

function open(u = union()) {
  clearTimeout(retryTimer);
  retryTimer = null;
  if (previous) previous.close(); // a replacement that never opened
  if (source && source.readyState === EventSource.OPEN && !lost) {
    previous = source; // kept until the new one opens
    previousInterest = sourceInterest;
  } else {
    if (source) source.close();
    previous = null;
  }
  const es = new EventSource(urlOf(u));
  source = es;
  sourceInterest = u;
  sourceUrl = urlOf(u);
  let opened = false;
  const mine = () => es === source || es === previous;
  const streamInterest = () => (es === source ? sourceInterest : previousInterest);
  es.addEventListener("open", () => {
    if (es !== source) return;
    if (previous) previous.close();
    previous = null;
    backoff = 1000;
    show("live", "Live");
    const reconnected = opened || (lost && connectedOnce);
    opened = true;
    connectedOnce = true;
    lost = false;
    covered = u;
    for (const l of [...listeners]) {
      if (!covers(u, l.interest)) continue;
      if (reconnected) resync(l, "reconnected");
      else if (l.stale) resync(l, "subscribed");
      else l.resolve();
    }
  });
  const onData = (type) => (event) => {
    if (!mine()) return;
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    deliver(type, data, streamInterest());
  };
  es.addEventListener("state", onData("state"));
  es.addEventListener("result", onData("result"));
  es.addEventListener("counts", onData("counts"));
  // Carries nothing worth parsing: every page that shows windows re-reads them.
  es.addEventListener("maintenance", () => mine() && deliver("maintenance", null, streamInterest()));
  // The server lost events itself (its database connection dropped): re-read everything.
  es.addEventListener("resync", () => {
    if (mine()) for (const l of [...listeners]) resync(l, "server");
  });
  es.addEventListener("error", () => {
    if (es === previous) {
      // The old stream died while its replacement opens: what it would have brought is lost.
      previous.close();
      previous = null;
      lost = true;
      return;
    }
    if (es !== source) return;
    lost = true;
    covered = null;
    show("reconnecting", "Reconnecting…");
    if (es.readyState === EventSource.CLOSED) {
      es.close();
      // EventSource does not say why it gave up. Asking who we are does: a 401 (the session
      // expired or was revoked) sends the page to login, as any other request would.
      api.whoAmI().catch(() => {});
      retryTimer = setTimeout(() => open(), backoff);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  });
}

export function start() {
  if (started) return;
  started = true;
  document.getElementById("live").hidden = false;
  // Opened after the current task, with what the first page subscribes to meanwhile.
  schedule();
  // A connection that died silently (laptop asleep, Wi-Fi switched) is replaced at once.
  window.addEventListener("online", () => {
    backoff = 1000;
    lost = true;
    open();
  });
  window.addEventListener("offline", () => show("reconnecting", "Offline"));
  // Closing the stream before the page goes away keeps the browser from reporting it as failed.
  window.addEventListener("pagehide", () => {
    if (previous) previous.close();
    if (source) source.close();
  });
}
