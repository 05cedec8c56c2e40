// A target's page: status, uptime, what the newest checks saw (DNS answers, a certificate) or a
// push target's URL, response-time chart, 90 days of daily uptime, incidents, its alerts'
// deliveries, checks.

import { api } from "./api.js";
import { dailyBars, latencyChart, sparkline, timingBar } from "./charts.js";
import { detailsCard, pushCard, targetAddress } from "./check_details.js";
import { confirmAction } from "./confirm.js";
import { h, keepFocus, replace, throttle } from "./dom.js";
import { subscribe } from "./events.js";
import { ago, duration, fullDate, ms, pct, uptimeClass, when } from "./format.js";
import { badge } from "./dashboard.js";
import { deliveriesTable, inFlight } from "./deliveries.js";
import { incidentUpdates } from "./incident_updates.js";
import { navigate } from "./router.js";
import { can } from "./session.js";
import { boundaryTimer, windowList } from "./windows.js";

const WINDOWS = ["24h", "7d", "30d"];
const RECENT = 20;
const DELIVERIES = 20;
// Delivery statuses move without a live event: re-read them this often while one is on its way.
const DELIVERY_POLL_MS = 3000;
// "Pause alerts for 30 min": a one-off maintenance window from now.
const PAUSE_ALERTS_S = 1800;

function stat(label, value, extra, cls) {
  return h("div", { class: `stat ${cls || ""}` },
    h("span", { class: "stat-label" }, label),
    h("span", { class: "stat-value" }, value),
    extra ? h("span", { class: "stat-extra" }, extra) : null);
}

function section(title, ...body) {
  return h("section", { class: "card" }, h("h2", {}, title), ...body);
}

function tlsStat(expires) {
  if (!expires) return null;
  const days = (new Date(expires) - Date.now()) / 86400e3;
  const cls = days < 0 ? "u-bad" : days < 14 ? "u-poor" : days < 30 ? "u-fair" : "";
  const text = days < 0 ? "expired" : `${Math.floor(days)} days`;
  return stat("TLS certificate", text, `expires ${fullDate(expires)}`, cls);
}

// The targets it depends on, by name, linked (an id whose target went meanwhile shows as #id).
function dependsOn(names) {
  if (!names.length) return "none";
  return names.map(([depId, name], i) => [i ? ", " : null,
    h("a", { href: `/targets/${depId}`, "data-link": true }, name ?? `#${depId}`)]);
}

// Each kind's own settings, as [name, value] rows.
const KIND_ROWS = {
  http: (t) => [
    ["Method", t.method || "GET"],
    ["Expected status", (t.expected_status || []).join(", ") || "any 2xx or 3xx"],
    t.keyword ? [t.keyword_regex ? "Body must match" : "Body must contain", t.keyword] : null,
    t.keyword_absent ? [t.keyword_regex ? "Body must not match" : "Body must not contain", t.keyword_absent] : null,
    (t.json || []).length ? ["JSON conditions", h("ul", { class: "plain-list" }, t.json.map((c) =>
      h("li", {}, h("code", {}, [c.path, c.op, c.value === undefined || c.value === null ? "" : JSON.stringify(c.value)].join(" ").trim()))))] : null,
    ["Verify TLS", t.verify_tls === false ? "no" : "yes"],
    t.tls_min_days_valid != null ? ["Certificate valid for", `at least ${t.tls_min_days_valid} days`] : null,
    ["Redirects", t.follow_redirects === false ? "not followed" : `followed (max ${t.max_redirects ?? 10})`],
  ].filter(Boolean),
  dns: (t) => [
    ["Record type", t.record_type || "A"],
    ["Server", t.server || "system resolver"],
    ["Expected code", t.expected_rcode || "NOERROR"],
    ["Expected values", (t.expected || []).length ? `${t.match || "any"} of ${t.expected.join(", ")}` : "any answer"],
  ],
  tls: (t) => [
    ["STARTTLS", t.starttls && t.starttls !== "none" ? t.starttls.toUpperCase() : "none"],
    ["Server name", t.server_name || "the host"],
    ["Valid for", `at least ${t.min_days_valid ?? 14} days`],
  ],
  push: (t) => [["Grace", `${t.grace_s ?? 60} s`]],
};

