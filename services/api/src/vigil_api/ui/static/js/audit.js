// The audit page (admins): who changed what, when and from where, newest first, filtered by
// actor, object and time, a page at a time; each row opens to the before/after of its object.

import { api } from "./api.js";
import { debounce, h, replace } from "./dom.js";
import { fullDate, when } from "./format.js";

const PAGE_SIZE = 50;
const TEXT_FILTERS = ["actor", "object_kind", "object_id", "action"];
const TIME_FILTERS = ["since", "until"];
// Suggestions only: the API takes any value, and new kinds of objects appear as Vigil grows.
const OBJECT_KINDS = ["target", "target_dependency", "channel", "route", "route_channel", "push_token", "delivery", "token", "user", "session"];
const ACTIONS = ["create", "update", "delete", "login", "login_failed", "logout", "apply"];

function readFilters() {
  const p = new URLSearchParams(location.search);
  return Object.fromEntries([...TEXT_FILTERS, ...TIME_FILTERS].map((k) => [k, p.get(k) || ""]));
}

function writeFilters(f) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v) p.set(k, v);
  const qs = p.toString();
  history.replaceState(null, "", qs ? `/audit?${qs}` : "/audit");
}

// A datetime-local input speaks local time without a zone; the API and the URL speak UTC.
const pad = (n) => String(n).padStart(2, "0");
function toLocalInput(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
function fromLocalInput(value) {
  const d = new Date(value);
  return value && !Number.isNaN(d.getTime()) ? d.toISOString() : "";
}

/** {"settings": {"url": "x"}} as [["settings.url", "x"]]: nested objects become dotted paths,
 * so an update shows the one setting that changed rather than the whole object twice. */
export function flatten(value, prefix = "", out = new Map()) {
  if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out.set(prefix, value);
  }
  return out;
}

const shown = (v) => (v === undefined ? "–" : typeof v === "string" ? v : JSON.stringify(v));

/** The before/after of one entry as a table of the paths that differ (all of them for a
 * create or a delete, which have one side only). */
