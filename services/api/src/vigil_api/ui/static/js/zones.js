// Time zones: the browser's own, the IANA names a picker offers, wall-clock times in a given zone
// (what a datetime-local input holds) and an occurrence shown in the browser's time and the
// window's. The browser's Intl data does the zone arithmetic, so DST is the tz database's.

/** The browser's IANA time zone (UTC when it names none). */
export const localZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

/** Every IANA zone the browser knows, with UTC and `extra` (a stored alias) included, sorted. */
export function zoneNames(extra = []) {
  const names = new Set(typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : []);
  for (const name of ["UTC", localZone(), ...extra]) if (name) names.add(name);
  return [...names].sort((a, b) => a.localeCompare(b));
}

const partsCache = new Map();
function partsFormat(zone) {
  let f = partsCache.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
    partsCache.set(zone, f);
  }
  return f;
}

// The wall clock of `date` in `zone`, as numbers.
function wall(date, zone) {
  const out = {};
  for (const p of partsFormat(zone).formatToParts(date)) if (p.type !== "literal") out[p.type] = Number(p.value);
  return out;
}

// How far `zone` is ahead of UTC at the instant `ms`, in milliseconds.
function offsetMs(ms, zone) {
  const w = wall(new Date(ms), zone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(ms / 1000) * 1000;
}

const pad = (n) => String(n).padStart(2, "0");

/** An instant as a datetime-local value ("2026-03-29T02:30") on the wall clock of `zone`. */
export function toWall(iso, zone) {
  if (!iso) return "";
  const w = wall(new Date(iso), zone);
  return `${w.year}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}`;
}

/** A datetime-local value read on the wall clock of `zone`, as an ISO instant with Z; null when
 * empty or unreadable. Like Temporal's "compatible" reading: a time the clocks skip moves on by
 * the gap (02:30 on a spring-forward night is 03:30), a repeated one is its first instant. */
export function fromWall(value, zone) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value || "");
  if (!m) return null;
  const naive = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
  // The offsets a day either side cover any change of offset near this time (one at most).
  const before = offsetMs(naive - 86400e3, zone);
  const after = offsetMs(naive + 86400e3, zone);
  const fits = [before, after].map((o) => naive - o).filter((t) => offsetMs(t, zone) === naive - t);
  const at = fits.length ? Math.min(...fits) : naive - before;
  return new Date(at).toISOString().replace(".000Z", "Z");
}

const rangeCache = new Map();
function rangeFormat(zone) {
  const key = zone || "";
  let f = rangeCache.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(undefined, {
      weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
      ...(zone ? { timeZone: zone } : {}),
    });
    rangeCache.set(key, f);
  }
  return f;
}

/** "Sun, Mar 29, 02:30 – 04:30" for [start, end) on the wall clock of `zone` (the browser's when null). */
export function range(startIso, endIso, zone = null) {
  const f = rangeFormat(zone);
  const start = new Date(startIso);
  if (!endIso) return f.format(start);
  const end = new Date(endIso);
  return typeof f.formatRange === "function" ? f.formatRange(start, end) : `${f.format(start)} – ${f.format(end)}`;
}

/** An occurrence as [the browser's time, the window's time or null when they read the same]. */
export function bothZones(occ, zone) {
  const mine = range(occ.starts_at, occ.ends_at);
  const theirs = zone ? range(occ.starts_at, occ.ends_at, zone) : mine;
  return [mine, theirs === mine ? null : theirs];
}
