// Who is logged in, and the one place the UI asks what they may do: `can("write")`.
//
// The API decides (every request is checked there); this only keeps the UI from offering a
// control whose request would be refused. Controls a role cannot use are left out, not greyed.

import { api } from "./api.js";

// Scopes as /auth/me names them: viewer -> read, editor -> read + write, admin -> all three.
let me = null;

/** Read the session (GET /auth/me); without one the browser goes to the login page. */
export async function loadSession() {
  me = await api.whoAmI();
  return me;
}

/** The logged-in user or token: {kind, name, role, scope, scopes}. */
export const current = () => me;

/** True when the session has `scope` ("read", "write" or "admin"). */
export function can(scope) {
  return Boolean(me?.scopes?.includes(scope));
}

/** Show each element marked data-needs="SCOPE" under `root` only when the session has it. */
export function applyRoles(root = document) {
  for (const el of root.querySelectorAll("[data-needs]")) el.hidden = !can(el.dataset.needs);
}

/** What the session lacks `scope` for, in words, for a page it cannot use. */
export function lacking(scope) {
  const who = me?.role ? `your role (${me.role})` : `this ${me?.kind || "session"}`;
  return `This page needs the ${scope} scope, which ${who} does not have. An admin can change your role.`;
}
