// The access page (admins): who may sign in with which role, and the API tokens scripts use.

import { h, replace } from "./dom.js";
import { tokensCard } from "./tokens.js";
import { usersCard } from "./users.js";

export function renderAccess(main) {
  const abort = new AbortController();
  const users = usersCard(abort.signal);
  const tokens = tokensCard(abort.signal);
  replace(main, h("section", { class: "access" },
    h("div", { class: "page-head" }, h("div", {},
      h("h1", {}, "Access"),
      h("p", { class: "muted intro" }, "Users sign in to this page; API tokens are for scripts, CI and Prometheus. Every change here is in the audit log."))),
    users.element,
    tokens.element));
  document.title = "Vigil · Access";
  users.load();
  tokens.load();
  return () => abort.abort();
}
