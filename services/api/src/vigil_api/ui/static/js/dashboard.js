// The dashboard: counts by state, filters, and one page of targets that updates live.

import { api } from "./api.js";
import { sparkline } from "./charts.js";
import { card, debounce, h, replace, throttle } from "./dom.js";
import { subscribe } from "./events.js";
import { can } from "./session.js";
import { STATUS_LABEL, address, ago, duration, fullDate, ms, pct, uptimeClass, when } from "./format.js";
import { boundaryTimer, windowList } from "./windows.js";

const PAGE_SIZE = 50;
const SPARK_POINTS = 30;
const EXTRAS_TTL_MS = 5 * 60 * 1000;
const STATES = ["up", "down", "pending", "maintenance", "paused"];
const UPCOMING_SHOWN = 5;
const KINDS = ["http", "tcp", "icmp"];

// Per-target extras (recent checks, 7 d / 30 d uptime) survive refreshes and page switches.
const extras = new Map();

export function badge(status) {
  return h("span", { class: `badge b-${status}` }, STATUS_LABEL[status] || status);
}

// Under a maintenance badge: until when, and which window.
function statusNote(item) {
  const m = item.maintenance;
  if (!m) return null;
  return h("span", { class: "since", title: `${m.name}, until ${fullDate(m.ends_at)}` }, `until ${when(m.ends_at)}`);
}

function readFilters() {
  const p = new URLSearchParams(location.search);
  return { state: p.get("state") || "", kind: p.get("kind") || "", label: p.get("label") || "", q: p.get("q") || "" };
}

function writeFilters(f) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v) p.set(k, v);
  const qs = p.toString();
  history.replaceState(null, "", qs ? `/?${qs}` : "/");
}

/** Runs at most `limit` fetches at once, so a page of rows never floods the API. */
function queue(limit) {
  const waiting = [];
  let running = 0;
  const pump = () => {
    while (running < limit && waiting.length) {
      const job = waiting.shift();
      running++;
      job().finally(() => {
        running--;
        pump();
      });
    }
  };
  return (job) => {
    waiting.push(job);
    pump();
  };
}

