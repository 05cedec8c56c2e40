// An incident's updates (investigating, identified, monitoring, resolved, each with a message),
// as editors post them for status pages: the list, newest first, and for writers a small form
// and a delete button on each.

import { api } from "./api.js";
import { confirmAction } from "./confirm.js";
import { h, replace } from "./dom.js";
import { field, onSubmit } from "./fields.js";
import { fullDate, when } from "./format.js";

export const UPDATE_STATUSES = [
  ["investigating", "Investigating"],
  ["identified", "Identified"],
  ["monitoring", "Monitoring"],
  ["resolved", "Resolved"],
];
const LABEL = Object.fromEntries(UPDATE_STATUSES);

export function updateBadge(status) {
  return h("span", { class: `badge iu-${status}` }, LABEL[status] || status);
}

/** The updates of `incident` ({id}), read with `signal`; `writer` adds the form and deletes.
 * Returns {el, load}: the element stays the same across loads, so a half-typed message survives
 * the incidents table being drawn again. */
export function incidentUpdates(incident, { signal, writer }) {
  const P = `iu-${incident.id}-`;
  const list = h("div", { class: "iu-list", "aria-live": "polite" }, h("p", { class: "muted" }, "Loading updates…"));
  const errorEl = h("p", { class: "alert", role: "alert", hidden: true });
  let items = [];

  function fail(err) {
    if (err.name === "AbortError") return;
    errorEl.textContent = `Could not load or change updates: ${err.message}`;
    errorEl.hidden = false;
  }

  async function remove(u) {
    const ok = await confirmAction({
      title: "Delete this update?",
      text: "It disappears from every status page that shows this incident.",
      action: "Delete",
    });
    if (!ok) return;
    try {
      await api.del(`/incidents/${incident.id}/updates/${u.id}`);
      await load();
    } catch (err) {
      fail(err);
    }
  }

  function paint() {
    replace(list, items.length
      ? h("ol", { class: "iu-items" }, items.map((u) => h("li", { dataset: { id: u.id, status: u.status } },
        h("div", { class: "iu-head" }, updateBadge(u.status),
          h("span", { class: "sub", title: fullDate(u.created_at) }, `${when(u.created_at)}${u.author ? ` · ${u.author}` : ""}`),
          writer ? h("button", {
            class: "button small danger", type: "button", "aria-label": `Delete the update of ${fullDate(u.created_at)}`,
            on: { click: () => remove(u) },
          }, "Delete") : null),
        h("p", { class: "iu-message" }, u.message))))
      : h("p", { class: "muted" }, "No updates yet."));
  }

  async function load() {
    const data = await api.get(`/incidents/${incident.id}/updates`, null, signal);
    // Newest first, whatever order the API gives.
    items = (data.items || []).slice().sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : b.id - a.id));
    errorEl.hidden = true;
    paint();
    // The status picker starts at the latest update's status, once: later reads keep a choice.
    if (status && !picked && items.length) status.value = items[0].status;
    picked = true;
  }

  let picked = false;
  let status = null;
  let form = null;
  if (writer) {
    status = h("select", {}, UPDATE_STATUSES.map(([v, l]) => h("option", { value: v }, l)));
    const message = h("textarea", { rows: 2, maxlength: 5000, required: true, placeholder: "What is known, what is being done, when to expect more." });
    const banner = h("div", { class: "alert", role: "alert", hidden: true });
    const submit = h("button", { class: "button small primary", type: "submit" }, "Post update");
    form = h("form", { class: "iu-form", novalidate: true, "aria-label": `New update for incident ${incident.id}` },
      banner,
      field("status", "Status", status, null, { prefix: P }),
      field("message", "Message", message, "Shown on every status page with this target.", { prefix: P, wide: true }),
      h("div", { class: "form-actions" }, submit));
    onSubmit(form, {
      banner,
      submit,
      title: "The update was not posted.",
      body: () => ({ status: status.value, message: message.value.trim() }),
      save: (data) => api.post(`/incidents/${incident.id}/updates`, data),
      onSaved: async () => {
        message.value = "";
        await load().catch(fail);
      },
    });
  }

  const el = h("div", { class: "incident-updates", dataset: { incident: incident.id } }, errorEl, list, form);
  return { el, load: () => load().catch(fail) };
}
