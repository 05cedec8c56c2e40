// The JSON API client: the UI uses the same public endpoints as any other client, with the
// session cookie (same origin only) and, on unsafe requests, the session's CSRF token.

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export class ApiError extends Error {
  /** `problem` is the RFC 9457 body ({title, detail, errors: [{field, message}]}) when there is
   * one; `retryAfter` the seconds a 429 or 503 asks to wait (null when it names none). */
  constructor(status, problem, fallback, retryAfter = null) {
    super(problem?.detail || problem?.title || fallback || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || null;
    this.retryAfter = retryAfter;
  }

  /** Field errors as a Map from field name to messages. */
  fieldErrors() {
    const out = new Map();
    for (const e of this.problem?.errors || []) {
      const field = String(e.field || "");
      if (!out.has(field)) out.set(field, []);
      out.get(field).push(String(e.message || "invalid"));
    }
    return out;
  }
}

// The session's CSRF token, from GET /auth/me at start or the login answer. Unsafe requests
// made with the cookie are refused without it (a page on another site cannot read it).
let csrfToken = null;

export function setCsrfToken(token) {
  csrfToken = token || null;
}

/** Where the login page sends the user back to: this page. */
export function loginUrl() {
  return "/login?next=" + encodeURIComponent(location.pathname + location.search);
}

/** Go to the login page (the session expired, was revoked, or there never was one). The
 * returned promise never settles: the page is going away, and no caller should show an error
 * or go on meanwhile. */
export function toLogin() {
  if (location.pathname !== "/login") location.assign(loginUrl());
  return new Promise(() => {});
}

function url(path, params) {
  const u = new URL("/api/v1" + path, location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== null && v !== undefined && v !== "") u.searchParams.set(k, v);
  }
  return u.pathname + u.search;
}

async function send(method, path, { params, body, signal }) {
  const init = { method, signal, credentials: "same-origin", headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["content-type"] = "application/json";
  }
  if (UNSAFE.has(method) && csrfToken) init.headers["x-csrf-token"] = csrfToken;
  try {
    return await fetch(url(path, params), init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, null, "The API cannot be reached; check your connection.");
  }
}

/** `anonymous`: a 401 is the answer itself (a wrong password), not a reason to log in. */
async function request(method, path, { params, body, signal, anonymous = false } = {}) {
  const sent = csrfToken;
  let resp = await send(method, path, { params, body, signal });
  // Logging in again (in another tab, say) gives the cookie a new session and so a new CSRF
  // token: fetch it and try once more, rather than fail a save the user is allowed to make.
  if (resp.status === 403 && UNSAFE.has(method) && !anonymous && (await refreshCsrf()) !== sent) {
    resp = await send(method, path, { params, body, signal });
  }
  if (resp.status === 401 && !anonymous) return toLogin();
  if (resp.status === 204) return null;
  const type = resp.headers.get("content-type") || "";
  const data = type.includes("json") ? await resp.json().catch(() => null) : null;
  if (!resp.ok) {
    const wait = Number.parseInt(resp.headers.get("retry-after") || "", 10);
    throw new ApiError(resp.status, data, `${resp.status} ${resp.statusText}`, Number.isFinite(wait) ? wait : null);
  }
  return data;
}

/** GET /auth/me: who is logged in ({kind, name, role, scope, scopes, csrf_token}); keeps its
 * CSRF token for the unsafe requests that follow. A 401 goes to the login page. */
async function whoAmI() {
  const me = await request("GET", "/auth/me");
  setCsrfToken(me?.csrf_token);
  return me;
}

async function refreshCsrf() {
  try {
    await whoAmI();
  } catch {
    // keep the token we had: the original answer explains the refusal
  }
  return csrfToken;
}

// Enough for any fleet a select can list (10 pages of 1000); a bound, so a loop always ends.
const MAX_PAGES = 10;

/** Every item of a cursor-paginated list ({items, next}), at most MAX_PAGES pages. */
async function getAll(path, params, signal) {
  const items = [];
  let cursor = null;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page = await request("GET", path, { params: { ...params, cursor }, signal });
    items.push(...(Array.isArray(page) ? page : page.items || []));
    cursor = page?.next;
    if (!cursor) break;
  }
  return items;
}

export const api = {
  get: (path, params, signal) => request("GET", path, { params, signal }),
  getAll,
  whoAmI,
  post: (path, body, { params, anonymous } = {}) => request("POST", path, { body, params, anonymous }),
  put: (path, body) => request("PUT", path, { body }),
  patch: (path, body) => request("PATCH", path, { body }),
  del: (path) => request("DELETE", path),
};
