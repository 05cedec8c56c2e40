// The Notifications page: channels (status, last error, a test button), routes, and the most
// recent deliveries, re-read every few seconds while the page is open.

import { api } from "./api.js";
import { KIND_LABEL, channelForm } from "./channel_form.js";
import { confirmAction } from "./confirm.js";
import { CHANNEL_CLASS, deliveriesTable, errorText, inFlight, statusBadge } from "./deliveries.js";
import { card, h, keepFocus, openPanel, replace, throttle } from "./dom.js";
import { subscribe } from "./events.js";
import { duration, fullDate, when } from "./format.js";
import { routeForm } from "./route_form.js";
import { can } from "./session.js";

const DELIVERIES = 50;
const REFRESH_MS = 5000;
// The API waits up to TEST_WAIT_S for the worker; a slower worker is then asked again, a bounded
// number of times, so the row always ends up saying what happened.
const TEST_WAIT_S = 10;
const TEST_POLL_MS = 1000;
const TEST_POLLS = 30;

const items = (data) => (Array.isArray(data) ? data : data?.items || []);
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function testResult(test) {
  if (!test) return null;
  if (test.state === "sending") return h("p", { class: "test-result muted", role: "status" }, "Sending a test…");
  if (test.state === "error") return h("p", { class: "test-result", role: "status" }, "Test not sent: ", h("span", { class: "err-msg" }, test.message));
  const d = test.delivery;
  const error = errorText(d);
  return h("p", { class: "test-result", role: "status", dataset: { status: d.status } },
    "Test: ", statusBadge(d.status),
    ` after ${d.attempts} attempt${d.attempts === 1 ? "" : "s"}`,
    error ? h("span", { class: "err-msg" }, ` · ${error}`) : null);
}

