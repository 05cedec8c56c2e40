// The status page create/edit form: slug, title, description, logo URL and ordered groups of
// targets, each shown under a display name; groups and targets move up and down with buttons.
// Every input's data-field is its JSON path (groups[1].targets[0].display_name), so the API's
// errors land on the row and part they name.

import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { field, onSubmit, text } from "./fields.js";

const P = "sp-";

const moveIn = (list, from, to) => {
  const [item] = list.splice(from, 1);
  list.splice(to, 0, item);
};

/** The form for a new page (`page` null) or an existing one, offering `targets` ({id, name}). */
export function statusPageForm({ page, targets, onSaved, onCancel }) {
  const editing = page !== null;
  const inputs = {
    slug: text({ required: true, maxlength: 64, placeholder: "public", autocapitalize: "none" }),
    title: text({ required: true, maxlength: 200 }),
    description: h("textarea", { rows: 2, maxlength: 5000 }),
    logo_url: text({ type: "url", inputmode: "url", placeholder: "https://example.com/logo.svg" }),
  };
  const sorted = targets.slice().sort((a, b) => a.name.localeCompare(b.name));
  const nameOf = new Map(targets.map((t) => [t.id, t.name]));
  // The groups as data; the editor is drawn from it after each change of shape.
  let groups = editing
    ? (page.groups || []).map((g) => ({ name: g.name, targets: (g.targets || []).map((t) => ({ target_id: t.target_id, display_name: t.display_name || "" })) }))
    : [{ name: "Services", targets: [] }];
  const groupsBox = h("div", { class: "sp-groups" });
  const addGroup = h("button", { class: "button small", type: "button", dataset: { key: "add-group" } }, "Add group");
  const banner = h("div", { class: "alert", role: "alert", hidden: true });
  const submit = h("button", { class: "button primary", type: "submit" }, editing ? "Save page" : "Create page");
  const heading = h("h3", { id: `${P}title` }, editing ? ["Edit ", h("span", { class: "quoted" }, page.title)] : "New status page");
  const opt = { prefix: P };

  // Read what is typed back into `groups` before the editor is drawn again.
  function collect() {
    groupsBox.querySelectorAll(".sp-group").forEach((gEl, gi) => {
      groups[gi].name = gEl.querySelector(`[name="groups[${gi}].name"]`).value;
      gEl.querySelectorAll(".sp-target").forEach((tEl, ti) => {
        const select = tEl.querySelector("select").value;
        groups[gi].targets[ti] = {
          target_id: select ? Number(select) : null,
          display_name: tEl.querySelector(`[name="groups[${gi}].targets[${ti}].display_name"]`).value,
        };
      });
    });
  }

  // Change the shape, draw again, and put focus on the control with `focusKey` (or its fallback).
  function change(fn, focusKey, fallbackKey) {
    collect();
    fn();
    draw();
    const find = (k) => k && form.querySelector(`[data-key="${CSS.escape(k)}"]:not(:disabled)`);
    (find(focusKey) || find(fallbackKey) || addGroup).focus();
  }

  const btn = (label, aria, key, onClick, { danger = false, disabled = false } = {}) => h("button", {
    class: `button small${danger ? " danger" : ""}`, type: "button", "aria-label": aria, disabled,
    dataset: { key }, on: { click: onClick },
  }, label);

  function targetRow(g, gi, t, ti) {
    const base = `groups[${gi}].targets[${ti}]`;
    const where = `target ${ti + 1} of group ${gi + 1}`;
    const select = h("select", {},
      h("option", { value: "" }, "Choose a target…"),
      sorted.map((x) => h("option", { value: x.id, selected: x.id === t.target_id }, x.name)),
      t.target_id && !nameOf.has(t.target_id) ? h("option", { value: t.target_id, selected: true }, `#${t.target_id}`) : null);
    const display = text({ maxlength: 200, value: t.display_name, placeholder: nameOf.get(t.target_id) || "the target's name" });
    select.addEventListener("change", () => {
      display.placeholder = nameOf.get(Number(select.value)) || "the target's name";
    });
    const last = g.targets.length - 1;
    return h("div", { class: "sp-target", role: "group", "aria-label": `Target ${ti + 1}`, dataset: { field: base } },
      h("p", { class: "field-error row-error", id: `${P}e-${base}`, hidden: true }),
      field(`${base}.target_id`, "Target", select, null, opt),
      field(`${base}.display_name`, "Display name", display, "Shown on the page instead of the target's name.", opt),
      h("div", { class: "row-actions" },
        btn("↑", `Move ${where} up`, `t-${gi}-${ti}-up`, () => change(() => moveIn(g.targets, ti, ti - 1), `t-${gi}-${ti - 1}-up`, `t-${gi}-${ti - 1}-down`), { disabled: ti === 0 }),
        btn("↓", `Move ${where} down`, `t-${gi}-${ti}-down`, () => change(() => moveIn(g.targets, ti, ti + 1), `t-${gi}-${ti + 1}-down`, `t-${gi}-${ti + 1}-up`), { disabled: ti === last }),
        btn("Remove", `Remove ${where}`, `t-${gi}-${ti}-remove`, () => change(() => g.targets.splice(ti, 1), `t-${gi}-${ti}-remove`, `g-${gi}-add`), { danger: true })));
  }

  function groupBlock(g, gi) {
    const base = `groups[${gi}]`;
    const name = text({ required: true, maxlength: 200, value: g.name });
    const last = groups.length - 1;
    return h("fieldset", { class: "sp-group", dataset: { field: base } },
      h("legend", {}, `Group ${gi + 1}`),
      h("p", { class: "field-error row-error", id: `${P}e-${base}`, hidden: true }),
      h("div", { class: "sp-group-head" },
        field(`${base}.name`, "Group name", name, null, opt),
        h("div", { class: "row-actions" },
          btn("↑", `Move group ${gi + 1} up`, `g-${gi}-up`, () => change(() => moveIn(groups, gi, gi - 1), `g-${gi - 1}-up`, `g-${gi - 1}-down`), { disabled: gi === 0 }),
          btn("↓", `Move group ${gi + 1} down`, `g-${gi}-down`, () => change(() => moveIn(groups, gi, gi + 1), `g-${gi + 1}-down`, `g-${gi + 1}-up`), { disabled: gi === last }),
          btn("Remove group", `Remove group ${gi + 1}`, `g-${gi}-remove`, () => change(() => groups.splice(gi, 1), `g-${gi}-remove`, `g-${gi - 1}-remove`), { danger: true }))),
      h("div", { class: "sp-targets", dataset: { field: `${base}.targets` } },
        h("p", { class: "field-error", id: `${P}e-${base}.targets`, hidden: true }),
        g.targets.length ? g.targets.map((t, ti) => targetRow(g, gi, t, ti)) : h("p", { class: "help" }, "No targets in this group yet.")),
      h("div", {}, btn("Add target", `Add a target to group ${gi + 1}`, `g-${gi}-add`,
        () => change(() => g.targets.push({ target_id: null, display_name: "" }), `t-${gi}-${g.targets.length}-select`))));
  }

  function draw() {
    replace(groupsBox, groups.length ? groups.map(groupBlock) : h("p", { class: "help" }, "No groups: the page shows no targets."));
    // The select of a new row gets focus after "Add target".
    groupsBox.querySelectorAll(".sp-target").forEach((tEl) => {
      const [, gi, ti] = tEl.dataset.field.match(/groups\[(\d+)\]\.targets\[(\d+)\]/);
      tEl.querySelector("select").dataset.key = `t-${gi}-${ti}-select`;
    });
  }

  addGroup.addEventListener("click", () => change(() => groups.push({ name: "", targets: [] }), null));

  const form = h("form", { class: "panel-form status-page-form", novalidate: true, "aria-labelledby": `${P}title` },
    heading, banner,
    h("fieldset", {},
      h("legend", {}, "Page"),
      field("slug", "Slug", inputs.slug, "Lowercase letters, digits and hyphens: the page is at /status/<slug>.", opt),
      field("title", "Title", inputs.title, null, opt),
      field("description", "Description", inputs.description, "Optional, shown under the title.", { ...opt, wide: true }),
      field("logo_url", "Logo URL", inputs.logo_url, "Optional, http:// or https://.", { ...opt, wide: true })),
    h("fieldset", { class: "sp-groups-fieldset", dataset: { field: "groups" } },
      h("legend", {}, "Groups"),
      h("p", { class: "help" }, "In the order shown. Visitors see each target's display name, its status, uptime and incidents: never its address or settings."),
      h("p", { class: "field-error", id: `${P}e-groups`, hidden: true }),
      groupsBox,
      h("div", {}, addGroup)),
    h("div", { class: "form-actions" },
      submit,
      h("button", { class: "button", type: "button", on: { click: () => onCancel() } }, "Cancel")));

  function body() {
    collect();
    const logo = inputs.logo_url.value.trim();
    return {
      slug: inputs.slug.value.trim(),
      title: inputs.title.value.trim(),
      description: inputs.description.value.trim(),
      logo_url: logo || null,
      groups: groups.map((g) => ({
        name: g.name.trim(),
        targets: g.targets.map((t) => {
          const out = { target_id: t.target_id };
          if (t.display_name.trim()) out.display_name = t.display_name.trim();
          return out;
        }),
      })),
    };
  }

  onSubmit(form, {
    banner,
    submit,
    title: "The page was not saved.",
    body,
    save: (data) => (editing ? api.put(`/status-pages/${page.id}`, data) : api.post("/status-pages", data)),
    onSaved,
  });

  if (editing) {
    inputs.slug.value = page.slug;
    inputs.title.value = page.title;
    inputs.description.value = page.description || "";
    inputs.logo_url.value = page.logo_url || "";
  }
  draw();
  return { form, focus: () => (editing ? inputs.title : inputs.slug).focus() };
}
