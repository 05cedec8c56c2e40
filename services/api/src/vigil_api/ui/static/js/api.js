// The JSON API client: the UI uses the same public endpoints as any other client.

export class ApiError extends Error {
  /** `problem` is the RFC 9457 body ({title, detail, errors: [{field, message}]}) when there is one. */
  constructor(status, problem, fallback) {
    super(problem?.detail || problem?.title || fallback || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || null;
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

function url(path, params) {
  const u = new URL("/api/v1" + path, location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== null && v !== undefined && v !== "") u.searchParams.set(k, v);
  }
  return u.pathname + u.search;
}

async function request(method, path, { params, body, signal } = {}) {
  const init = { method, signal, headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["content-type"] = "application/json";
  }
  let resp;
  try {
    resp = await fetch(url(path, params), init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, null, "The API cannot be reached; check your connection.");
  }
  if (resp.status === 204) return null;
  const type = resp.headers.get("content-type") || "";
  const data = type.includes("json") ? await resp.json().catch(() => null) : null;
  if (!resp.ok) throw new ApiError(resp.status, data, `${resp.status} ${resp.statusText}`);
  return data;
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
  post: (path, body, { params } = {}) => request("POST", path, { body, params }),
  put: (path, body) => request("PUT", path, { body }),
  patch: (path, body) => request("PATCH", path, { body }),
  del: (path) => request("DELETE", path),
};