export function renderNotifications(main) {
  const abort = new AbortController();
  const { signal } = abort;
  let channels = [];
  let routes = null; // null until read, so no "No routes yet" flashes first
  const tests = new Map(); // channel id -> the last "Send test" on this page
  const painted = { channels: null, routes: null, deliveries: null }; // what each table shows

  const errorEl = h("p", { class: "alert", role: "alert", hidden: true });
  const channelPanel = h("div", { class: "panel", hidden: true });
  const routePanel = h("div", { class: "panel", hidden: true });
  const channelsBox = h("div", { class: "table-wrap", tabindex: "-1" }, h("p", { class: "muted" }, "Loading…"));
  const routesBox = h("div", { class: "table-wrap", tabindex: "-1" }, h("p", { class: "muted" }, "Loading…"));
  const deliveriesBox = h("div", { class: "table-wrap", tabindex: "-1" }, h("p", { class: "muted" }, "Loading…"));
  // A viewer sees every table but none of the controls that change something.
  const writer = can("write");
  const newChannel = writer ? h("button", { class: "button primary", type: "button", on: { click: (e) => openChannel(null, e.currentTarget) } }, "New channel") : null;
  // Disabled until the channels are read: a route form opened before would offer none of them.
  const newRoute = writer ? h("button", { class: "button", type: "button", disabled: true, on: { click: (e) => openRoute(null, e.currentTarget) } }, "New route") : null;

  replace(main, h("section", { class: "notifications" },
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, "Notifications"),
        h("p", { class: "muted intro" }, "Channels are where alerts go; routes say which targets' alerts reach which channels."))),
    errorEl,
    card("channels-title", "Channels", newChannel, channelPanel, channelsBox),
    card("routes-title", "Routes", newRoute, routePanel, routesBox),
    card("deliveries-title", "Recent deliveries", null, deliveriesBox)));
  document.title = "Vigil · Notifications";

  function fail(err) {
    if (err.name === "AbortError") return;
    errorEl.textContent = `Could not load or save: ${err.message}`;
    errorEl.hidden = false;
  }

  function openChannel(channel, opener) {
    const close = openPanel(channelPanel, channelForm({
      channel,
      onSaved: async () => {
        close();
        await Promise.all([loadChannels(), loadRoutes()]).catch(fail);
      },
      onCancel: () => close(),
    }), { opener, fallback: newChannel, root: main });
  }

  function openRoute(route, opener) {
    const close = openPanel(routePanel, routeForm({
      route,
      channels,
      onSaved: async () => {
        close();
        await loadRoutes().catch(fail);
      },
      onCancel: () => close(),
    }), { opener, fallback: newRoute, root: main });
  }

  async function sendTest(c) {
    if (tests.get(c.id)?.state === "sending") return;
    tests.set(c.id, { state: "sending" });
    paintChannels(true);
    try {
      let d = await api.post(`/channels/${c.id}/test`, undefined, { params: { wait_s: TEST_WAIT_S } });
      for (let i = 0; inFlight(d) && i < TEST_POLLS && !signal.aborted; i++) {
        await pause(TEST_POLL_MS);
        d = await api.get(`/deliveries/${d.id}`, null, signal);
      }
      tests.set(c.id, { state: "done", delivery: d });
    } catch (err) {
      if (err.name === "AbortError") return;
      tests.set(c.id, { state: "error", message: err.message });
    }
    await Promise.all([loadChannels(), loadDeliveries()]).catch(fail);
    paintChannels(true);
  }

  async function toggleChannel(c) {
    try {
      await api.patch(`/channels/${c.id}`, { enabled: !c.enabled });
      await loadChannels();
    } catch (err) {
      fail(err);
    }
  }

  async function deleteChannel(c) {
    const ok = await confirmAction({
      title: `Delete ${c.name}?`,
      text: "Routes stop sending to it and its delivery history goes with it. This cannot be undone.",
      action: "Delete",
    });
    if (!ok) return;
    try {
      await api.del(`/channels/${c.id}`);
      tests.delete(c.id);
      await Promise.all([loadChannels(), loadRoutes(), loadDeliveries()]);
    } catch (err) {
      fail(err);
    }
  }

  async function deleteRoute(r) {
    const ok = await confirmAction({
      title: `Delete ${r.name}?`,
      text: "Alerts it matched no longer reach its channels (unless another route sends them there).",
      action: "Delete",
    });
    if (!ok) return;
    try {
      await api.del(`/routes/${r.id}`);
      await loadRoutes();
    } catch (err) {
      fail(err);
    }
  }

  async function retry(d, button) {
    button.disabled = true;
    try {
      await api.post(`/deliveries/${d.id}/retry`);
      await loadDeliveries();
    } catch (err) {
      button.disabled = false;
      fail(err);
    }
  }

  function channelRow(c) {
    const key = (what) => `ch-${c.id}-${what}`;
    const sending = tests.get(c.id)?.state === "sending";
    return h("tr", { dataset: { id: c.id, status: c.status } },
      h("th", { scope: "row", class: "wrap-any", dataset: { label: "Name" } }, c.name),
      h("td", { dataset: { label: "Kind" } }, h("span", { class: "kind" }, KIND_LABEL[c.kind] || c.kind)),
      h("td", { dataset: { label: "Status" } }, statusBadge(c.status, CHANNEL_CLASS),
        c.status === "broken" && c.broken_reason
          ? h("span", { class: "sub", title: fullDate(c.broken_at) }, `since ${when(c.broken_at)}: ${c.broken_reason}`)
          : null),
      h("td", { class: "wrap", dataset: { label: "Last error" } }, c.last_error
        ? [h("span", { class: "err-msg" }, c.last_error), h("span", { class: "sub", title: fullDate(c.last_error_at) }, when(c.last_error_at))]
        : "–"),
      // Absolute times: a table redrawn only when its data changes must not say "just now" for ever.
      h("td", { title: c.last_sent_at ? fullDate(c.last_sent_at) : null, dataset: { label: "Last sent" } }, c.last_sent_at ? when(c.last_sent_at) : "never"),
      writer && h("td", { class: "actions-cell" },
        h("div", { class: "row-actions" },
          // A disabled channel sends nothing, tests included (the API answers 409).
          h("button", {
            class: "button small", type: "button", "aria-disabled": sending ? "true" : null, disabled: !c.enabled,
            title: c.enabled ? null : "Enable the channel to test it", dataset: { key: key("test") }, on: { click: () => sendTest(c) },
          }, "Send test"),
          h("button", { class: "button small", type: "button", dataset: { key: key("edit") }, on: { click: (e) => openChannel(c, e.currentTarget) } }, "Edit"),
          h("button", { class: "button small", type: "button", dataset: { key: key("toggle") }, on: { click: () => toggleChannel(c) } }, c.enabled ? "Disable" : "Enable"),
          h("button", { class: "button small danger", type: "button", dataset: { key: key("delete") }, on: { click: () => deleteChannel(c) } }, "Delete")),
        testResult(tests.get(c.id))));
  }

  function paintChannels(force = false) {
    const state = JSON.stringify(channels);
    if (!force && state === painted.channels) return;
    painted.channels = state;
    keepFocus(channelsBox, () => {
      if (!channels.length) {
        replace(channelsBox, h("p", { class: "empty" }, "No channels yet. A channel is where alerts go: a webhook, Slack, e-mail and more."));
        return;
      }
      replace(channelsBox, h("table", { class: "plain stack channels" },
        h("thead", {}, h("tr", {}, ["Name", "Kind", "Status", "Last error", "Last sent", writer && "Actions"].filter(Boolean).map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, channels.map(channelRow))));
    });
  }

  function routeRow(r) {
    const key = (what) => `rt-${r.id}-${what}`;
    const names = new Map(channels.map((c) => [c.id, c.name]));
    const labels = Object.entries(r.match_labels || {});
    return h("tr", { dataset: { id: r.id } },
      h("th", { scope: "row", class: "wrap-any", dataset: { label: "Name" } }, r.name, r.enabled === false ? h("span", { class: "sub" }, "disabled") : null),
      h("td", { dataset: { label: "Matches" } }, labels.length
        ? labels.map(([k, v]) => h("span", { class: "label" }, `${k}=${v}`))
        : h("span", { class: "muted" }, "every target")),
      h("td", { class: "wrap-any", dataset: { label: "Channels" } }, (r.channels || []).map((id) => names.get(id) || `#${id}`).join(", ") || "–"),
      h("td", { dataset: { label: "Delay" } }, r.delay_s ? `${duration(r.delay_s)}${r.short_outage === "summary" ? ", then a summary" : ""}` : "none"),
      h("td", { dataset: { label: "Reminders" } }, r.repeat_interval_s ? `every ${duration(r.repeat_interval_s)}` : "none"),
      h("td", { dataset: { label: "Resolved" } }, r.send_resolved ? "sent" : "not sent"),
      writer && h("td", { class: "actions-cell" }, h("div", { class: "row-actions" },
        h("button", { class: "button small", type: "button", dataset: { key: key("edit") }, on: { click: (e) => openRoute(r, e.currentTarget) } }, "Edit"),
        h("button", { class: "button small danger", type: "button", dataset: { key: key("delete") }, on: { click: () => deleteRoute(r) } }, "Delete"))));
  }

  function paintRoutes() {
    if (routes === null) return;
    const state = JSON.stringify([routes, channels.map((c) => [c.id, c.name])]);
    if (state === painted.routes) return;
    painted.routes = state;
    keepFocus(routesBox, () => {
      if (!routes.length) {
        replace(routesBox, h("p", { class: "empty" }, "No routes yet: without one, no alert is sent."));
        return;
      }
      replace(routesBox, h("table", { class: "plain stack routes" },
        h("thead", {}, h("tr", {}, ["Name", "Matches", "Channels", "Delay", "Reminders", "Resolved", writer && "Actions"].filter(Boolean).map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, routes.map(routeRow))));
    });
  }

  async function loadChannels() {
    channels = await api.getAll("/channels", { limit: 1000 }, signal);
    if (newRoute) newRoute.disabled = false;
    paintChannels();
    paintRoutes();
  }

  async function loadRoutes() {
    routes = await api.getAll("/routes", { limit: 1000 }, signal);
    paintRoutes();
  }

  async function loadDeliveries() {
    const list = items(await api.get("/deliveries", { limit: DELIVERIES }, signal));
    const state = JSON.stringify(list);
    if (state === painted.deliveries) return;
    painted.deliveries = state;
    keepFocus(deliveriesBox, () => replace(deliveriesBox, list.length
      ? deliveriesTable(list, { onRetry: writer ? retry : null })
      : h("p", { class: "empty" }, writer ? "Nothing sent yet. Use “Send test” on a channel to try one." : "Nothing sent yet.")));
  }

  const loadAll = () => Promise.all([loadChannels(), loadRoutes(), loadDeliveries()])
    .then(() => { errorEl.hidden = true; })
    .catch(fail);
  // A change of state may have made deliveries; statuses move without an event, so poll too.
  const live = throttle(() => Promise.all([loadChannels(), loadDeliveries()]).catch(fail), 1000);
  const periodic = setInterval(() => {
    if (!document.hidden) live();
  }, REFRESH_MS);
  const unsubscribe = subscribe(({ type }) => {
    if (type === "resync") loadAll();
    else if (type === "state") live();
  }, { types: ["state"] }); // any target's change of state may have sent alerts

  loadAll();
  return () => {
    abort.abort();
    live.cancel();
    clearInterval(periodic);
    unsubscribe();
  };
}
