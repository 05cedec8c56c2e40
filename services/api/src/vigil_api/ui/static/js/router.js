// Client-side navigation without a reload (the live stream stays open across pages).

let onRoute = () => {};

export function setRouteHandler(fn) {
  onRoute = fn;
}

export function navigate(path, { replaceState = false } = {}) {
  if (replaceState) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  onRoute();
}
