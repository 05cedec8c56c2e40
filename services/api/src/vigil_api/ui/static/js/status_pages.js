// The Status pages page: every public status page with its link, how many groups and targets it
// shows, and for writers the create/edit form (inline above the list) and delete.

import { api } from "./api.js";
import { confirmAction } from "./confirm.js";
import { card, h, keepFocus, openPanel, replace } from "./dom.js";
import { fullDate, when } from "./format.js";
import { can } from "./session.js";
import { statusPageForm } from "./status_page_form.js";

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

export function renderStatusPages(main) {
  const abort = new AbortController();
  const { signal } = abort;
  const writer = can("write");
  let pages = null;
  let targets = [];

  const errorEl = h("p", { class: "alert", role: "alert", hidden: true });
  const note = h("p", { class: "note", role: "status" });
  const panel = h("div", { class: "panel", hidden: true });
  const box = h("div", { class: "table-wrap", tabindex: "-1" }, h("p", { class: "muted" }, "Loading…"));
  // Disabled until the targets are read: a form opened before would offer none of them.
  const add = writer ? h("button", { class: "button primary", type: "button", disabled: true, on: { click: (e) => openForm(null, e.currentTarget) } }, "New status page") : null;

  replace(main, h("section", { class: "status-pages" },
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, "Status pages"),
        h("p", { class: "muted intro" }, "Public pages anyone can open without logging in: each target under its display name, with its status, 90 days of uptime, maintenance and incidents with their updates."))),
    errorEl, note, panel,
    card("sp-list-title", "Pages", add, box)));
  document.title = "Vigil · Status pages";

  function fail(err) {
    if (err.name === "AbortError") return;
    errorEl.textContent = `Could not load or save: ${err.message}`;
    errorEl.hidden = false;
  }

  async function openForm(page, opener) {
    let full = page;
    try {
      if (page) full = await api.get(`/status-pages/${page.id}`, null, signal);
    } catch (err) {
      fail(err);
      return;
    }
    note.textContent = "";
    const close = openPanel(panel, statusPageForm({
      page: full,
      targets,
      onSaved: async (saved) => {
        close();
        note.textContent = `Status page ${saved.title} ${page ? "saved" : "created"}: it is at ${saved.url}.`;
        await load().catch(fail);
      },
      onCancel: () => close(),
    }), { opener, fallback: add || main, root: main });
  }

  async function remove(p) {
    const ok = await confirmAction({
      title: `Delete ${p.title}?`,
      text: `${p.url} stops working for everyone who has the link, and its badges with it. This cannot be undone.`,
      action: "Delete",
    });
    if (!ok) return;
    try {
      await api.del(`/status-pages/${p.id}`);
      note.textContent = `Status page ${p.title} deleted.`;
      await load();
    } catch (err) {
      fail(err);
    }
  }

  function row(p) {
    const key = (what) => `sp-${p.id}-${what}`;
    const groups = p.groups || [];
    const count = groups.reduce((n, g) => n + (g.targets || []).length, 0);
    return h("tr", { dataset: { id: p.id, slug: p.slug } },
      h("th", { scope: "row", class: "wrap-any", dataset: { label: "Title" } }, p.title,
        p.description ? h("span", { class: "sub" }, p.description) : null),
      h("td", { class: "wrap-any", dataset: { label: "Public link" } },
        h("a", { href: p.url, target: "_blank", rel: "noopener", class: "public-link" }, p.url)),
      h("td", { dataset: { label: "Shows" } }, `${plural(groups.length, "group")}, ${plural(count, "target")}`),
      h("td", { title: fullDate(p.updated_at), dataset: { label: "Updated" } }, when(p.updated_at)),
      writer && h("td", { class: "actions-cell" }, h("div", { class: "row-actions" },
        h("button", { class: "button small", type: "button", dataset: { key: key("edit") }, "aria-label": `Edit ${p.title}`, on: { click: (e) => openForm(p, e.currentTarget) } }, "Edit"),
        h("button", { class: "button small danger", type: "button", dataset: { key: key("delete") }, "aria-label": `Delete ${p.title}`, on: { click: () => remove(p) } }, "Delete"))));
  }

  function paint() {
    keepFocus(box, () => replace(box, pages.length
      ? h("table", { class: "plain stack status-page-list" },
        h("thead", {}, h("tr", {}, ["Title", "Public link", "Shows", "Updated", writer && "Actions"].filter(Boolean).map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, pages.map(row)))
      : h("p", { class: "empty" }, writer ? "No status pages yet. Make one to show your users how your services are doing." : "No status pages yet.")));
  }

  async function load() {
    const [ps, ts] = await Promise.all([
      api.getAll("/status-pages", {}, signal),
      writer ? api.getAll("/targets", { limit: 1000 }, signal) : Promise.resolve([]),
    ]);
    pages = ps;
    targets = ts;
    if (add) add.disabled = false;
    errorEl.hidden = true;
    paint();
  }

  load().catch(fail);
  return () => abort.abort();
}
