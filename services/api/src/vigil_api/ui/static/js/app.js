// Entry point: a tiny client-side router over the History API, and the live stream.

import { replace, h } from "./dom.js";
import { start as startLive } from "./events.js";
import { renderDashboard } from "./dashboard.js";
import { renderTarget } from "./target.js";
import { renderForm } from "./form.js";
import { renderNotifications } from "./notifications.js";
import { navigate, setRouteHandler } from "./router.js";

const ROUTES = [
  [/^\/$/, () => renderDashboard],
  [/^\/targets\/new$/, () => (main) => renderForm(main, null)],
  [/^\/targets\/(\d+)$/, (m) => (main) => renderTarget(main, Number(m[1]))],
  [/^\/targets\/(\d+)\/edit$/, (m) => (main) => renderForm(main, Number(m[1]))],
  [/^\/notifications$/, () => renderNotifications],
];

let cleanup = null;

function notFound(main) {
  replace(main, h("section", { class: "card empty-state" },
    h("h1", {}, "Page not found"),
    h("p", {}, "There is nothing at this address. "),
    h("a", { href: "/", "data-link": true }, "Back to the dashboard")));
  return null;
}

function route() {
  const main = document.getElementById("app");
  if (cleanup) cleanup();
  cleanup = null;
  let render = notFound;
  for (const [re, make] of ROUTES) {
    const m = location.pathname.match(re);
    if (m) {
      render = make(m);
      break;
    }
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
  if (!a || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  if (a.getAttribute("href") !== location.pathname + location.search) navigate(a.getAttribute("href"));
});
window.addEventListener("popstate", route);

// Links written as /#/targets/7 (alert messages' ui_url, bookmarks) open that page.
if (location.hash.startsWith("#/")) history.replaceState(null, "", location.hash.slice(1));

setRouteHandler(route);
startLive();
route();
