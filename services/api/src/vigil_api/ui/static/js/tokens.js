// The API tokens card of the access page: every token (never its secret), a form for a new one
// whose secret is shown this once with a copy button, and revoke.

import { api } from "./api.js";
import { copyButton } from "./clipboard.js";
import { confirmAction } from "./confirm.js";
import { card, h, replace } from "./dom.js";
import { field, onSubmit, text } from "./fields.js";
import { fullDate, when } from "./format.js";
import { current } from "./session.js";

const SCOPES = [
  ["read", "read: every GET and the event stream"],
  ["write", "write: also targets, channels, routes, apply"],
  ["admin", "admin: also users, tokens, the audit log"],
];
const EXPIRY = [["7d", "7 days"], ["30d", "30 days"], ["90d", "90 days"], ["365d", "1 year"], ["never", "never"]];
const DEFAULT_EXPIRY = "90d";
const STATE_CLASS = { active: "b-up", expired: "b-paused", revoked: "b-down" };

// The secret of a token just made: shown once, with a copy button, until dismissed.
function createdPanel(token, onDone) {
  const status = h("span", { class: "copy-status", role: "status" });
  const input = h("input", { type: "text", class: "token-value", id: "new-token", readonly: true, value: token.token, spellcheck: "false", "aria-describedby": "new-token-help" });
  const done = h("button", { class: "button", type: "button", on: { click: onDone } }, "Done");
  const box = h("div", { class: "token-created", role: "region", "aria-labelledby": "new-token-title" },
    h("h3", { id: "new-token-title" }, "Token ", h("span", { class: "quoted" }, token.name), " created"),
    h("label", { for: "new-token", class: "group-label" }, "Token"),
    h("div", { class: "copy-row" }, input, copyButton("Copy the token", token.token, input, status), status),
    h("p", { class: "help", id: "new-token-help" },
      h("strong", {}, "Copy it now: it is not shown again. "),
      `Send it as Authorization: Bearer <token>. Scope ${token.scope}, `,
      token.expires_at ? `expires ${fullDate(token.expires_at)}.` : "never expires."),
    h("p", {}, done));
  return { box, focus: () => input.focus() };
}

export function tokensCard(signal) {
  const errorEl = h("p", { class: "alert", role: "alert", hidden: true });
  const note = h("p", { class: "note", role: "status" });
  const panel = h("div", { class: "panel", hidden: true });
  const box = h("div", { class: "table-wrap" }, h("p", { class: "muted" }, "Loading…"));
  const add = h("button", { class: "button primary", type: "button", on: { click: () => openCreate() } }, "New token");

  function fail(err) {
    if (err.name === "AbortError") return;
    errorEl.textContent = err.message;
    errorEl.hidden = false;
  }

  function closePanel() {
    replace(panel);
    panel.hidden = true;
    add.focus();
  }

  function openCreate() {
    const P = "t-";
    // A token never has more than its maker: only the scopes this session has are offered.
    const mine = current()?.scopes || [];
    const inputs = {
      name: text({ required: true, maxlength: 100 }),
      scope: h("select", {}, SCOPES.filter(([s]) => mine.includes(s)).map(([value, label]) => h("option", { value }, label))),
      expires_in: h("select", {}, EXPIRY.map(([value, label]) => h("option", { value, selected: value === DEFAULT_EXPIRY }, label))),
    };
    const banner = h("div", { class: "alert", role: "alert", hidden: true });
    const submit = h("button", { class: "button primary", type: "submit" }, "Create token");
    const form = h("form", { class: "panel-form", novalidate: true, "aria-labelledby": `${P}title` },
      h("h3", { id: `${P}title` }, "New API token"), banner,
      h("fieldset", {}, h("legend", {}, "Token"),
        field("name", "Name", inputs.name, "What uses it (ci-deploy, prometheus); unique among active tokens.", { prefix: P }),
        field("scope", "Scope", inputs.scope, null, { prefix: P }),
        field("expires_in", "Expires after", inputs.expires_in, null, { prefix: P })),
      h("div", { class: "form-actions" }, submit,
        h("button", { class: "button", type: "button", on: { click: closePanel } }, "Cancel")));
    onSubmit(form, {
      banner, submit, title: "The token was not created.",
      body: () => ({ name: inputs.name.value.trim(), scope: inputs.scope.value, expires_in: inputs.expires_in.value }),
      save: (data) => api.post("/tokens", data),
      onSaved: async (token) => {
        const shown = createdPanel(token, closePanel);
        replace(panel, shown.box);
        shown.focus();
        await load().catch(fail);
      },
    });
    note.textContent = "";
    replace(panel, form);
    panel.hidden = false;
    inputs.name.focus();
  }

  async function revoke(t) {
    const ok = await confirmAction({
      title: `Revoke ${t.name}?`,
      text: "Everything that uses this token is refused from now on. This cannot be undone.",
      action: "Revoke",
    });
    if (!ok) return;
    errorEl.hidden = true;
    try {
      await api.del(`/tokens/${t.id}`);
      note.textContent = `Token ${t.name} revoked.`;
      await load();
    } catch (err) {
      fail(err);
    }
  }

  function row(t) {
    // A token made by a user can do no more than that user's role now allows.
    const limited = t.scopes.length && !t.scopes.includes(t.scope);
    return h("tr", { dataset: { id: t.id, state: t.state } },
      h("th", { scope: "row", class: "wrap-any", dataset: { label: "Name" } }, t.name),
      h("td", { dataset: { label: "Prefix" } }, h("code", {}, `${t.prefix}…`)),
      h("td", { dataset: { label: "Scope" } }, t.scope,
        limited ? h("span", { class: "sub" }, `now ${t.scopes[t.scopes.length - 1]}: its maker's role`) : null),
      h("td", { class: "wrap-any", dataset: { label: "Created by" } }, t.created_by,
        h("span", { class: "sub", title: fullDate(t.created_at) }, when(t.created_at))),
      h("td", { title: t.expires_at ? fullDate(t.expires_at) : null, dataset: { label: "Expires" } }, t.expires_at ? when(t.expires_at) : "never"),
      h("td", { title: t.last_used_at ? fullDate(t.last_used_at) : null, dataset: { label: "Last used" } }, t.last_used_at ? when(t.last_used_at) : "never"),
      h("td", { dataset: { label: "State" } }, h("span", { class: `badge ${STATE_CLASS[t.state] || "b-paused"}` }, t.state)),
      h("td", { class: "actions-cell" }, t.state === "active"
        ? h("button", { class: "button small danger", type: "button", "aria-label": `Revoke ${t.name}`, on: { click: () => revoke(t) } }, "Revoke")
        : null));
  }

  async function load() {
    const items = (await api.get("/tokens", null, signal)).items || [];
    errorEl.hidden = true;
    replace(box, items.length
      ? h("table", { class: "plain stack tokens" },
        h("thead", {}, h("tr", {}, ["Name", "Prefix", "Scope", "Created by", "Expires", "Last used", "State", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, items.map(row)))
      : h("p", { class: "empty" }, "No API tokens yet. Scripts, CI and Prometheus use one instead of a password."));
  }

  const element = card("tokens-title", "API tokens", add, errorEl, note, panel, box);
  return { element, load: () => load().catch(fail) };
}
