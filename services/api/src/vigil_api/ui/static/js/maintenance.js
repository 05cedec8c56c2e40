// The Maintenance page: windows grouped active / upcoming / past, each with its schedule, its
// targets and its current or next occurrence (the browser's time and the window's zone); End
// now, Edit and Delete for writers, and the create/edit form inline above the lists.

import { api } from "./api.js";
import { confirmAction } from "./confirm.js";
import { card, h, keepFocus, openPanel, replace } from "./dom.js";
import { subscribe } from "./events.js";
import { windowForm } from "./maintenance_form.js";
import { can } from "./session.js";
import { boundaryTimer, countdown, occurrenceText, scheduleText, shownOccurrence } from "./windows.js";

const STATES = [
  ["active", "Active", "Nothing is in maintenance right now."],
  ["upcoming", "Upcoming", "No window is planned."],
  ["past", "Past", "No window has ended yet."],
];
const PAST_SHOWN = 20;
const REFRESH_MS = 60000;

function targetsCell(w, names) {
  const labels = Object.entries(w.match_labels || {});
  const picked = (w.targets || []).map((id, i) => [i ? ", " : null,
    h("a", { href: `/targets/${id}`, "data-link": true }, names.get(id) ?? `#${id}`)]);
  return [
    picked.length ? h("span", { class: "mw-targets" }, picked) : null,
    labels.length ? h("span", { class: "sub" }, "labels ", labels.map(([k, v]) => h("span", { class: "label" }, `${k}=${v}`))) : null,
  ];
}