export function diffTable(before, after) {
  const b = flatten(before || {});
  const a = flatten(after || {});
  const paths = [...new Set([...b.keys(), ...a.keys()])].sort();
  // An empty object on one side whose keys the other side fills ({} -> {env: "prod"}) reads
  // as the keys added, not as one more row.
  const filled = (p) => paths.some((q) => q.startsWith(`${p}.`));
  const rows = paths.filter((p) => JSON.stringify(b.get(p)) !== JSON.stringify(a.get(p)) && !filled(p));
  if (!rows.length) return h("p", { class: "muted" }, "No field values recorded.");
  return h("table", { class: "plain diff" },
    h("thead", {}, h("tr", {}, ["Field", "Before", "After"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows.map((p) => {
      const change = !b.has(p) ? "added" : !a.has(p) ? "removed" : "changed";
      return h("tr", { class: `d-${change}`, dataset: { path: p } },
        h("th", { scope: "row" }, h("code", {}, p)),
        h("td", { class: "before" }, h("code", {}, shown(b.get(p)))),
        h("td", { class: "after" }, h("code", {}, shown(a.get(p)))));
    })));
}

function objectCell(e) {
  const label = e.object_name || (e.object_id ? `#${e.object_id}` : "");
  const link = e.object_kind === "target" && e.object_id && e.action !== "delete"
    ? h("a", { href: `/targets/${e.object_id}`, "data-link": true }, label)
    : label;
  return [h("span", { class: "kind" }, e.object_kind), " ", link];
}

export function renderAudit(main) {
  const filters = readFilters();
  let abort = new AbortController();
  let next = null;

  const inputs = {
    actor: h("input", { type: "search", id: "a-actor", placeholder: "user or token name", value: filters.actor, autocomplete: "off" }),
    object_kind: h("input", { type: "search", id: "a-object_kind", list: "a-kinds", placeholder: "target, channel…", value: filters.object_kind, autocomplete: "off" }),
    object_id: h("input", { type: "search", id: "a-object_id", placeholder: "id", value: filters.object_id, autocomplete: "off" }),
    action: h("input", { type: "search", id: "a-action", list: "a-actions", placeholder: "update, login…", value: filters.action, autocomplete: "off" }),
    since: h("input", { type: "datetime-local", id: "a-since", value: filters.since ? toLocalInput(filters.since) : "" }),
    until: h("input", { type: "datetime-local", id: "a-until", value: filters.until ? toLocalInput(filters.until) : "" }),
  };
  const labels = { actor: "Actor", object_kind: "Object kind", object_id: "Object id", action: "Action", since: "From", until: "Until" };
  const tbody = h("tbody");
  const errorEl = h("p", { class: "alert", role: "alert", hidden: true });
  const status = h("p", { class: "pager-status", "aria-live": "polite" });
  const more = h("button", { class: "button", type: "button", hidden: true }, "Load more");

  replace(main, h("section", { class: "audit" },
    h("div", { class: "page-head" }, h("div", {},
      h("h1", {}, "Audit log"),
      h("p", { class: "muted intro" }, "Every change made through the API or the CLI, and every sign-in, with secrets masked."))),
    h("form", { class: "filters", role: "search", on: { submit: (e) => e.preventDefault() } },
      Object.entries(inputs).map(([k, input]) => h("div", { class: "field" }, h("label", { for: input.id }, labels[k]), input)),
      h("datalist", { id: "a-kinds" }, OBJECT_KINDS.map((k) => h("option", { value: k }))),
      h("datalist", { id: "a-actions" }, ACTIONS.map((k) => h("option", { value: k })))),
    errorEl,
    h("div", { class: "table-wrap" }, h("table", { class: "plain stack audit-log" },
      h("thead", {}, h("tr", {}, ["Time", "Actor", "Action", "Object", "From", "Changes"].map((t) => h("th", { scope: "col" }, t)))),
      tbody)),
    h("nav", { class: "pager", "aria-label": "More entries" }, status, more)));
  document.title = "Vigil · Audit log";

  function entryRows(e) {
    const changed = e.before || e.after;
    const detailId = `audit-${e.id}`;
    // Drawn when first opened: a page of entries need not build fifty tables nobody reads.
    const cell = h("td", { colspan: 6 });
    const detail = h("tr", { class: "audit-detail", id: detailId, hidden: true }, cell);
    const toggle = changed ? h("button", {
      class: "button small", type: "button", "aria-expanded": "false", "aria-controls": detailId,
      on: {
        click: () => {
          if (!cell.firstChild) cell.append(diffTable(e.before, e.after));
          detail.hidden = !detail.hidden;
          toggle.setAttribute("aria-expanded", String(!detail.hidden));
          toggle.textContent = detail.hidden ? "Show" : "Hide";
        },
      },
    }, "Show") : h("span", { class: "muted" }, "–");
    const row = h("tr", { dataset: { id: e.id, action: e.action } },
      h("td", { title: fullDate(e.at), dataset: { label: "Time" } }, when(e.at)),
      h("td", { class: "wrap-any", dataset: { label: "Actor" } }, e.actor,
        h("span", { class: "sub" }, [e.actor_kind, e.via ? `via ${e.via}` : null].filter(Boolean).join(" · "))),
      h("td", { dataset: { label: "Action" } }, h("span", { class: "action" }, e.action)),
      h("td", { class: "wrap-any", dataset: { label: "Object" } }, objectCell(e)),
      h("td", { class: "addr", dataset: { label: "From" } }, e.address || "–"),
      h("td", { dataset: { label: "Changes" } }, toggle));
    return [row, detail];
  }

  async function load(append) {
    const { signal } = abort;
    more.disabled = true;
    try {
      const data = await api.get("/audit", { ...filters, limit: PAGE_SIZE, cursor: append ? next : null }, signal);
      errorEl.hidden = true;
      if (!append) replace(tbody);
      tbody.append(...data.items.flatMap(entryRows));
      next = data.next;
      more.hidden = !next;
      const count = tbody.querySelectorAll("tr[data-id]").length;
      if (!count) replace(tbody, h("tr", {}, h("td", { colspan: 6, class: "empty" }, "No entries match these filters.")));
      status.textContent = count ? `${count} entr${count === 1 ? "y" : "ies"}${next ? "" : ", all shown"}` : "";
    } catch (err) {
      if (err.name === "AbortError") return;
      errorEl.textContent = `Could not load the audit log: ${err.message}`;
      errorEl.hidden = false;
    } finally {
      more.disabled = false;
    }
  }

  const changed = debounce(() => {
    for (const k of TEXT_FILTERS) filters[k] = inputs[k].value.trim();
    for (const k of TIME_FILTERS) filters[k] = fromLocalInput(inputs[k].value);
    writeFilters(filters);
    abort.abort();
    abort = new AbortController();
    load(false);
  }, 250);
  for (const input of Object.values(inputs)) input.addEventListener("input", changed);
  more.addEventListener("click", () => load(true));

  load(false);
  return () => {
    abort.abort();
    changed.cancel();
  };
}
