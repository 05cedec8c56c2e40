// Deliveries (one alert to one channel) as a table, on the Notifications page and a target's page.

import { h } from "./dom.js";
import { fullDate, when } from "./format.js";

// Badge colours by meaning: delivered, gone wrong, on its way, deliberately not sent.
const DELIVERY_CLASS = {
  sent: "b-up",
  failed: "b-down",
  pending: "b-pending",
  sending: "b-pending",
  suppressed: "b-paused",
  collapsed: "b-paused",
};

export const CHANNEL_CLASS = { ok: "b-up", broken: "b-down", disabled: "b-paused" };

/** A status word in its badge; the word is the API's own, as the docs and logs spell it. */
export function statusBadge(status, classes = DELIVERY_CLASS) {
  return h("span", { class: `badge ${classes[status] || "b-paused"}` }, status);
}

/** Still moving: the worker has not reached a final status yet. */
export const inFlight = (d) => d.status === "pending" || d.status === "sending";

/** The last error as the worker wrote it (it names the HTTP status: "http 410: gone"); null if none. */
export const errorText = (d) => d.last_error || null;

function targetCell(d) {
  if (!d.target_id) return "–"; // a test, or a digest of several targets
  return h("a", { href: `/targets/${d.target_id}`, "data-link": true }, d.target_name || `#${d.target_id}`);
}

function detail(d) {
  const parts = [];
  if (d.status === "pending" && d.attempts > 0) parts.push(`next try ${when(d.next_attempt_at)}`);
  if (d.sent_at) parts.push(`sent ${when(d.sent_at)}`);
  // Held during a maintenance window, and sent once it ended with the incident still open.
  if (d.released_at) parts.push(`held by maintenance until ${when(d.released_at)}`);
  return parts.join(" · ");
}

/**
 * The table: newest first as given. `withTarget` adds the target column; when a row failed,
 * `onRetry(d, button)` adds a column with a Retry button on the failed rows.
 */
export function deliveriesTable(items, { withTarget = true, onRetry: retryFn = null } = {}) {
  const onRetry = items.some((d) => d.status === "failed") ? retryFn : null;
  const cols = ["Time", "Event", withTarget ? "Target" : null, "Channel", "Status", "Attempts", "Last error", onRetry ? "Actions" : null]
    .filter((c) => c !== null);
  return h("table", { class: "plain stack deliveries" },
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col", class: c === "Attempts" ? "num" : null }, c)))),
    h("tbody", {}, items.map((d) => {
      const error = errorText(d);
      const more = detail(d);
      return h("tr", { dataset: { id: d.id, status: d.status } },
        h("td", { title: fullDate(d.created_at), dataset: { label: "Time" } }, when(d.created_at)),
        h("td", { dataset: { label: "Event" } }, d.event_kind),
        withTarget ? h("td", { dataset: { label: "Target" } }, targetCell(d)) : null,
        h("td", { class: "wrap-any", dataset: { label: "Channel" } }, d.channel_name || `#${d.channel_id}`),
        h("td", { dataset: { label: "Status" } }, statusBadge(d.status), more ? h("span", { class: "sub" }, more) : null),
        h("td", { class: "num", dataset: { label: "Attempts" } }, String(d.attempts)),
        h("td", { class: "wrap", dataset: { label: "Last error" } }, error ? h("span", { class: "err-msg" }, error) : "–"),
        onRetry ? h("td", {}, d.status === "failed"
          ? h("button", {
            class: "button small", type: "button", dataset: { key: `retry-${d.id}` },
            "aria-label": `Retry delivery ${d.id} to ${d.channel_name || d.channel_id}`,
            on: { click: (e) => onRetry(d, e.currentTarget) },
          }, "Retry")
          : null) : null);
    })));
}
