// Form building blocks shared by the target, channel and route forms: a labelled field with its
// help and error lines, parsers for the text formats the forms use, and the API's field errors
// placed next to the field they name.

import { ApiError } from "./api.js";
import { h, replace } from "./dom.js";

/** A client-side parse error that names the field, shown like the API's own. */
export class FieldError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

/**
 * One field: its label, the input, a help line and an error line, wrapped in an element whose
 * `data-field` is the JSON name the API's errors use. `prefix` keeps ids unique when two forms
 * share a page; `kinds` limits the kinds it shows for (see showKinds).
 */
export function field(name, label, input, help, { kinds = null, wide = false, prefix = "" } = {}) {
  input.id = `${prefix}f-${name}`;
  input.name = name;
  const errorId = `${prefix}e-${name}`;
  const helpId = help ? `${prefix}h-${name}` : null;
  input.setAttribute("aria-describedby", [helpId, errorId].filter(Boolean).join(" "));
  const isCheck = input.type === "checkbox";
  const wrap = h("div", { class: `field${isCheck ? " check" : ""}${wide ? " wide" : ""}`, dataset: { field: name } },
    isCheck ? [input, h("label", { for: input.id }, label)] : [h("label", { for: input.id }, label), input],
    help ? h("p", { class: "help", id: helpId }, help) : null,
    h("p", { class: "field-error", id: errorId, hidden: true }));
  if (kinds) wrap.dataset.kinds = kinds.join(" ");
  return wrap;
}

export const text = (attrs = {}) => h("input", { type: "text", autocomplete: "off", spellcheck: "false", ...attrs });
export const number = (attrs = {}) => h("input", { type: "number", inputmode: "decimal", ...attrs });
export const check = (attrs = {}) => h("input", { type: "checkbox", ...attrs });

/** "name: value" (or "name=value") lines into an object; a line without a separator names `what`. */
export function linesToMap(value, separators, what) {
  const out = {};
  for (const [i, raw] of value.split("\n").entries()) {
    const line = raw.trim();
    if (!line) continue;
    const at = Math.min(...separators.map((sep) => line.indexOf(sep)).filter((n) => n > 0));
    if (!Number.isFinite(at)) throw new FieldError(what, `line ${i + 1} needs the form "name${separators[0]} value"`);
    out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return out;
}

/** An object as lines for a textarea: {a: "1"} with ": " -> "a: 1". */
export const mapToLines = (obj, sep) => Object.entries(obj || {}).map(([k, v]) => `${k}${sep}${v}`).join("\n");

/** A number input's value: undefined when empty, a FieldError when not a (whole) number. */
export function toNumber(value, name, integer) {
  if (value.trim() === "") return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new FieldError(name, integer ? "must be a whole number" : "must be a number");
  }
  return n;
}

/** Show only the parts of `form` whose data-kinds include `kind`. */
export function showKinds(form, kind) {
  for (const el of form.querySelectorAll("[data-kinds]")) el.hidden = !el.dataset.kinds.split(" ").includes(kind);
}

export function clearErrors(form, banner) {
  banner.hidden = true;
  for (const el of form.querySelectorAll(".field-error")) {
    el.hidden = true;
    el.textContent = "";
  }
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

// The shown field an error path belongs to: the longest prefix of "config.headers.X-Token" or
// "expected_status[1]" that some field's data-field names. Returns [wrap, rest of the path].
function fieldFor(form, path) {
  const parts = path.split(/(?=[.[])/);
  for (let n = parts.length; n > 0; n--) {
    const name = parts.slice(0, n).join("");
    const wrap = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
    if (wrap && !wrap.closest("[hidden]")) return [wrap, parts.slice(n).join("")];
  }
  return [null, path];
}

// "[1]" reads as "item 2", ".X-Token" as "X-Token".
function where(rest) {
  const m = rest.match(/^\[(\d+)\]/);
  if (m) return `item ${Number(m[1]) + 1}${rest.slice(m[0].length)}`;
  return rest.replace(/^\./, "");
}

/**
 * Put each error (a Map from the API's field path to messages) under its field and focus the
 * first; errors that name no shown field go into `banner` after `title`, as does `fallback`
 * when nothing was placed.
 */
export function showErrors(form, banner, errors, { title, fallback }) {
  const unplaced = [];
  let first = null;
  for (const [path, messages] of errors) {
    const [wrap, rest] = fieldFor(form, path);
    const box = wrap?.querySelector(".field-error");
    if (!box) {
      unplaced.push(`${path}: ${messages.join("; ")}`);
      continue;
    }
    const said = messages.map((m) => (rest ? `${where(rest)}: ${m}` : m)).join("; ");
    box.textContent = box.textContent ? `${box.textContent}; ${said}` : said;
    box.hidden = false;
    const input = wrap.querySelector("input, select, textarea");
    if (input) {
      input.setAttribute("aria-invalid", "true");
      first = first || input;
    }
  }
  if (unplaced.length || (!first && fallback)) {
    replace(banner, h("strong", {}, title, " "), unplaced.length ? unplaced.join(" · ") : fallback);
    banner.hidden = false;
    banner.setAttribute("tabindex", "-1");
    first = first || banner;
  }
  first?.focus();
}

/** The submit step every form shares: read the body (a FieldError marks its field), save it
 * through the API (its 400s land on the fields they name, the rest in `banner` after
 * `title`), and hand what was saved to `onSaved`. The button is disabled while it saves. */
export function onSubmit(form, { banner, submit, title, body, save, onSaved }) {
  const shown = (errors, fallback) => showErrors(form, banner, errors, { title, fallback });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form, banner);
    let data;
    try {
      data = body();
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      shown(new Map([[err.field, [err.message]]]));
      return;
    }
    submit.disabled = true;
    try {
      onSaved(await save(data));
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      shown(err.fieldErrors(), err.message);
    } finally {
      submit.disabled = false;
    }
  });
}
