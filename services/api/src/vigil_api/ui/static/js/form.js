// Create and edit targets of every kind. Validation is the API's: its field errors are shown
// next to the field they name, so the UI never disagrees with what the API accepts.

import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { check, field, linesToMap, mapToLines, number, onSubmit, showKinds, text, toNumber } from "./fields.js";
import { navigate } from "./router.js";

const KINDS = [
  ["http", "HTTP(S)", "Request a URL and check the status, body and certificate."],
  ["tcp", "TCP", "Open a connection to a host and port."],
  ["icmp", "ICMP ping", "Send an echo request to a host."],
];
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

export function renderForm(main, id) {
  const editing = id !== null;
  const inputs = {
    name: text({ required: true, maxlength: 200 }),
    url: text({ type: "url", placeholder: "https://example.com/health", inputmode: "url" }),
    host: text({ placeholder: "db.example.com or 192.0.2.10" }),
    port: number({ min: 1, max: 65535, step: 1, placeholder: "5432" }),
    method: h("select", {}, METHODS.map((m) => h("option", { value: m }, m))),
    expected_status: text({ placeholder: "200, 204, 3xx" }),
    keyword: text({ placeholder: "healthy" }),
    keyword_absent: text({ placeholder: "error" }),
    headers: h("textarea", { rows: 3, spellcheck: "false", placeholder: "Authorization: Bearer …" }),
    verify_tls: check({ checked: true }),
    follow_redirects: check({ checked: true }),
    max_redirects: number({ min: 0, step: 1, placeholder: "10" }),
    interval_s: number({ min: 1, step: "any", placeholder: "60" }),
    timeout_s: number({ min: 0.1, step: "any", placeholder: "10" }),
    failure_threshold: number({ min: 1, step: 1, placeholder: "default" }),
    success_threshold: number({ min: 1, step: 1, placeholder: "default" }),
    labels: h("textarea", { rows: 3, spellcheck: "false", placeholder: "env: prod\nteam: web" }),
    enabled: check({ checked: true }),
    depends_on: h("select", { multiple: true, size: 6 }),
  };
  const kindRadios = KINDS.map(([value, label, help]) =>
    h("div", { class: "kind-option" },
      h("input", { type: "radio", name: "kind", value, id: `k-${value}`, checked: value === "http", "aria-describedby": `kh-${value}` }),
      h("label", { class: "kind-name", for: `k-${value}` }, label),
      h("span", { class: "kind-help", id: `kh-${value}` }, help)));
  const formError = h("div", { class: "alert", role: "alert", hidden: true });
  const submit = h("button", { class: "button primary", type: "submit" }, editing ? "Save changes" : "Create target");
  const kindError = h("p", { class: "field-error", id: "e-kind", hidden: true });

  const form = h("form", { class: "target-form", novalidate: true },
    formError,
    h("fieldset", {},
      h("legend", {}, "What to check"),
      field("name", "Name", inputs.name, "Shown on the dashboard and in alerts; must be unique."),
      h("fieldset", { class: "kinds", "aria-describedby": "e-kind", dataset: { field: "kind" } }, h("legend", {}, "Kind"), kindRadios, kindError),
      field("url", "URL", inputs.url, "http:// or https://, with path and query if needed.", { kinds: ["http"], wide: true }),
      field("host", "Host", inputs.host, "A host name or an IP address.", { kinds: ["tcp", "icmp"] }),
      field("port", "Port", inputs.port, null, { kinds: ["tcp"] })),
    h("fieldset", { dataset: { kinds: "http" } },
      h("legend", {}, "HTTP options"),
      field("method", "Method", inputs.method),
      field("expected_status", "Expected status", inputs.expected_status, "Codes or classes, comma-separated. Empty: any 2xx or 3xx."),
      field("keyword", "Body must contain", inputs.keyword),
      field("keyword_absent", "Body must not contain", inputs.keyword_absent),
      field("headers", "Request headers", inputs.headers, "One per line: Name: value", { wide: true }),
      field("max_redirects", "Max redirects", inputs.max_redirects),
      field("follow_redirects", "Follow redirects", inputs.follow_redirects),
      field("verify_tls", "Verify TLS certificate", inputs.verify_tls)),
    h("fieldset", {},
      h("legend", {}, "Schedule"),
      field("interval_s", "Interval (seconds)", inputs.interval_s, "How often to check."),
      field("timeout_s", "Timeout (seconds)", inputs.timeout_s, "Less than the interval."),
      field("failure_threshold", "Down after", inputs.failure_threshold, "Failed checks in a row before it counts as down."),
      field("success_threshold", "Up after", inputs.success_threshold, "Good checks in a row before it counts as up again.")),
    h("fieldset", {},
      h("legend", {}, "Labels"),
      field("labels", "Labels", inputs.labels, "One per line: key: value. Filter by them on the dashboard.", { wide: true }),
      field("enabled", "Check this target (uncheck to pause it)", inputs.enabled, null, { wide: true })),
    h("fieldset", {},
      h("legend", {}, "Alerting"),
      field("depends_on", "Depends on", inputs.depends_on,
        "While one of these is down, this target's alerts are held back (recorded, not sent). Ctrl-click or Shift-arrows pick several.",
        { wide: true })),
    h("div", { class: "form-actions" },
      submit,
      h("a", { class: "button", href: editing ? `/targets/${id}` : "/", "data-link": true }, "Cancel")));

  const kindValue = () => form.querySelector("input[name=kind]:checked").value;
  const showKind = () => showKinds(form, kindValue());
  form.addEventListener("change", (e) => {
    if (e.target.name === "kind") showKind();
  });

  function body() {
    const kind = kindValue();
    const v = (name) => inputs[name].value.trim();
    const out = { name: v("name"), kind };
    if (kind === "http") {
      out.url = v("url");
      out.method = inputs.method.value;
      const expected = v("expected_status");
      if (expected) {
        out.expected_status = expected.split(/[\s,]+/).filter(Boolean).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
      }
      if (v("keyword")) out.keyword = inputs.keyword.value;
      if (v("keyword_absent")) out.keyword_absent = inputs.keyword_absent.value;
      const headers = linesToMap(inputs.headers.value, [":"], "headers");
      if (Object.keys(headers).length) out.headers = headers;
      out.verify_tls = inputs.verify_tls.checked;
      out.follow_redirects = inputs.follow_redirects.checked;
      const maxRedirects = toNumber(v("max_redirects"), "max_redirects", true);
      if (maxRedirects !== undefined) out.max_redirects = maxRedirects;
    } else {
      out.host = v("host");
      if (kind === "tcp") out.port = toNumber(v("port"), "port", true) ?? null;
    }
    for (const [name, integer] of [["interval_s", false], ["timeout_s", false], ["failure_threshold", true], ["success_threshold", true]]) {
      const n = toNumber(v(name), name, integer);
      if (n !== undefined) out[name] = n;
    }
    out.labels = linesToMap(inputs.labels.value, [":", "="], "labels");
    out.enabled = inputs.enabled.checked;
    out.depends_on = [...inputs.depends_on.selectedOptions].map((o) => Number(o.value));
    return out;
  }

  onSubmit(form, {
    banner: formError,
    submit,
    title: "The target was not saved.",
    body,
    save: (data) => (editing ? api.put(`/targets/${id}`, data) : api.post("/targets", data)),
    onSaved: (saved) => navigate(`/targets/${saved.id}`),
  });

  function fill(t) {
    for (const radio of form.querySelectorAll("input[name=kind]")) radio.checked = radio.value === t.kind;
    for (const name of ["name", "url", "host", "keyword", "keyword_absent", "interval_s", "timeout_s",
      "failure_threshold", "success_threshold", "max_redirects", "port"]) {
      if (t[name] !== null && t[name] !== undefined) inputs[name].value = String(t[name]);
    }
    if (t.method) inputs.method.value = t.method;
    inputs.expected_status.value = (t.expected_status || []).join(", ");
    inputs.headers.value = mapToLines(t.headers, ": ");
    inputs.labels.value = mapToLines(t.labels, ": ");
    inputs.verify_tls.checked = t.verify_tls !== false;
    inputs.follow_redirects.checked = t.follow_redirects !== false;
    inputs.enabled.checked = t.enabled !== false;
    showKind();
  }

  const heading = h("h1", {}, editing ? "Edit target" : "New target");
  replace(main, h("section", { class: "form-page" },
    h("a", { class: "back", href: editing ? `/targets/${id}` : "/", "data-link": true }, editing ? "← Back to the target" : "← All targets"),
    heading, form));
  document.title = editing ? "Vigil · Edit target" : "Vigil · New target";
  showKind();

  // The other targets it may depend on, by name; the stored choice is selected once both are read.
  function fillDepends(targets, chosen) {
    const picked = new Set(chosen || []);
    const others = targets.filter((t) => t.id !== id).sort((a, b) => a.name.localeCompare(b.name));
    replace(inputs.depends_on, others.map((t) => h("option", { value: t.id, selected: picked.has(t.id) }, t.name)));
    inputs.depends_on.size = Math.max(3, Math.min(8, others.length));
  }

  const abort = new AbortController();
  const targets = api.getAll("/targets", { limit: 1000 }, abort.signal);
  if (editing) {
    submit.disabled = true;
    Promise.all([api.get(`/targets/${id}`, null, abort.signal), targets]).then(([t, all]) => {
      replace(heading, "Edit ", h("span", { class: "quoted" }, t.name));
      fill(t);
      fillDepends(all, t.depends_on);
      submit.disabled = false;
    }).catch((err) => {
      if (err.name === "AbortError") return;
      replace(formError, `Could not load the target: ${err.message}`);
      formError.hidden = false;
    });
  } else {
    inputs.name.focus();
    targets.then((all) => fillDepends(all, [])).catch((err) => {
      if (err.name === "AbortError") return;
      replace(formError, `Could not load the other targets: ${err.message}`);
      formError.hidden = false;
    });
  }
  return () => abort.abort();
}
