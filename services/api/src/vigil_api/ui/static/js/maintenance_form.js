// The maintenance window create/edit form: one-off (start and end), weekly (days, a start time,
// a duration) or cron (an expression and a duration), each in an IANA time zone, for targets
// picked by name and/or by labels. Validation is the API's; its errors land on the field named.

import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { FieldError, check, field, linesToMap, mapToLines, onSubmit, showKinds, text } from "./fields.js";
import { DAYS } from "./windows.js";
import { fromWall, localZone, toWall, zoneNames } from "./zones.js";

const P = "mw-";
const KINDS = [
  ["once", "One-off", "A start and an end, e.g. tonight's upgrade."],
  ["weekly", "Weekly", "The same days and time every week."],
  ["cron", "Cron", "Any schedule a cron expression can say."],
];
const DURATION_HELP = "How long each occurrence lasts: 90m, 2h, 1h30m or 1d (1 minute to 7 days).";

/** "1h30m", "90m", "2h", "1d", "45" (minutes) as seconds; undefined when empty. */
export function parseDuration(raw) {
  const value = raw.trim().toLowerCase().replace(/\s+/g, "");
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 60;
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(value);
  if (!m || !m.slice(1).some(Boolean)) throw new FieldError("duration_s", "use a length such as 90m, 2h, 1h30m or 1d");
  const [d, hr, min, sec] = m.slice(1).map((x) => Number(x || 0));
  return ((d * 24 + hr) * 60 + min) * 60 + sec;
}