export function renderDashboard(main) {
  const filters = readFilters();
  let cursors = [null]; // cursors[i] opens page i
  let page = 0;
  let rows = new Map(); // id -> {tr, item}
  let abort = new AbortController();
  const run = queue(4);
  // Extras cost three requests per row, so only rows that scroll into view load them.
  const seen = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      seen.unobserve(entry.target);
      const row = rows.get(Number(entry.target.dataset.id));
      if (row) loadExtras(row.item);
    }
  }, { rootMargin: "200px" });

  const countsEl = h("div", { class: "counts", role: "group", "aria-label": "Filter by state" });
  const search = h("input", { id: "f-q", type: "search", placeholder: "Name contains…", value: filters.q, autocomplete: "off" });
  const kind = h("select", { id: "f-kind" },
    h("option", { value: "" }, "All kinds"),
    KINDS.map((k) => h("option", { value: k, selected: filters.kind === k }, k.toUpperCase())));
  const label = h("input", { id: "f-label", type: "text", placeholder: "key:value", value: filters.label, autocomplete: "off" });
  const tbody = h("tbody");
  const status = h("p", { class: "pager-status", "aria-live": "polite" });
  const prev = h("button", { class: "button", type: "button", disabled: true }, "← Previous");
  const next = h("button", { class: "button", type: "button", disabled: true }, "Next →");
  const errorEl = h("p", { class: "alert", role: "alert", hidden: true });
  const windowsBox = h("div");
  const windowsCard = card("dash-mw-title", "Maintenance",
    h("a", { href: "/maintenance", "data-link": true }, "All windows"), windowsBox);
  windowsCard.classList.add("mw-banner");
  windowsCard.hidden = true;
  const table = h("table", { class: "targets" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Status"),
      h("th", { scope: "col" }, "Target"),
      h("th", { scope: "col", class: "num" }, "24 h"),
      h("th", { scope: "col", class: "num" }, "7 d"),
      h("th", { scope: "col", class: "num" }, "30 d"),
      h("th", { scope: "col", class: "num" }, "Latency"),
      h("th", { scope: "col" }, "Recent checks"))),
    tbody);

  replace(main,
    h("section", { class: "dash" },
      h("div", { class: "page-head" }, h("h1", {}, "Targets"), countsEl),
      windowsCard,
      h("form", { class: "filters", role: "search", on: { submit: (e) => e.preventDefault() } },
        h("div", { class: "field grow" }, h("label", { for: "f-q" }, "Search"), search),
        h("div", { class: "field" }, h("label", { for: "f-kind" }, "Kind"), kind),
        h("div", { class: "field" }, h("label", { for: "f-label" }, "Label"), label)),
      errorEl,
      h("div", { class: "table-wrap" }, table),
      h("nav", { class: "pager", "aria-label": "Pages" }, prev, status, next)));

  // The count buttons are made once and their figures updated: a live update must not
  // replace a button being clicked.
  const countButtons = new Map();
  function renderCounts(counts) {
    const entries = [["", "All", counts.total], ...STATES.map((st) => [st, STATUS_LABEL[st], counts[st] ?? 0])];
    if (!countButtons.size) {
      replace(countsEl, entries.map(([st, text]) => {
        const n = h("span", { class: "n" });
        const button = h("button", {
          type: "button", class: `count c-${st || "all"}`, dataset: { state: st },
          on: { click: () => setFilter("state", filters.state === st ? "" : st) },
        }, n, h("span", { class: "t" }, text));
        countButtons.set(st, { button, n });
        return button;
      }));
    }
    for (const [st, , n] of entries) {
      const b = countButtons.get(st);
      b.n.textContent = String(n ?? 0);
      b.button.setAttribute("aria-pressed", String(filters.state === st));
    }
  }

  function extrasFor(item) {
    let x = extras.get(item.id);
    if (!x) {
      x = { checks: null, u7: null, u30: null, loaded: false };
      extras.set(item.id, x);
    }
    if (item.uptime_7d !== undefined) x.u7 = item.uptime_7d;
    if (item.uptime_30d !== undefined) x.u30 = item.uptime_30d;
    return x;
  }

  function loadExtras(item) {
    const x = extrasFor(item);
    // Live results keep the sparkline current; the 7 d / 30 d figures are re-read now and then.
    if (x.loaded && Date.now() - x.loadedAt < EXTRAS_TTL_MS) return;
    x.loaded = true;
    x.loadedAt = Date.now();
    const { signal } = abort;
    const id = item.id;
    const jobs = [() => api.get(`/targets/${id}/checks`, { limit: SPARK_POINTS }, signal).then((r) => {
      x.checks = (r.items || r).slice().reverse();
    })];
    if (item.uptime_7d === undefined) {
      jobs.push(() => api.get(`/targets/${id}/uptime`, { window: "7d" }, signal).then((r) => { x.u7 = r.uptime_pct; }));
      jobs.push(() => api.get(`/targets/${id}/uptime`, { window: "30d" }, signal).then((r) => { x.u30 = r.uptime_pct; }));
    }
    for (const job of jobs) {
      run(() => job().then(() => paintExtras(id)).catch((err) => {
        if (err.name !== "AbortError") x.loaded = false;
      }));
    }
  }

  function paintExtras(id) {
    const row = rows.get(id);
    if (!row) return;
    const x = extras.get(id);
    fillUptime(row.cells.u7, x.u7);
    fillUptime(row.cells.u30, x.u30);
    if (x.checks) replace(row.cells.spark, sparkline(x.checks, { width: 120, height: 28 }));
  }

  function fillUptime(td, value) {
    td.className = `num ${uptimeClass(value)}`;
    td.textContent = pct(value);
  }

  function paintLatency(td, item) {
    const failed = item.last_error_class && item.status !== "paused";
    replace(td,
      h("span", { class: "lat" }, ms(item.last_latency_ms)),
      failed ? h("span", { class: "err-class" }, item.last_error_class) : null);
  }

  // What a newer read of the same row changes: status, 24 h uptime, latency.
  function paintRow(cells, item) {
    replace(cells.status, badge(item.status), item.status === "maintenance" && item.maintenance ? statusNote(item)
      : item.since ? h("span", { class: "since", title: `since ${item.since}` }, duration(item.for_s ?? (Date.now() - new Date(item.since)) / 1000)) : null);
    fillUptime(cells.u24, item.uptime_24h);
    paintLatency(cells.lat, item);
    cells.lat.title = item.last_checked_at ? `last checked ${ago(item.last_checked_at)}` : "not checked yet";
  }

  function renderRow(item) {
    const cells = {
      status: h("td", { class: "status" }),
      u24: h("td", { dataset: { label: "24 h" } }),
      u7: h("td", { dataset: { label: "7 d" } }),
      u30: h("td", { dataset: { label: "30 d" } }),
      lat: h("td", { class: "num", dataset: { label: "latency" } }),
      spark: h("td", { class: "spark-cell" }),
    };
    paintRow(cells, item);
    const x = extrasFor(item);
    fillUptime(cells.u7, x.u7);
    fillUptime(cells.u30, x.u30);
    replace(cells.spark, x.checks ? sparkline(x.checks) : h("span", { class: "muted" }, "…"));
    const tr = h("tr", { dataset: { id: item.id, status: item.status } },
      cells.status,
      h("td", { class: "target" },
        h("a", { class: "name", href: `/targets/${item.id}`, "data-link": true }, item.name),
        h("span", { class: "meta" }, h("span", { class: "kind" }, item.kind), h("span", { class: "addr" }, address(item)))),
      cells.u24, cells.u7, cells.u30, cells.lat, cells.spark);
    rows.set(item.id, { tr, item, cells });
    seen.observe(tr);
    return tr;
  }

  function renderRows(items) {
    // The same rows as shown: painted where they are, so that a link or button being clicked
    // stays in the page (a refresh after a live update or a resync must not replace them).
    if (items.length && items.length === rows.size && items.every((item) => rows.has(item.id))) {
      const shown = [...rows.keys()];
      if (items.every((item, i) => shown[i] === item.id)) {
        for (const item of items) {
          const row = rows.get(item.id);
          row.item = item;
          row.tr.dataset.status = item.status;
          paintRow(row.cells, item);
        }
        return;
      }
    }
    seen.disconnect();
    rows = new Map();
    if (!items.length) {
      const anyFilter = Object.values(filters).some(Boolean);
      replace(tbody, h("tr", {}, h("td", { colspan: 7, class: "empty" },
        anyFilter ? "No target matches these filters." : h("span", {}, "No targets yet. ",
          can("write") ? h("a", { href: "/targets/new", "data-link": true }, "Create the first one") : null))));
      return;
    }
    replace(tbody, items.map(renderRow));
    // The time to first useful paint, for anyone measuring (and the 10k-target test).
    if (!performance.getEntriesByName("vigil:rows").length) performance.mark("vigil:rows");
  }

  async function load() {
    try {
      const data = await api.get("/summary", { ...filters, limit: PAGE_SIZE, cursor: cursors[page] }, abort.signal);
      errorEl.hidden = true;
      // Once the stream has sent counts under these filters, it is the fresher of the two.
      if (!streamCounts) renderCounts(data.counts);
      renderRows(data.items);
      live.update(interest(data.items));
      cursors = cursors.slice(0, page + 1);
      if (data.next) cursors.push(data.next);
      prev.disabled = page === 0;
      next.disabled = !data.next;
      const from = data.items.length ? page * PAGE_SIZE + 1 : 0;
      status.textContent = data.items.length ? `${from}–${from + data.items.length - 1}` : "";
    } catch (err) {
      if (err.name === "AbortError") return;
      errorEl.textContent = `Could not load targets: ${err.message}`;
      errorEl.hidden = false;
    }
  }

  // Active and upcoming windows: a banner above the filters, shown only when there are any.
  // At a window's start or end the targets' statuses change too (they read as maintenance).
  const windowTimer = boundaryTimer(() => {
    refresh();
    loadWindows();
  });
  const windowsAbort = new AbortController();
  async function loadWindows() {
    try {
      const [active, upcoming] = await Promise.all(["active", "upcoming"].map((state) =>
        api.get("/maintenance", { state }, windowsAbort.signal).then((r) => r.items || [])));
      const shown = [...active, ...upcoming];
      windowsCard.hidden = !shown.length;
      const more = upcoming.length - UPCOMING_SHOWN;
      replace(windowsBox, windowList(shown, { upcoming: UPCOMING_SHOWN }),
        more > 0 ? h("p", { class: "help" }, `and ${more} more upcoming`) : null);
      windowTimer.arm(shown);
    } catch (err) {
      if (err.name !== "AbortError") console.info("maintenance windows not loaded", err.message);
    }
  }

  function restart() {
    streamCounts = false;
    live.update(interest([]));
    abort.abort();
    abort = new AbortController();
    cursors = [null];
    page = 0;
    load();
  }

  function setFilter(key, value) {
    filters[key] = value;
    writeFilters(filters);
    restart();
  }

  const typed = debounce(() => {
    filters.q = search.value.trim();
    filters.label = label.value.trim();
    writeFilters(filters);
    restart();
  }, 250);
  search.addEventListener("input", typed);
  label.addEventListener("input", typed);
  kind.addEventListener("change", () => setFilter("kind", kind.value));
  prev.addEventListener("click", () => { page = Math.max(0, page - 1); load(); });
  next.addEventListener("click", () => { page += 1; load(); });

  const refresh = throttle(load, 1000);
  const refreshWindows = throttle(loadWindows, 1000);
  const periodic = setInterval(() => {
    load();
    loadWindows();
  }, 30000);
  // The stream brings the states and results of the rows shown, and the counts under the
  // filters; the rows are known once the page is read (then a "resync" fills the gap).
  // A label still being typed ("env", no colon yet) is refused by the summary and would be by
  // the stream too: no counts are asked for until it reads key:value.
  const interest = (items) => ({
    types: ["state", "result", "maintenance", ...(!filters.label || /^[^:]+:/.test(filters.label) ? ["counts"] : [])],
    targets: items.map((item) => item.id),
    filters: { kind: filters.kind, label: filters.label, q: filters.q },
  });
  let streamCounts = false;
  const live = subscribe(({ type, data }) => {
    if (type === "resync") {
      if (data?.reason !== "subscribed") extras.clear();
      refresh();
      if (data?.reason !== "subscribed") refreshWindows();
    } else if (type === "counts") {
      streamCounts = true;
      renderCounts(data);
    } else if (type === "maintenance") {
      refresh();
      refreshWindows();
    } else if (type === "state") {
      const row = rows.get(data.target_id);
      if (row) {
        // A target in maintenance still reads as such whatever its checks say (until a
        // refresh says otherwise).
        const status = row.item.maintenance && data.status !== "paused" ? "maintenance" : data.status;
        row.item.status = status;
        row.item.since = data.since;
        row.item.for_s = 0;
        row.tr.dataset.status = status;
        replace(row.cells.status, badge(status), status === "maintenance" ? statusNote(row.item) : h("span", { class: "since" }, "0s"));
      }
      // Under a state filter the row may have left the list (or another joined it).
      if (filters.state) refresh();
    } else if (type === "result") {
      const row = rows.get(data.target_id);
      if (!row) return;
      Object.assign(row.item, {
        last_latency_ms: data.latency_ms, last_checked_at: data.checked_at,
        last_error_class: data.ok ? null : data.error_class,
      });
      paintLatency(row.cells.lat, row.item);
      const x = extras.get(data.target_id);
      if (x && x.checks) {
        const last = x.checks[x.checks.length - 1];
        if (!last || last.checked_at !== data.checked_at) {
          x.checks.push(data);
          x.checks = x.checks.slice(-SPARK_POINTS);
          replace(row.cells.spark, sparkline(x.checks));
        }
      }
    }
  }, interest([]));

  document.title = "Vigil · Targets";
  load();
  loadWindows();
  return () => {
    abort.abort();
    refresh.cancel();
    refreshWindows.cancel();
    windowTimer.cancel();
    windowsAbort.abort();
    typed.cancel();
    clearInterval(periodic);
    seen.disconnect();
    live();
  };
}
