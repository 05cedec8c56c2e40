// The live stream (SSE /api/v1/events), shared by every page.
//
// EventSource retries by itself after a dropped connection, but gives up for good after an
// HTTP error (a proxy's 502 while the API restarts, say). Then a new one is opened with
// backoff, so the page always comes back by itself. Events sent while disconnected are lost,
// so subscribers get a "resync" message after every reconnect and re-read what they show.
// The stream rides on the session cookie; when the session ends, the page goes to login.

import { api } from "./api.js";

const listeners = new Set();
const STREAM_URL = "/api/v1/events";
const MAX_BACKOFF_MS = 15000;

let source = null;
let backoff = 1000;
let retryTimer = null;
let connectedOnce = false;

/** Receive {type: "state"|"result"|"maintenance"|"resync", data}; returns the unsubscribe
 * function. "maintenance": a window started, ended or changed (data says no more). */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit(type, data) {
  for (const fn of [...listeners]) {
    try {
      fn({ type, data });
    } catch (err) {
      console.warn("live update handler failed", err);
    }
  }
}

function show(state, text) {
  const el = document.getElementById("live");
  if (!el) return;
  el.dataset.state = state;
  el.querySelector(".live-text").textContent = text;
  el.title = state === "live" ? "Receiving live updates" : "Live updates interrupted; reconnecting";
}

function onData(type) {
  return (event) => {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    emit(type, data);
  };
}

function open() {
  clearTimeout(retryTimer);
  retryTimer = null;
  if (source) source.close();
  source = new EventSource(STREAM_URL);
  source.addEventListener("open", () => {
    backoff = 1000;
    show("live", "Live");
    if (connectedOnce) emit("resync", null);
    connectedOnce = true;
  });
  source.addEventListener("state", onData("state"));
  source.addEventListener("result", onData("result"));
  // Carries nothing worth parsing: every page that shows windows re-reads them.
  source.addEventListener("maintenance", () => emit("maintenance", null));
  // The server lost events itself (its database connection dropped): re-read everything.
  source.addEventListener("resync", () => emit("resync", null));
  source.addEventListener("error", () => {
    show("reconnecting", "Reconnecting…");
    if (source.readyState === EventSource.CLOSED) {
      source.close();
      // EventSource does not say why it gave up. Asking who we are does: a 401 (the session
      // expired or was revoked) sends the page to login, as any other request would.
      api.whoAmI().catch(() => {});
      retryTimer = setTimeout(open, backoff);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  });
}

export function start() {
  if (source) return;
  document.getElementById("live").hidden = false;
  open();
  // A connection that died silently (laptop asleep, Wi-Fi switched) is replaced at once.
  window.addEventListener("online", () => {
    backoff = 1000;
    open();
  });
  window.addEventListener("offline", () => show("reconnecting", "Offline"));
  // Closing the stream before the page goes away keeps the browser from reporting it as failed.
  window.addEventListener("pagehide", () => source && source.close());
}