/** Seconds as the form writes them back: 5400 -> "1h30m". */
export function formatDuration(seconds) {
  if (!seconds) return "";
  let s = Math.round(seconds);
  const out = [];
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]]) {
    if (s >= size) {
      out.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  return out.join("");
}

function dayChoices() {
  return h("fieldset", { class: "choices wide", dataset: { field: "days", kinds: "weekly" }, "aria-describedby": `${P}e-days` },
    h("legend", {}, "Days"),
    DAYS.map(([value, label]) => h("div", { class: "field check" },
      h("input", { type: "checkbox", id: `${P}day-${value}`, value, name: "days" }),
      h("label", { for: `${P}day-${value}` }, label))),
    h("p", { class: "field-error", id: `${P}e-days`, hidden: true }));
}

/**
 * The form for a new window (`win` null) or an existing one. `targets` are every target
 * ({id, name}) to pick from; `preselect` the ids ticked in a new window.
 */
export function windowForm({ win, targets, preselect = [], onSaved, onCancel }) {
  const editing = win !== null;
  const zone = editing ? win.time_zone || "UTC" : localZone();
  const opt = { prefix: P };
  const inputs = {
    name: text({ required: true, maxlength: 200 }),
    description: h("textarea", { rows: 2, maxlength: 2000 }),
    starts_at: h("input", { type: "datetime-local" }),
    ends_at: h("input", { type: "datetime-local" }),
    start_time: h("input", { type: "time", value: "02:00" }),
    cron: text({ placeholder: "0 3 * * 0" }),
    duration_s: text({ placeholder: "2h", inputmode: "text" }),
    time_zone: h("select", {}, zoneNames([zone]).map((z) => h("option", { value: z }, z))),
    targets: h("select", { multiple: true, size: 6 }),
    match_labels: h("textarea", { rows: 3, spellcheck: "false", placeholder: "env=staging\nteam=web" }),
    include_in_uptime: check(),
  };
  inputs.time_zone.value = zone;
  const days = dayChoices();
  const kindRadios = KINDS.map(([value, label, help]) =>
    h("div", { class: "kind-option" },
      h("input", { type: "radio", name: "kind", value, id: `${P}k-${value}`, checked: value === (win?.kind || "once"), "aria-describedby": `${P}kh-${value}` }),
      h("label", { class: "kind-name", for: `${P}k-${value}` }, label),
      h("span", { class: "kind-help", id: `${P}kh-${value}` }, help)));
  const banner = h("div", { class: "alert", role: "alert", hidden: true });
  const submit = h("button", { class: "button primary", type: "submit" }, editing ? "Save window" : "Create window");
  const heading = h("h3", { id: `${P}title` }, editing ? ["Edit ", h("span", { class: "quoted" }, win.name)] : "New maintenance window");

  const form = h("form", { class: "panel-form maintenance-form", novalidate: true, "aria-labelledby": `${P}title` },
    heading, banner,
    h("fieldset", {},
      h("legend", {}, "Window"),
      field("name", "Name", inputs.name, "Shown on the dashboard, target pages and status pages; must be unique.", opt),
      field("description", "Description", inputs.description, "Optional: what is being done.", { ...opt, wide: true })),
    h("fieldset", {},
      h("legend", {}, "When"),
      h("fieldset", { class: "kinds", dataset: { field: "kind" }, "aria-describedby": `${P}e-kind` },
        h("legend", {}, "Repeats"), kindRadios, h("p", { class: "field-error", id: `${P}e-kind`, hidden: true })),
      field("time_zone", "Time zone", inputs.time_zone, "The times below are on this zone's clock, summer time included.", opt),
      field("starts_at", "Starts", inputs.starts_at, null, { ...opt, kinds: ["once"] }),
      field("ends_at", "Ends", inputs.ends_at, null, { ...opt, kinds: ["once"] }),
      days,
      field("start_time", "Start time", inputs.start_time, "Hours and minutes, e.g. 02:30.", { ...opt, kinds: ["weekly"] }),
      field("cron", "Cron expression", inputs.cron, "Five fields: minute hour day-of-month month day-of-week, e.g. 0 3 * * 0 for Sundays at 03:00.", { ...opt, kinds: ["cron"] }),
      field("duration_s", "Duration", inputs.duration_s, DURATION_HELP, { ...opt, kinds: ["weekly", "cron"] })),
    h("fieldset", {},
      h("legend", {}, "Which targets"),
      field("targets", "Targets", inputs.targets, "Ctrl-click or Shift-arrows pick several.", { ...opt, wide: true }),
      field("match_labels", "Match labels", inputs.match_labels,
        "One per line: key=value. Also covers every target that has all of them, including targets added later.", { ...opt, wide: true }),
      field("include_in_uptime", "Count this time in uptime", inputs.include_in_uptime,
        "Off: checks made during the window are left out of uptime figures. Alerts are held either way.", { ...opt, wide: true })),
    h("div", { class: "form-actions" },
      submit,
      h("button", { class: "button", type: "button", on: { click: () => onCancel() } }, "Cancel")));

  const kindValue = () => form.querySelector("input[name=kind]:checked").value;
  const showKind = () => showKinds(form, kindValue());
  form.addEventListener("change", (e) => {
    if (e.target.name === "kind") showKind();
  });

  const picked = new Set(editing ? win.targets || [] : preselect);
  const sorted = targets.slice().sort((a, b) => a.name.localeCompare(b.name));
  replace(inputs.targets, sorted.map((t) => h("option", { value: t.id, selected: picked.has(t.id) }, t.name)));
  inputs.targets.size = Math.max(3, Math.min(8, sorted.length));

  function body() {
    const kind = kindValue();
    const tz = inputs.time_zone.value;
    const out = {
      name: inputs.name.value.trim(),
      description: inputs.description.value.trim(),
      kind,
      time_zone: tz,
      targets: [...inputs.targets.selectedOptions].map((o) => Number(o.value)),
      match_labels: linesToMap(inputs.match_labels.value, ["=", ":"], "match_labels"),
      include_in_uptime: inputs.include_in_uptime.checked,
    };
    if (kind === "once") {
      out.starts_at = fromWall(inputs.starts_at.value, tz);
      out.ends_at = fromWall(inputs.ends_at.value, tz);
    } else {
      out.duration_s = parseDuration(inputs.duration_s.value) ?? null;
      if (kind === "weekly") {
        out.days = [...form.querySelectorAll("input[name=days]:checked")].map((el) => el.value);
        out.start_time = inputs.start_time.value || null;
      } else {
        out.cron = inputs.cron.value.trim();
      }
    }
    return out;
  }

  onSubmit(form, {
    banner,
    submit,
    title: "The window was not saved.",
    body,
    save: (data) => (editing ? api.put(`/maintenance/${win.id}`, data) : api.post("/maintenance", data)),
    onSaved,
  });

  if (editing) {
    inputs.name.value = win.name;
    inputs.description.value = win.description || "";
    inputs.match_labels.value = mapToLines(win.match_labels, "=");
    inputs.include_in_uptime.checked = win.include_in_uptime === true;
    if (win.kind === "once") {
      inputs.starts_at.value = toWall(win.starts_at, zone);
      inputs.ends_at.value = toWall(win.ends_at, zone);
    } else {
      inputs.duration_s.value = formatDuration(win.duration_s);
    }
    if (win.start_time) inputs.start_time.value = win.start_time.slice(0, 5);
    if (win.cron) inputs.cron.value = win.cron;
    for (const box of form.querySelectorAll("input[name=days]")) box.checked = (win.days || []).includes(box.value);
  } else {
    // A new one-off starts now and lasts an hour: the common case is "right now".
    const now = Date.now();
    inputs.starts_at.value = toWall(new Date(now).toISOString(), zone);
    inputs.ends_at.value = toWall(new Date(now + 3600e3).toISOString(), zone);
  }
  showKind();
  return { form, focus: () => inputs.name.focus() };
}
