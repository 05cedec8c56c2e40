// The route create/edit form: which targets (labels), which channels, and when to send.

import { api } from "./api.js";
import { h } from "./dom.js";
import { KIND_LABEL } from "./channel_form.js";
import { check, field, linesToMap, mapToLines, number, onSubmit, text, toNumber } from "./fields.js";

const P = "rt-";

// The route's own channels first, in its order (the order it sends in), then the others.
function channelChoices(channels, chosen) {
  const byId = new Map(channels.map((c) => [c.id, c]));
  const first = chosen.map((id) => byId.get(id)).filter(Boolean);
  const rest = channels.filter((c) => !chosen.includes(c.id));
  const picked = new Set(chosen);
  const boxes = [...first, ...rest].map((c) => h("div", { class: "field check" },
    h("input", { type: "checkbox", id: `${P}ch-${c.id}`, value: c.id, checked: picked.has(c.id), name: "channels" }),
    h("label", { for: `${P}ch-${c.id}` }, c.name, " ", h("span", { class: "kind" }, KIND_LABEL[c.kind] || c.kind))));
  return h("fieldset", { class: "choices wide", dataset: { field: "channels" }, "aria-describedby": `${P}e-channels` },
    h("legend", {}, "Channels"),
    boxes.length ? boxes : h("p", { class: "muted" }, "No channels yet: create one above first."),
    h("p", { class: "field-error", id: `${P}e-channels`, hidden: true }));
}

/** The form for a new route (`route` null) or an existing one, offering `channels`. */
export function routeForm({ route, channels, onSaved, onCancel }) {
  const editing = route !== null;
  const inputs = {
    name: text({ required: true, maxlength: 200 }),
    match_labels: h("textarea", { rows: 3, spellcheck: "false", placeholder: "env=prod\nteam=web" }),
    send_resolved: check({ checked: true }),
    delay_s: number({ min: 0, max: 86400, step: 1, placeholder: "0" }),
    short_outage: h("select", {},
      h("option", { value: "silent" }, "Send nothing"),
      h("option", { value: "summary" }, "Send one “down from … to …” message")),
    repeat_interval_s: number({ min: 60, max: 2592000, step: 1, placeholder: "none" }),
    enabled: check({ checked: true }),
  };
  const choices = channelChoices(channels, editing ? route.channels || [] : []);
  const banner = h("div", { class: "alert", role: "alert", hidden: true });
  const submit = h("button", { class: "button primary", type: "submit" }, editing ? "Save route" : "Create route");
  const heading = h("h3", { id: `${P}title` }, editing ? ["Edit ", h("span", { class: "quoted" }, route.name)] : "New route");
  const opt = { prefix: P };

  const form = h("form", { class: "panel-form", novalidate: true, "aria-labelledby": `${P}title` },
    heading, banner,
    h("fieldset", {},
      h("legend", {}, "Which alerts"),
      field("name", "Name", inputs.name, "Must be unique.", opt),
      field("match_labels", "Match labels", inputs.match_labels,
        "One per line: key=value. A target matches when it has every one; empty matches every target.", { ...opt, wide: true }),
      choices),
    h("fieldset", {},
      h("legend", {}, "When"),
      field("delay_s", "Delay (seconds)", inputs.delay_s, "Wait this long before sending a firing; 0 sends at once.", opt),
      field("short_outage", "An outage shorter than the delay", inputs.short_outage, null, opt),
      field("repeat_interval_s", "Remind every (seconds)", inputs.repeat_interval_s, "While still down; empty: no reminders, else at least 60.", opt),
      field("send_resolved", "Send a message when it is resolved", inputs.send_resolved, null, opt),
      field("enabled", "Enabled", inputs.enabled, null, opt)),
    h("div", { class: "form-actions" },
      submit,
      h("button", { class: "button", type: "button", on: { click: () => onCancel() } }, "Cancel")));

  function body() {
    const v = (name) => inputs[name].value.trim();
    return {
      name: v("name"),
      match_labels: linesToMap(inputs.match_labels.value, ["=", ":"], "match_labels"),
      channels: [...form.querySelectorAll("input[name=channels]:checked")].map((el) => Number(el.value)),
      send_resolved: inputs.send_resolved.checked,
      delay_s: toNumber(v("delay_s"), "delay_s", true) ?? 0,
      short_outage: inputs.short_outage.value,
      repeat_interval_s: toNumber(v("repeat_interval_s"), "repeat_interval_s", true) ?? null,
      enabled: inputs.enabled.checked,
    };
  }

  onSubmit(form, {
    banner,
    submit,
    title: "The route was not saved.",
    body,
    save: (data) => (editing ? api.put(`/routes/${route.id}`, data) : api.post("/routes", data)),
    onSaved: onSaved,
  });

  if (editing) {
    inputs.name.value = route.name;
    inputs.match_labels.value = mapToLines(route.match_labels, "=");
    inputs.send_resolved.checked = route.send_resolved !== false;
    inputs.delay_s.value = String(route.delay_s ?? 0);
    inputs.short_outage.value = route.short_outage || "silent";
    if (route.repeat_interval_s) inputs.repeat_interval_s.value = String(route.repeat_interval_s);
    inputs.enabled.checked = route.enabled !== false;
  }
  return { form, focus: () => inputs.name.focus() };
}
