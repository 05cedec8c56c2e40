// The users card of the access page: every user with their role (changed in place), a new
// user form, a password reset and delete. Passwords are only ever written.

import { api } from "./api.js";
import { confirmAction } from "./confirm.js";
import { card, h, replace } from "./dom.js";
import { field, onSubmit, text } from "./fields.js";
import { fullDate, when } from "./format.js";
import { current } from "./session.js";

export const ROLES = [
  ["viewer", "viewer: reads everything"],
  ["editor", "editor: also changes targets, channels, routes"],
  ["admin", "admin: also users, tokens, the audit log, channel secrets"],
];
const PASSWORD_HELP = "12 to 1024 characters.";

const password = () => text({ type: "password", autocomplete: "new-password", required: true, minlength: 12, maxlength: 1024 });
// The new user form says what each role may do; a row's select, only the role's name.
const roleSelect = (attrs = {}, described = true) => h("select", attrs, ROLES.map(([value, label]) => h("option", { value }, described ? label : value)));

function panelForm(P, title, fields, submitText, { onCancel }) {
  const banner = h("div", { class: "alert", role: "alert", hidden: true });
  const submit = h("button", { class: "button primary", type: "submit" }, submitText);
  const form = h("form", { class: "panel-form", novalidate: true, "aria-labelledby": `${P}title` },
    h("h3", { id: `${P}title` }, title), banner,
    h("fieldset", {}, h("legend", {}, "User"), fields),
    h("div", { class: "form-actions" }, submit,
      h("button", { class: "button", type: "button", on: { click: onCancel } }, "Cancel")));
  return { form, banner, submit };
}

export function usersCard(signal) {
  let users = [];
  const errorEl = h("p", { class: "alert", role: "alert", hidden: true });
  const note = h("p", { class: "note", role: "status" });
  const panel = h("div", { class: "panel", hidden: true });
  const box = h("div", { class: "table-wrap" }, h("p", { class: "muted" }, "Loading…"));
  const add = h("button", { class: "button primary", type: "button", on: { click: () => openCreate() } }, "New user");

  function fail(err) {
    if (err.name === "AbortError") return;
    errorEl.textContent = err.message;
    errorEl.hidden = false;
  }

  function closePanel(focus) {
    replace(panel);
    panel.hidden = true;
    focus?.focus();
  }

  function showPanel(form, first) {
    note.textContent = "";
    replace(panel, form);
    panel.hidden = false;
    first.focus();
  }

  function openCreate() {
    const P = "u-";
    const inputs = { name: text({ required: true, maxlength: 64, autocapitalize: "none" }), role: roleSelect(), password: password() };
    const { form, banner, submit } = panelForm(P, "New user", [
      field("name", "Name", inputs.name, "Letters, digits or . _ @ -, up to 64.", { prefix: P }),
      field("role", "Role", inputs.role, null, { prefix: P }),
      field("password", "Password", inputs.password, PASSWORD_HELP, { prefix: P }),
    ], "Create user", { onCancel: () => closePanel(add) });
    onSubmit(form, {
      banner, submit, title: "The user was not created.",
      body: () => ({ name: inputs.name.value.trim(), role: inputs.role.value, password: inputs.password.value }),
      save: (data) => api.post("/users", data),
      onSaved: async (user) => {
        closePanel(add);
        note.textContent = `User ${user.name} created.`;
        await load().catch(fail);
      },
    });
    showPanel(form, inputs.name);
  }

  function openReset(user, opener) {
    const P = "p-";
    const input = password();
    const { form, banner, submit } = panelForm(P, ["New password for ", h("span", { class: "quoted" }, user.name)], [
      field("password", "New password", input, `${PASSWORD_HELP} ${user.name} is signed out everywhere; their tokens keep working.`, { prefix: P }),
    ], "Set password", { onCancel: () => closePanel(opener) });
    onSubmit(form, {
      banner, submit, title: "The password was not changed.",
      body: () => ({ password: input.value }),
      save: (data) => api.patch(`/users/${encodeURIComponent(user.name)}`, data),
      onSaved: async () => {
        closePanel(opener);
        note.textContent = `Password of ${user.name} changed.`;
        await load().catch(fail); // our own password: the session ended, so this goes to login
      },
    });
    showPanel(form, input);
  }

  async function changeRole(user, select) {
    errorEl.hidden = true;
    try {
      await api.patch(`/users/${encodeURIComponent(user.name)}`, { role: select.value });
    } catch (err) {
      select.value = user.role;
      fail(err);
      return;
    }
    // Our own role: every page must show what the new one allows.
    if (user.name === current()?.name) {
      location.reload();
      return;
    }
    note.textContent = `${user.name} is now ${select.value}.`;
    await load().catch(fail);
  }

  async function remove(user) {
    const ok = await confirmAction({
      title: `Delete ${user.name}?`,
      text: "Their sessions end and the tokens they made are deleted with them. This cannot be undone.",
      action: "Delete",
    });
    if (!ok) return;
    errorEl.hidden = true;
    try {
      await api.del(`/users/${encodeURIComponent(user.name)}`);
      note.textContent = `User ${user.name} deleted.`;
      await load();
    } catch (err) {
      fail(err);
    }
  }

  function row(u) {
    const me = u.name === current()?.name;
    const select = roleSelect({ "aria-label": `Role of ${u.name}`, class: "compact" }, false);
    select.value = u.role;
    select.addEventListener("change", () => changeRole(u, select));
    return h("tr", { dataset: { name: u.name } },
      h("th", { scope: "row", class: "wrap-any", dataset: { label: "Name" } }, u.name, me ? h("span", { class: "sub" }, "you") : null),
      h("td", { dataset: { label: "Role" } }, select),
      h("td", { title: u.last_login_at ? fullDate(u.last_login_at) : null, dataset: { label: "Last sign-in" } }, u.last_login_at ? when(u.last_login_at) : "never"),
      h("td", { title: fullDate(u.created_at), dataset: { label: "Created" } }, when(u.created_at)),
      h("td", { class: "actions-cell" }, h("div", { class: "row-actions" },
        h("button", { class: "button small", type: "button", "aria-label": `Reset the password of ${u.name}`, on: { click: (e) => openReset(u, e.currentTarget) } }, "Reset password"),
        h("button", { class: "button small danger", type: "button", "aria-label": `Delete ${u.name}`, on: { click: () => remove(u) } }, "Delete"))));
  }

  async function load() {
    users = (await api.get("/users", null, signal)).items || [];
    errorEl.hidden = true;
    replace(box, users.length
      ? h("table", { class: "plain stack users" },
        h("thead", {}, h("tr", {}, ["Name", "Role", "Last sign-in", "Created", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, users.map(row)))
      : h("p", { class: "empty" }, "No users yet."));
  }

  const element = card("users-title", "Users", add, errorEl, note, panel, box);
  return { element, load: () => load().catch(fail) };
}
