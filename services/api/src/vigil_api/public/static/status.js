// Live updates for a public status page: every data-refresh-s seconds it reads the page's JSON
// (a revalidation: 304 while nothing changed) and updates the overall state and each target's
// status in place. Times are shown in the visitor's zone. Without this script the page is
// complete as served; with it, nothing is built from HTML strings (textContent only).

const body = document.body;
const jsonUrl = body.dataset.json;
const refreshMs = Math.max(5, Number(body.dataset.refreshS) || 30) * 1000;

function localTimes(root) {
  for (const el of root.querySelectorAll("time[datetime]")) {
    const at = new Date(el.dateTime);
    if (!Number.isNaN(at.getTime())) {
      el.textContent = at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
    }
  }
}

function show(page) {
  const overall = document.getElementById("overall");
  if (overall) {
    overall.className = `overall o-${page.status}`;
    overall.dataset.status = page.status;
    document.getElementById("overall-text").textContent = page.status_text;
  }
  for (const group of page.groups) {
    for (const target of group.targets) {
      for (const el of document.querySelectorAll(`[data-target="${target.id}"] .status`)) {
        el.className = `status s-${target.status}`;
        el.dataset.status = target.status;
        el.textContent = target.status_text;
      }
    }
  }
}

async function refresh() {
  try {
    const resp = await fetch(jsonUrl, { cache: "no-cache", headers: { accept: "application/json" } });
    if (resp.ok) {
      show(await resp.json());
      body.dataset.refreshed = String(Number(body.dataset.refreshed || 0) + 1);
    }
  } catch {
    // Offline or the server away: keep showing the last state.
  }
}

localTimes(document);
if (jsonUrl) {
  setInterval(refresh, refreshMs);
}
