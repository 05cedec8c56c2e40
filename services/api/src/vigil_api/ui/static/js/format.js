// Formatting numbers, times and durations for display.

export function pct(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (value >= 100) return "100%";
  if (value >= 99.99) return value.toFixed(3) + "%";
  return value.toFixed(2) + "%";
}

/** A CSS class for an uptime percentage, used for text and bar colours. */
export function uptimeClass(value) {
  if (value === null || value === undefined) return "u-none";
  if (value >= 99.9) return "u-good";
  if (value >= 99) return "u-fair";
  if (value >= 95) return "u-poor";
  return "u-bad";
}

export function ms(value) {
  if (value === null || value === undefined) return "–";
  if (value === 0) return "0 ms";
  if (value >= 9999.5) return (value / 1000).toFixed(1) + " s";
  if (value >= 99.95) return Math.round(value) + " ms";
  if (value >= 9.995) return value.toFixed(1) + " ms";
  return value.toFixed(2) + " ms";
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function ago(iso) {
  if (!iso) return "never";
  const secs = (Date.now() - new Date(iso).getTime()) / 1000;
  if (secs < 5) return "just now";
  return duration(secs) + " ago";
}

const dateTime = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
});
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const dayOnly = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const hourOnly = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

export function when(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today ? timeOnly.format(d) : dateTime.format(d);
}

export const fullDate = (iso) => (iso ? dateTime.format(new Date(iso)) : "–");
export const day = (d) => dayOnly.format(d);
export const hour = (d) => hourOnly.format(d);

export const STATUS_LABEL = {
  up: "Up",
  down: "Down",
  pending: "Pending",
  paused: "Paused",
  maintenance: "Maintenance",
};

/** What to show as a target's address, from either a summary item or a full target. */
export function address(t) {
  if (t.address) return t.address;
  if (t.kind === "http") return t.url || "";
  if (t.kind === "tcp") return t.port ? `${t.host}:${t.port}` : t.host || "";
  return t.host || "";
}
