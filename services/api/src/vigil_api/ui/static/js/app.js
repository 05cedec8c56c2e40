// Entry point: the session (who is logged in), a tiny client-side router over the History
// API, and the live stream.

import { api } from "./api.js";
import { renderAccess } from "./access.js";
import { renderAudit } from "./audit.js";
import { replace, h } from "./dom.js";
import { start as startLive } from "./events.js";
import { renderDashboard } from "./dashboard.js";
import { renderTarget } from "./target.js";
import { renderForm } from "./form.js";
import { renderLogin } from "./login.js";
import { renderMaintenance } from "./maintenance.js";
import { renderNotifications } from "./notifications.js";
import { navigate, setRouteHandler } from "./router.js";
import { applyRoles, can, current, lacking, loadSession } from "./session.js";
import { renderStatusPages } from "./status_pages.js";

// [path, page, scope it needs]: "public" needs no session; null, only being logged in.
const ROUTES = [
  [/^\/$/, () => renderDashboard, null],
  [/^\/targets\/new$/, () => (main) => renderForm(main, null), "write"],
  [/^\/targets\/(\d+)$/, (m) => (main) => renderTarget(main, Number(m[1])), null],
  [/^\/targets\/(\d+)\/edit$/, (m) => (main) => renderForm(main, Number(m[1])), "write"],
  [/^\/notifications$/, () => renderNotifications, null],
  [/^\/maintenance$/, () => renderMaintenance, null],
  [/^\/status-pages$/, () => renderStatusPages, null],
  [/^\/audit$/, () => renderAudit, "admin"],
  [/^\/access$/, () => renderAccess, "admin"],
  [/^\/login$/, () => renderLogin, "public"],
];

const routeFor = (path) => ROUTES.find(([re]) => re.test(path));

let cleanup = null;

function notFound(main) {
  replace(main, h("section", { class: "card empty-state" },
    h("h1", {}, "Page not found"),
    h("p", {}, "There is nothing at this address. "),
    h("a", { href: "/", "data-link": true }, "Back to the dashboard")));
  return null;
}

// A page the session's role cannot use (a link typed in, a bookmark from an admin).
function notAllowed(main, scope) {
  replace(main, h("section", { class: "card empty-state" },
    h("h1", {}, "Not allowed"),
    h("p", {}, lacking(scope)),
    h("a", { href: "/", "data-link": true }, "Back to the dashboard")));
  return null;
}

function route() {
  const main = document.getElementById("app");
  if (cleanup) cleanup();
  cleanup = null;
  let render = notFound;
  const found = routeFor(location.pathname);
  if (found) {
    const [re, make, scope] = found;
    render = scope && scope !== "public" && !can(scope) ? (el) => notAllowed(el, scope) : make(location.pathname.match(re));
  }
  for (const a of document.querySelectorAll(".topbar nav a")) {
    const current = a.getAttribute("href") === location.pathname;
    if (current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  cleanup = render(main) || null;
}

// Internal links (data-link) switch pages without a reload, so the live stream stays open.
document.addEventListener("click", (event) => {
  const a = event.target.closest("a[data-link]");
  // Before a session is loaded (the login page) a link loads its page, which starts one.
  if (!a || !current() || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  if (a.getAttribute("href") !== location.pathname + location.search) navigate(a.getAttribute("href"));
});
window.addEventListener("popstate", route);

// Links written as /#/targets/7 (alert messages' ui_url, bookmarks) open that page.
if (location.hash.startsWith("#/")) history.replaceState(null, "", location.hash.slice(1));

function showAccount(me) {
  const box = document.getElementById("account");
  box.querySelector(".who-name").textContent = me.name;
  box.querySelector(".who-role").textContent = me.role || me.scope;
  box.hidden = false;
  const button = document.getElementById("logout");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api.post("/auth/logout");
    } catch (err) {
      button.disabled = false;
      document.getElementById("app").prepend(h("p", { class: "alert", role: "alert" }, `Not logged out: ${err.message}`));
      return;
    }
    location.assign("/login");
  });
}

async function start() {
  setRouteHandler(route);
  // The login page works without a session (and asks for none: a 401 there would be noise).
  if (routeFor(location.pathname)?.[2] === "public") {
    route();
    return;
  }
  const me = await loadSession(); // without a session the browser goes to login instead
  showAccount(me);
  applyRoles();
  document.querySelector(".topbar nav").hidden = false;
  startLive();
  route();
}

start();