function settingsList(t, depends) {
  const push = t.kind === "push";
  const rows = [
    ["Kind", t.kind.toUpperCase()],
    ["Address", targetAddress(t)],
    [push ? "Expected every" : "Interval", `${t.period_s ?? t.interval_s} s`],
    push ? null : ["Timeout", `${t.timeout_s} s`],
    ["Down after", `${t.failure_threshold} failed check(s)`],
    ["Up after", `${t.success_threshold} good check(s)`],
  ].filter(Boolean);
  rows.push(...(KIND_ROWS[t.kind] || (() => []))(t));
  if (t.max_latency_ms != null) rows.push(["Slow above", `${t.max_latency_ms} ms`]);
  const labels = Object.entries(t.labels || {});
  return h("dl", { class: "settings" },
    rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
    labels.length ? [h("dt", {}, "Labels"), h("dd", {}, labels.map(([k, v]) => h("span", { class: "label" }, `${k}: ${v}`)))] : null,
    h("dt", {}, "Depends on"), h("dd", { class: "depends" }, dependsOn(depends)));
}

export function renderTarget(main, id) {
  const abort = new AbortController();
  const { signal } = abort;
  let target = null;
  let windowName = "24h";

  const head = h("div", { class: "page-head target-head" });
  const stats = h("div", { class: "stats" });
  const tabs = h("div", { class: "tabs", role: "group", "aria-label": "Chart window" });
  const chartBox = h("div", { class: "chart-box" });
  const barsBox = h("div", { class: "bars-box" });
  const incidentsBox = h("div", { class: "table-wrap" });
  const windowsBox = h("div");
  const windowsCard = h("section", { class: "card mw-banner", "aria-labelledby": "t-mw-title", hidden: true },
    h("div", { class: "card-head" }, h("h2", { id: "t-mw-title" }, "Maintenance"), h("div", { class: "row-actions mw-actions" })),
    windowsBox);
  const deliveriesBox = h("div", { class: "table-wrap" });
  const checksSpark = h("div", { class: "checks-spark" });
  const checksBox = h("div", { class: "table-wrap" });
  const settingsBox = h("div");
  const pushBox = h("div");
  const detailsBox = h("div");
  let shownPushUrl = null;
  const errorEl = h("p", { class: "alert", role: "alert", hidden: true });
  let chartPoints = null;
  let chartRange = null;
  let dailyRows = null;

  replace(main, h("article", { class: "target-page" },
    h("a", { class: "back", href: "/", "data-link": true }, "← All targets"),
    head, errorEl, windowsCard, stats, pushBox, detailsBox,
    section("Response time", tabs, chartBox),
    section("Uptime, last 90 days", barsBox),
    h("div", { class: "two-col" },
      section("Incidents", incidentsBox),
      section("Settings", settingsBox)),
    section("Notifications", deliveriesBox),
    section("Recent checks", checksSpark, checksBox)));

  function fail(err) {
    if (err.name === "AbortError") return;
    errorEl.textContent = err.status === 404 ? "This target does not exist (it may have been deleted)." : `Could not load: ${err.message}`;
    errorEl.hidden = false;
  }

  async function actionPause() {
    const pausing = target.enabled;
    const ok = await confirmAction(pausing
      ? { title: `Pause ${target.name}?`, text: "Vigil stops checking it until you resume it. Its history is kept.", action: "Pause" }
      : { title: `Resume ${target.name}?`, text: "Vigil starts checking it again at once.", action: "Resume" });
    if (!ok) return;
    try {
      await api.patch(`/targets/${id}`, { enabled: !pausing });
      await loadHead();
    } catch (err) {
      fail(err);
    }
  }

  async function rotatePushUrl() {
    const ok = await confirmAction({
      title: `Replace the push URL of ${target.name}?`,
      text: "The current URL stops working at once: update every job that pings it.",
      action: "Replace URL",
    });
    if (!ok) return;
    try {
      const { push_url: url } = await api.post(`/targets/${id}/push-token`);
      target.push_url = url;
      shownPushUrl = url;
      replace(pushBox, pushCard(target, { onRotate: can("write") ? rotatePushUrl : null }));
    } catch (err) {
      fail(err);
    }
  }

  let deleting = false;
  async function actionDelete() {
    const ok = await confirmAction({
      title: `Delete ${target.name}?`,
      text: "This removes the target with all its checks and incidents. It cannot be undone.",
      action: "Delete",
    });
    if (!ok) return;
    // The delete is news on the live stream too (a maintenance event: the target left its
    // windows), which may arrive before the answer: nothing is re-read meanwhile.
    deleting = true;
    try {
      await api.del(`/targets/${id}`);
      navigate("/");
    } catch (err) {
      deleting = false;
      fail(err);
    }
  }

  async function pauseAlerts(button) {
    button.disabled = true;
    try {
      await api.post("/maintenance", { targets: [id], duration_s: PAUSE_ALERTS_S });
      await Promise.all([loadHead(), loadWindows()]);
    } catch (err) {
      fail(err);
    } finally {
      button.disabled = false;
    }
  }

  async function endMaintenance() {
    const m = target.maintenance;
    if (!m) return;
    const ok = await confirmAction({
      title: `End ${m.name} now?`,
      text: "The window ends for every target it covers, not only this one; alerts held for incidents still open are sent.",
      action: "End maintenance",
    });
    if (!ok) return;
    try {
      await api.post(`/maintenance/${m.window_id}/end`);
      await Promise.all([loadHead(), loadWindows()]);
    } catch (err) {
      fail(err);
    }
  }

  // The maintenance card: the windows covering this target that are active or upcoming, and for
  // writers the quick pause, End maintenance while one is active, and a link to the full form.
  const windowTimer = boundaryTimer(() => Promise.all([loadHead(), loadWindows()]).catch(fail));
  let windowsShown = [];
  async function loadWindows() {
    const data = await api.get("/maintenance", { target_id: id }, signal);
    windowsShown = (data.items || []).filter((w) => w.state === "active" || w.state === "upcoming");
    windowTimer.arm(windowsShown);
    paintWindows();
  }

  function paintWindows() {
    const writer = can("write");
    windowsCard.hidden = !writer && !windowsShown.length;
    // Drawn again with every read of the head: the control that had focus keeps it.
    keepFocus(windowsCard, () => {
      replace(windowsCard.querySelector(".mw-actions"), writer ? [
        h("button", { class: "button small", type: "button", dataset: { key: "mw-pause" }, on: { click: (e) => pauseAlerts(e.currentTarget) } }, "Pause alerts for 30 min"),
        target?.maintenance ? h("button", { class: "button small danger", type: "button", dataset: { key: "mw-end" }, on: { click: endMaintenance } }, "End maintenance") : null,
        h("a", { class: "button small", href: `/maintenance?target=${id}`, "data-link": true, dataset: { key: "mw-schedule" } }, "Schedule…"),
      ] : null);
      replace(windowsBox, windowsShown.length
        ? windowList(windowsShown, { upcoming: 10 })
        : h("p", { class: "muted" }, "No maintenance planned. During a window this target is still checked, but its alerts are held."));
    });
  }

  async function loadHead() {
    // The target carries its live state: status ("paused" when disabled, "maintenance" during
    // a window), since, last check.
    target = await api.get(`/targets/${id}`, null, signal);
    paintWindows();
    const status = target.enabled ? target.status || "pending" : "paused";
    const m = target.maintenance;
    document.title = `Vigil · ${target.name}`;
    replace(head,
      h("div", { class: "title" },
        h("h1", {}, target.name),
        h("p", { class: "meta" }, badge(status),
          h("span", { class: "kind" }, target.kind),
          h("span", { class: "addr" }, targetAddress(target)),
          status === "maintenance" && m
            ? h("span", { class: "muted mw-note", title: fullDate(m.ends_at) }, `${m.name}, until ${when(m.ends_at)}`)
            : target.since ? h("span", { class: "muted" }, `${status === "paused" ? "" : "for " + duration((Date.now() - new Date(target.since)) / 1000)}`) : null)),
      h("div", { class: "actions" },
        can("write") ? [
          h("a", { class: "button", href: `/targets/${id}/edit`, "data-link": true }, "Edit"),
          h("button", { class: "button", type: "button", on: { click: actionPause } }, target.enabled ? "Pause" : "Resume"),
          h("button", { class: "button danger", type: "button", on: { click: actionDelete } }, "Delete"),
        ] : null,
        can("admin") ? h("a", { class: "button", href: `/audit?object_kind=target&object_id=${id}`, "data-link": true }, "History") : null));
    // Drawn again only when the URL changes, so a selection made to copy it is kept.
    if (target.kind === "push" && target.push_url !== shownPushUrl) {
      shownPushUrl = target.push_url;
      replace(pushBox, pushCard(target, { onRotate: can("write") ? rotatePushUrl : null }));
    }
    replace(settingsBox, settingsList(target, await dependencyNames(target.depends_on || [])));
    const [u24, u7, u30] = await Promise.all(WINDOWS.map((w) => api.get(`/targets/${id}/uptime`, { window: w }, signal)));
    const tls = target.tls_expires_at;
    replace(stats,
      stat("Last check", target.last_checked_at ? ago(target.last_checked_at) : "not yet",
        target.last_latency_ms != null ? ms(target.last_latency_ms) : target.last_error_class || null),
      stat("Uptime 24 h", pct(u24.uptime_pct), `${u24.checks ?? 0} checks`, uptimeClass(u24.uptime_pct)),
      stat("Uptime 7 d", pct(u7.uptime_pct), `${u7.checks ?? 0} checks`, uptimeClass(u7.uptime_pct)),
      stat("Uptime 30 d", pct(u30.uptime_pct), `${u30.checks ?? 0} checks`, uptimeClass(u30.uptime_pct)),
      stat("Latency 24 h", ms(u24.latency_ms?.avg), u24.latency_ms?.p95 != null ? `p95 ${ms(u24.latency_ms.p95)}` : null),
      tlsStat(tls));
  }

  function drawChart() {
    if (!chartPoints) return;
    replace(chartBox, latencyChart(chartPoints, { ...chartRange, width: chartBox.clientWidth || 800 }));
  }

  function drawBars() {
    if (!dailyRows) return;
    replace(barsBox, dailyBars(dailyRows, { days: 90, width: barsBox.clientWidth || 800 }),
      h("div", { class: "bars-axis" }, h("span", {}, "90 days ago"), h("span", {}, "today")));
  }

  async function loadChart() {
    replace(tabs, WINDOWS.map((w) => h("button", {
      type: "button", class: "tab", "aria-pressed": String(w === windowName),
      on: { click: () => { windowName = w; loadChart().catch(fail); } },
    }, w)));
    const points = await api.get(`/targets/${id}/latency`, { window: windowName }, signal);
    const hours = { "24h": 24, "7d": 168, "30d": 720 }[windowName];
    const until = Date.now();
    chartRange = { since: new Date(until - hours * 3600e3).toISOString(), until: new Date(until).toISOString() };
    chartPoints = Array.isArray(points) ? points : points.items || [];
    drawChart();
  }

  async function loadDaily() {
    const rows = await api.get(`/targets/${id}/uptime/daily`, { days: 90 }, signal);
    dailyRows = Array.isArray(rows) ? rows : rows.items || [];
    drawBars();
  }

  // Each incident's updates, made once per page and moved into each new drawing of the table,
  // so an open list (and a half-typed update) survives the live refreshes.
  const updates = new Map(); // incident id -> {el, load}
  const expanded = new Set();
  function updatesOf(incident) {
    let u = updates.get(incident.id);
    if (!u) {
      u = incidentUpdates(incident, { signal, writer: can("write") });
      updates.set(incident.id, u);
      u.load();
    }
    return u;
  }

  async function loadIncidents() {
    const data = await api.get(`/targets/${id}/incidents`, { limit: 20 }, signal);
    const items = data.items || [];
    if (!items.length) {
      replace(incidentsBox, h("p", { class: "muted" }, "No incidents. "));
      return;
    }
    const focusKey = incidentsBox.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    const rows = [];
    for (const i of items) {
      // An ongoing incident shows its updates from the start: that is where they are written.
      if (!i.ended_at && !updates.has(i.id)) expanded.add(i.id);
      const open = expanded.has(i.id);
      const toggle = h("button", {
        class: "button small", type: "button", "aria-expanded": String(open), "aria-controls": `iu-row-${i.id}`,
        dataset: { key: `iu-toggle-${i.id}` },
        on: {
          click: () => {
            if (expanded.has(i.id)) expanded.delete(i.id);
            else expanded.add(i.id);
            loadIncidents().catch(fail);
          },
        },
      }, "Updates");
      rows.push(h("tr", { class: i.ended_at ? "" : "ongoing", dataset: { id: i.id } },
        h("td", { title: fullDate(i.started_at) }, when(i.started_at)),
        h("td", {}, i.ended_at ? duration(i.duration_s) : h("span", { class: "badge b-down" }, `ongoing ${duration((Date.now() - new Date(i.started_at)) / 1000)}`)),
        h("td", { class: "wrap" }, i.cause || "–"),
        h("td", {}, toggle)));
      if (open) {
        rows.push(h("tr", { class: "incident-updates-row", id: `iu-row-${i.id}` },
          h("td", { colspan: 4 }, updatesOf(i).el)));
      }
    }
    replace(incidentsBox, h("table", { class: "plain incidents" },
      h("thead", {}, h("tr", {}, ["Started", "Duration", "Cause", "Updates"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows)));
    if (focusKey) incidentsBox.querySelector(`[data-key="${CSS.escape(focusKey)}"]`)?.focus();
  }

  // Names are read once per page: the head is re-read on every few results.
  const depNames = new Map();
  async function dependencyNames(ids) {
    await Promise.all(ids.filter((depId) => !depNames.has(depId)).map((depId) =>
      api.get(`/targets/${depId}`, null, signal).then((t) => depNames.set(depId, t.name)).catch((err) => {
        if (err.status !== 404) throw err;
        depNames.set(depId, null);
      })));
    return ids.map((depId) => [depId, depNames.get(depId)]);
  }

  let deliveryPoll = null;
  async function loadDeliveries() {
    clearTimeout(deliveryPoll);
    const data = await api.get("/deliveries", { target_id: id, limit: DELIVERIES }, signal);
    const items = data.items || [];
    replace(deliveriesBox, items.length
      ? deliveriesTable(items, { withTarget: false })
      : h("p", { class: "muted" }, "No alerts sent for this target. Routes on the Notifications page decide where they go."));
    if (items.some(inFlight)) deliveryPoll = setTimeout(() => loadDeliveries().catch(fail), DELIVERY_POLL_MS);
  }

  async function loadChecks() {
    const data = await api.get(`/targets/${id}/checks`, { limit: 60 }, signal);
    const items = data.items || data;
    if (!target) await headLoaded;
    replace(detailsBox, detailsCard(target, items));
    replace(checksSpark, sparkline(items.slice().reverse(), { width: Math.min(600, checksBox.clientWidth || 600), height: 40 }));
    if (!items.length) {
      replace(checksBox, h("p", { class: "muted" }, "No checks yet."));
      return;
    }
    replace(checksBox, h("table", { class: "plain checks" },
      h("thead", {}, h("tr", {},
        ["Time", "Result", "Code", "Latency", "Error", "Phases"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, items.slice(0, RECENT).map((c) => {
        const tb = timingBar(c.timings);
        return h("tr", { class: c.ok ? "" : "failed" },
          h("td", { title: fullDate(c.checked_at) }, when(c.checked_at)),
          h("td", {}, h("span", { class: `badge b-${c.ok ? "up" : "down"}` }, c.ok ? "OK" : "Fail"),
            c.maintenance_window_id ? h("span", { class: "sub", title: "Made during a maintenance window" }, "maintenance") : null),
          h("td", {}, c.status_code ?? c.details?.rcode ?? "–"),
          h("td", { class: "num" }, ms(c.latency_ms)),
          h("td", { class: "wrap" }, c.error_class ? h("strong", { class: "err-class" }, c.error_class) : "–",
            c.error_message ? h("span", { class: "err-msg" }, " ", c.error_message) : null),
          h("td", {}, tb ? h("span", { class: "phases", title: tb.text }, tb.svg, h("span", { class: "phase-text" }, tb.text)) : "–"));
      }))));
  }

  let headLoaded = null;
  const loadAll = () => {
    headLoaded = loadHead();
    return Promise.all([headLoaded, loadChart(), loadDaily(), loadIncidents(), loadDeliveries(), loadChecks(), loadWindows()]).catch(fail);
  };
  const liveChecks = throttle(() => loadChecks().catch(fail), 1000);
  // A change of state is news at once; a new result only moves the figures a little.
  const liveHead = throttle(() => Promise.all([loadHead(), loadIncidents(), loadDeliveries()]).catch(fail), 1000);
  const slowHead = throttle(() => loadHead().catch(fail), 5000);
  const liveWindows = throttle(() => Promise.all([loadHead(), loadWindows(), loadDeliveries()]).catch(fail), 1000);
  const periodic = setInterval(() => Promise.all([loadChart(), loadDaily(), loadDeliveries()]).catch(fail), 60000);
  // This target's states and results, and the windows' news; read once the stream brings
  // them, so that nothing between the read and the stream is missed.
  const unsubscribe = subscribe(({ type, data }) => {
    if (deleting) return;
    if (type === "resync") loadAll();
    else if (type === "maintenance") liveWindows();
    else if (data?.target_id !== id) return;
    else if (type === "state") liveHead();
    else if (type === "result") {
      liveChecks();
      slowHead();
    }
  }, { types: ["state", "result", "maintenance"], targets: [id] });
  // Redraw only when the width changes: a redraw can change the height, which must not loop.
  let lastWidth = 0;
  const resize = new ResizeObserver(() => {
    if (chartBox.clientWidth === lastWidth) return;
    lastWidth = chartBox.clientWidth;
    drawChart();
    drawBars();
  });
  resize.observe(chartBox);

  unsubscribe.ready.then(() => {
    if (!signal.aborted) loadAll();
  });
  return () => {
    abort.abort();
    unsubscribe();
    liveChecks.cancel();
    liveHead.cancel();
    slowHead.cancel();
    liveWindows.cancel();
    windowTimer.cancel();
    clearInterval(periodic);
    clearTimeout(deliveryPoll);
    resize.disconnect();
  };
}
