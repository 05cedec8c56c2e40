// How a maintenance window reads: its schedule in words, its current or next occurrence in the
// browser's time and the window's own, and the short list of active and upcoming windows that
// the dashboard and a target's page show.

import { h } from "./dom.js";
import { duration, fullDate } from "./format.js";
import { bothZones } from "./zones.js";

export const DAYS = [["mon", "Mon"], ["tue", "Tue"], ["wed", "Wed"], ["thu", "Thu"], ["fri", "Fri"], ["sat", "Sat"], ["sun", "Sun"]];
const DAY_LABEL = Object.fromEntries(DAYS);
export const STATE_LABEL = { active: "Active", upcoming: "Upcoming", past: "Past" };

/** "Weekly on Mon, Thu at 02:30 for 2h 0m (Europe/Berlin)", "Cron 0 3 * * * for 1h 0m (UTC)", "One-off". */
export function scheduleText(w) {
  const zone = w.time_zone || "UTC";
  if (w.kind === "weekly") {
    const days = (w.days || []).map((d) => DAY_LABEL[d] || d).join(", ");
    return `Weekly on ${days} at ${w.start_time} for ${duration(w.duration_s)} (${zone})`;
  }
  if (w.kind === "cron") return `Cron ${w.cron} for ${duration(w.duration_s)} (${zone})`;
  return "One-off";
}

/** The occurrence a window's row shows: the current one, else the next, else a one-off's own. */
export function shownOccurrence(w) {
  if (w.current) return w.current;
  if (w.next) return w.next;
  if (w.kind === "once" && w.starts_at) return { starts_at: w.starts_at, ends_at: w.ends_at };
  return null;
}

/** An occurrence in the browser's time, then (when it reads differently) in the window's zone. */
export function occurrenceText(occ, zone) {
  if (!occ) return h("span", { class: "muted" }, "none planned");
  const [mine, theirs] = bothZones(occ, zone);
  return h("span", { class: "occurrence", title: `${fullDate(occ.starts_at)} – ${fullDate(occ.ends_at)}` },
    h("span", { class: "occ-local" }, mine),
    theirs ? h("span", { class: "occ-zone" }, `${theirs} ${zone}`) : h("span", { class: "occ-zone" }, zone));
}

// Whole minutes: a banner is redrawn when its page re-reads, not every second.
function roughly(seconds) {
  const m = Math.max(1, Math.ceil(seconds / 60));
  if (m < 60) return `${m} min`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours}h ${m % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** "ends in 25 min" for an active window, "starts in 2d 3h" for an upcoming one. */
export function countdown(w, now = Date.now()) {
  if (w.current) return `ends in ${roughly((new Date(w.current.ends_at) - now) / 1000)}`;
  if (w.next) return `starts in ${roughly((new Date(w.next.starts_at) - now) / 1000)}`;
  return null;
}

export function stateBadge(state) {
  return h("span", { class: `badge mw-${state}` }, STATE_LABEL[state] || state);
}

/** The next time anything shown changes state (a current occurrence ends, a next one starts),
 * in ms from now; null when nothing is planned. Pages re-read then, live event or not. */
export function nextBoundary(windows, now = Date.now()) {
  const times = [];
  for (const w of windows) {
    if (w.current) times.push(new Date(w.current.ends_at).getTime());
    if (w.next) times.push(new Date(w.next.starts_at).getTime());
  }
  const future = times.filter((t) => t > now);
  return future.length ? Math.min(...future) - now : null;
}

/** A timer that calls `fn` at the next boundary of `windows` (and at most every `maxMs`). */
export function boundaryTimer(fn, maxMs = 300000) {
  let timer = null;
  return {
    arm(windows) {
      clearTimeout(timer);
      const next = nextBoundary(windows);
      // A second after the boundary: the worker has then written the occurrence's change.
      timer = setTimeout(fn, Math.min(maxMs, next === null ? maxMs : next + 1000));
    },
    cancel: () => clearTimeout(timer),
  };
}

/** Active windows, then upcoming ones (at most `upcoming`), as a list for a banner. */
export function windowList(windows, { upcoming = 5 } = {}) {
  const active = windows.filter((w) => w.state === "active");
  const next = windows.filter((w) => w.state === "upcoming").slice(0, upcoming);
  return h("ul", { class: "mw-list" }, [...active, ...next].map((w) =>
    h("li", { dataset: { id: w.id, state: w.state } },
      stateBadge(w.state),
      h("a", { class: "mw-name", href: `/maintenance#mw-${w.id}`, "data-link": true }, w.name),
      occurrenceText(shownOccurrence(w), w.time_zone),
      h("span", { class: "muted mw-when" }, countdown(w)))));
}