export function renderMaintenance(main) {
  const abort = new AbortController();
  const { signal } = abort;
  const writer = can("write");
  let windows = null; // null until read
  let targets = [];
  let names = new Map();
  let allPast = false;
  let painted = null;
  // Arrived with ?target=ID (the target page's "Schedule maintenance"): the form opens for it.
  const params = new URLSearchParams(location.search);
  const forTarget = Number(params.get("target")) || null;
  let scrolled = false;

  const errorEl = h("p", { class: "alert", role: "alert", hidden: true });
  const note = h("p", { class: "note", role: "status" });
  const panel = h("div", { class: "panel", hidden: true });
  const boxes = Object.fromEntries(STATES.map(([st]) => [st, h("div", { class: "table-wrap", tabindex: "-1" }, h("p", { class: "muted" }, "Loading…"))]));
  // Disabled until the targets are read: a form opened before would offer none of them.
  const add = writer ? h("button", { class: "button primary", type: "button", disabled: true, on: { click: (e) => openForm(null, e.currentTarget) } }, "New window") : null;

  replace(main, h("section", { class: "maintenance" },
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, "Maintenance"),
        h("p", { class: "muted intro" }, "During a window its targets are still checked, but read as maintenance, their alerts are held (an incident still open at the end alerts then), and by default the time is left out of uptime.")),
      add),
    errorEl, note, panel,
    STATES.map(([st, title]) => card(`mw-${st}-title`, title, null, boxes[st]))));
  document.title = "Vigil · Maintenance";

  function fail(err) {
    if (err.name === "AbortError") return;
    errorEl.textContent = `Could not load or save: ${err.message}`;
    errorEl.hidden = false;
  }

  function openForm(win, opener, preselect = []) {
    note.textContent = "";
    const close = openPanel(panel, windowForm({
      win,
      targets,
      preselect,
      onSaved: async (saved) => {
        close();
        note.textContent = `Window ${saved.name} ${win ? "saved" : "created"}: ${saved.state}.`;
        await load().catch(fail);
      },
      onCancel: () => close(),
    }), { opener, fallback: add || main, root: main });
  }

  async function endNow(w) {
    const ok = await confirmAction({
      title: `End ${w.name} now?`,
      text: w.kind === "once"
        ? "Its targets leave maintenance at once; alerts held for incidents still open are sent."
        : "This occurrence ends at once (the next ones still happen); alerts held for incidents still open are sent.",
      action: "End now",
    });
    if (!ok) return;
    try {
      await api.post(`/maintenance/${w.id}/end`);
      note.textContent = `Window ${w.name} ended.`;
      await load();
    } catch (err) {
      fail(err);
    }
  }

  async function remove(w) {
    const ok = await confirmAction({
      title: `Delete ${w.name}?`,
      text: w.state === "active"
        ? "It ends at once and its schedule is gone; alerts held for incidents still open are sent. This cannot be undone."
        : "Its schedule and history are gone. This cannot be undone.",
      action: "Delete",
    });
    if (!ok) return;
    try {
      await api.del(`/maintenance/${w.id}`);
      note.textContent = `Window ${w.name} deleted.`;
      await load();
    } catch (err) {
      fail(err);
    }
  }

  function row(w) {
    const key = (what) => `mw-${w.id}-${what}`;
    const occ = shownOccurrence(w);
    return h("tr", { id: `mw-${w.id}`, dataset: { id: w.id, state: w.state } },
      h("th", { scope: "row", class: "wrap-any", dataset: { label: "Name" } }, w.name,
        w.description ? h("span", { class: "sub" }, w.description) : null),
      h("td", { class: "wrap", dataset: { label: "Schedule" } }, scheduleText(w)),
      h("td", { class: "wrap-any", dataset: { label: "Targets" } }, targetsCell(w, names)),
      h("td", { dataset: { label: w.state === "active" ? "Now" : w.state === "upcoming" ? "Next" : "Was" } },
        occurrenceText(occ, w.time_zone),
        w.state !== "past" ? h("span", { class: "sub countdown" }, countdown(w)) : null),
      h("td", { dataset: { label: "Uptime" } }, w.include_in_uptime ? "counted" : "left out"),
      writer && h("td", { class: "actions-cell" }, h("div", { class: "row-actions" },
        w.state === "active"
          ? h("button", { class: "button small", type: "button", dataset: { key: key("end") }, "aria-label": `End ${w.name} now`, on: { click: () => endNow(w) } }, "End now")
          : null,
        h("button", { class: "button small", type: "button", dataset: { key: key("edit") }, "aria-label": `Edit ${w.name}`, on: { click: (e) => openForm(w, e.currentTarget) } }, "Edit"),
        h("button", { class: "button small danger", type: "button", dataset: { key: key("delete") }, "aria-label": `Delete ${w.name}`, on: { click: () => remove(w) } }, "Delete"))));
  }

  function table(items) {
    const cols = ["Name", "Schedule", "Targets", "When", "Uptime", writer && "Actions"].filter(Boolean);
    return h("table", { class: "plain stack windows" },
      h("thead", {}, h("tr", {}, cols.map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, items.map(row)));
  }

  function paint() {
    if (windows === null) return;
    const state = JSON.stringify([windows, [...names], allPast, Math.floor(Date.now() / 60000)]);
    if (state === painted) return;
    painted = state;
    for (const [st, , empty] of STATES) {
      let items = windows.filter((w) => w.state === st);
      const hidden = st === "past" && !allPast ? Math.max(0, items.length - PAST_SHOWN) : 0;
      if (hidden) items = items.slice(0, PAST_SHOWN);
      keepFocus(boxes[st], () => replace(boxes[st],
        items.length ? table(items) : h("p", { class: "empty" }, empty),
        hidden ? h("p", { class: "more" }, h("button", {
          class: "button small", type: "button", dataset: { key: "past-all" },
          on: { click: () => { allPast = true; paint(); } },
        }, `Show ${hidden} older`)) : null));
    }
    if (!scrolled && location.hash.startsWith("#mw-")) {
      scrolled = true;
      const el = document.getElementById(location.hash.slice(1));
      if (el) {
        el.classList.add("highlight");
        el.scrollIntoView({ block: "center" });
      }
    }
  }

  const timer = boundaryTimer(() => load().catch(fail));
  async function load() {
    const [ws, ts] = await Promise.all([
      api.getAll("/maintenance", { limit: 1000 }, signal),
      api.getAll("/targets", { limit: 1000 }, signal),
    ]);
    windows = ws;
    targets = ts;
    names = new Map(ts.map((t) => [t.id, t.name]));
    if (add) add.disabled = false;
    errorEl.hidden = true;
    paint();
    timer.arm(windows);
  }

  const periodic = setInterval(() => {
    if (!document.hidden) load().catch(fail);
  }, REFRESH_MS);
  const unsubscribe = subscribe(({ type }) => {
    if (type === "maintenance" || type === "resync") load().catch(fail);
  }, { types: ["maintenance"] });

  load().then(() => {
    if (!forTarget) return;
    // Once: a reload or Back must not open the form again.
    history.replaceState(null, "", location.pathname + location.hash);
    if (writer && names.has(forTarget)) openForm(null, null, [forTarget]);
  }).catch(fail);
  return () => {
    abort.abort();
    timer.cancel();
    clearInterval(periodic);
    unsubscribe();
  };
}
