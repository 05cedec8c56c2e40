// Create and edit targets of every kind. Validation is the API's: its field errors are shown
// next to the field they name, so the UI never disagrees with what the API accepts.
// Header values and a URL's password come back from the API as ******** and go back as
// ******** unless the user types a new value: the API then keeps what it stored.

import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { check, field, linesToMap, mapToLines, number, onSubmit, showKinds, text, toNumber } from "./fields.js";
import { navigate } from "./router.js";

const KINDS = [
  ["http", "HTTP(S)", "Request a URL and check the status, body, JSON and certificate."],
  ["tcp", "TCP", "Open a connection to a host and port."],
  ["icmp", "ICMP ping", "Send an echo request to a host."],
  ["dns", "DNS", "Resolve a name and check the response code and the records."],
  ["tls", "TLS certificate", "Handshake with a server (or STARTTLS) and check its certificate."],
  ["push", "Push (heartbeat)", "Wait for pings from a cron job; alert when one is missed."],
];
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const RECORD_TYPES = ["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "SRV", "CAA"];
const RCODES = ["NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED"];
const MATCHES = [
  ["any", "any: one of them is in the answer"],
  ["all", "all: every one is in the answer"],
  ["exact", "exact: the answer is exactly these"],
];
const STARTTLS = [["none", "none (TLS from the start)"], ["smtp", "SMTP"], ["imap", "IMAP"], ["pop3", "POP3"], ["ftp", "FTP"]];
const JSON_OPS = ["==", "!=", "<", "<=", ">", ">=", "contains", "exists", "not_exists", "matches"];
const NO_VALUE_OPS = new Set(["exists", "not_exists"]);
// Every kind but push (which measures nothing) can fail an answer for being slow.
const TIMED = ["http", "tcp", "icmp", "dns", "tls"];
// Settings that are whole numbers or plain numbers, read from number inputs when shown.
const NUMBERS = {
  http: [["max_redirects", true], ["tls_min_days_valid", true], ["max_latency_ms", false]],
  tcp: [["max_latency_ms", false]],
  icmp: [["max_latency_ms", false]],
  dns: [["max_latency_ms", false]],
  tls: [["min_days_valid", true], ["max_latency_ms", false]],
  push: [["period_s", false], ["grace_s", false]],
};
// vigil_core.channels.MASK: what a read shows in place of a stored secret.
const MASK = "********";
const HEADERS_HELP = "One per line: Name: value. Values are stored as secrets and never shown.";
const KEPT_HELP = "Leave ******** to keep a stored value, or type a new one (changing the URL's host asks for them again).";
const URL_HELP = "http:// or https://, with path and query if needed.";
const SCHEDULE = [["interval_s", false], ["timeout_s", false], ["failure_threshold", true], ["success_threshold", true]];

const options = (pairs) => pairs.map((p) => (Array.isArray(p) ? h("option", { value: p[0] }, p[1]) : h("option", { value: p }, p)));

/** A JSON condition's value as typed: JSON when it parses ("ok" needs no quotes, 42 is a
 * number, "42" a string), the text itself otherwise; a regular expression is always text. */
export function conditionValue(op, raw) {
  if (NO_VALUE_OPS.has(op) || raw.trim() === "") return undefined;
  if (op === "matches") return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** The text that conditionValue reads back as `value`. */
function conditionText(op, value) {
  if (value === undefined) return "";
  if (value === null) return NO_VALUE_OPS.has(op) ? "" : "null";
  if (typeof value === "string") {
    if (op === "matches") return value;
    try {
      JSON.parse(value);
    } catch {
      return value; // it does not parse, so it comes back as this same string
    }
  }
  return JSON.stringify(value);
}

// Give a field built by field() another name (a JSON condition row moved up after a removal).
function rename(wrap, name) {
  wrap.dataset.field = name;
  const input = wrap.querySelector("input, select, textarea");
  const label = wrap.querySelector("label");
  const help = wrap.querySelector(".help");
  const error = wrap.querySelector(".field-error");
  input.id = `f-${name}`;
  input.name = name;
  label.htmlFor = input.id;
  if (help) help.id = `h-${name}`;
  error.id = `e-${name}`;
  input.setAttribute("aria-describedby", [help?.id, error.id].filter(Boolean).join(" "));
}

/** The JSON conditions editor: rows of path / op / value, each field named `json[i].path` and
 * so on, so the API's errors land on the row and part they name. */
function jsonConditions() {
  const rows = h("div", { class: "json-rows" });
  const empty = h("p", { class: "help json-empty" }, "No conditions: the body is not read as JSON.");
  const add = h("button", { class: "button small", type: "button" }, "Add condition");
  const list = [];

  function renumber() {
    list.forEach((row, i) => {
      row.el.dataset.field = `json[${i}]`;
      row.el.querySelector(".row-error").id = `e-json[${i}]`;
      for (const part of ["path", "op", "value"]) rename(row[part], `json[${i}].${part}`);
      row.remove.setAttribute("aria-label", `Remove condition ${i + 1}`);
      row.legend.textContent = `Condition ${i + 1}`;
      row.el.setAttribute("aria-label", `Condition ${i + 1}`);
    });
    empty.hidden = list.length > 0;
  }

  function addRow(cond = {}, focus = false) {
    const op = cond.op || "==";
    const path = text({ placeholder: "status", value: cond.path || "" });
    const opSelect = h("select", {}, options(JSON_OPS));
    opSelect.value = op;
    const value = text({ placeholder: '"ok", 200, true', value: conditionText(op, cond.value) });
    const row = {
      path: field("json[0].path", "JSON path", path, "A JMESPath expression, e.g. items[0].state"),
      op: field("json[0].op", "Operator", opSelect),
      value: field("json[0].value", "Value", value, "JSON if it parses, else text"),
      legend: h("span", { class: "json-legend" }),
      remove: h("button", { class: "button small danger", type: "button" }, "Remove"),
    };
    const syncOp = () => {
      value.disabled = NO_VALUE_OPS.has(opSelect.value);
      value.placeholder = opSelect.value === "matches" ? "^ok|degraded$" : value.disabled ? "(no value)" : '"ok", 200, true';
    };
    opSelect.addEventListener("change", syncOp);
    syncOp();
    // The row's own error comes first, so that an error naming the row (json[1]) finds it
    // before its fields' (CSS shows it last).
    row.el = h("div", { class: "json-row", role: "group" },
      h("p", { class: "field-error row-error", hidden: true }),
      row.legend, row.path, row.op, row.value, row.remove);
    row.remove.addEventListener("click", () => {
      const at = list.indexOf(row);
      list.splice(at, 1);
      row.el.remove();
      renumber();
      (list[at]?.path.querySelector("input") || list[at - 1]?.path.querySelector("input") || add).focus();
    });
    list.push(row);
    rows.append(row.el);
    renumber();
    if (focus) path.focus();
  }

  add.addEventListener("click", () => addRow({}, true));
  renumber();
  const el = h("div", { class: "field wide json-conditions", dataset: { field: "json" } },
    h("span", { class: "group-label", id: "l-json" }, "JSON conditions"),
    h("p", { class: "help" }, "Each must hold on the JSON body; a body that is not JSON fails with error class json."),
    h("p", { class: "field-error", id: "e-json", hidden: true }),
    empty, rows, h("div", {}, add));
  el.setAttribute("role", "group");
  el.setAttribute("aria-labelledby", "l-json");
  return {
    el,
    fill: (conds) => {
      list.splice(0).forEach((row) => row.el.remove());
      for (const c of conds || []) addRow(c);
      renumber();
    },
    value: () => list
      .map((row) => {
        const op = row.op.querySelector("select").value;
        const out = { path: row.path.querySelector("input").value.trim(), op };
        const v = conditionValue(op, row.value.querySelector("input").value);
        if (v !== undefined) out.value = v;
        return out;
      }),
  };
}

function buildInputs() {
  return {
    name: text({ required: true, maxlength: 200 }),
    url: text({ type: "url", placeholder: "https://example.com/health", inputmode: "url" }),
    allow_url_password: check(),
    host: text({ placeholder: "db.example.com or 192.0.2.10" }),
    port: number({ min: 1, max: 65535, step: 1, placeholder: "443" }),
    method: h("select", {}, options(METHODS)),
    expected_status: text({ placeholder: "200, 204, 3xx" }),
    keyword: text({ placeholder: "healthy" }),
    keyword_absent: text({ placeholder: "error" }),
    keyword_regex: check(),
    headers: h("textarea", { rows: 3, spellcheck: "false", placeholder: "Authorization: Bearer …" }),
    verify_tls: check({ checked: true }),
    follow_redirects: check({ checked: true }),
    max_redirects: number({ min: 0, step: 1, placeholder: "10" }),
    tls_min_days_valid: number({ min: 0, step: 1, placeholder: "not checked" }),
    query_name: text({ placeholder: "example.com" }),
    record_type: h("select", {}, options(RECORD_TYPES)),
    server: text({ placeholder: "system resolver", inputmode: "url" }),
    expected_rcode: h("select", {}, options(RCODES)),
    expected: h("textarea", { rows: 3, spellcheck: "false", placeholder: "192.0.2.10\n192.0.2.11" }),
    match: h("select", {}, options(MATCHES)),
    starttls: h("select", {}, options(STARTTLS)),
    server_name: text({ placeholder: "the host" }),
    min_days_valid: number({ min: 0, step: 1, placeholder: "14" }),
    period_s: number({ min: 10, step: "any", placeholder: "300" }),
    grace_s: number({ min: 0, step: "any", placeholder: "60" }),
    max_latency_ms: number({ min: 1, step: "any", placeholder: "no limit" }),
    interval_s: number({ min: 1, step: "any", placeholder: "60" }),
    timeout_s: number({ min: 0.1, step: "any", placeholder: "10" }),
    failure_threshold: number({ min: 1, step: 1, placeholder: "default" }),
    success_threshold: number({ min: 1, step: 1, placeholder: "default" }),
    labels: h("textarea", { rows: 3, spellcheck: "false", placeholder: "env: prod\nteam: web" }),
    enabled: check({ checked: true }),
    depends_on: h("select", { multiple: true, size: 6 }),
  };
}

function kindFields(inputs, json) {
  return [
    h("fieldset", { dataset: { kinds: "http" } },
      h("legend", {}, "HTTP options"),
      field("method", "Method", inputs.method),
      field("expected_status", "Expected status", inputs.expected_status, "Codes or classes, comma-separated. Empty: any 2xx or 3xx."),
      field("keyword", "Body must contain", inputs.keyword),
      field("keyword_absent", "Body must not contain", inputs.keyword_absent),
      field("keyword_regex", "Body rules are regular expressions", inputs.keyword_regex,
        "RE2 syntax, matched in linear time: no backreferences or lookaround.", { wide: true }),
      json.el,
      field("headers", "Request headers", inputs.headers, HEADERS_HELP, { wide: true }),
      field("max_redirects", "Max redirects", inputs.max_redirects),
      field("tls_min_days_valid", "Certificate valid for at least (days)", inputs.tls_min_days_valid,
        "https only: fewer days left fails with error class expiring. Empty: not checked."),
      field("follow_redirects", "Follow redirects", inputs.follow_redirects),
      field("verify_tls", "Verify TLS certificate", inputs.verify_tls)),
    h("fieldset", { dataset: { kinds: "dns" } },
      h("legend", {}, "DNS options"),
      field("record_type", "Record type", inputs.record_type),
      field("server", "Server", inputs.server, "An IP address, IPv4:port or [IPv6]:port (port 53 if none). Empty: the worker's resolvers."),
      field("expected_rcode", "Expected response code", inputs.expected_rcode, "NXDOMAIN checks that a name does not exist."),
      field("match", "Match", inputs.match, "How the expected values compare with the answer."),
      field("expected", "Expected values", inputs.expected,
        "One per line, as the record's text (10 mail.example.com. for MX). Empty: any answer.", { wide: true })),
    h("fieldset", { dataset: { kinds: "tls" } },
      h("legend", {}, "TLS options"),
      field("starttls", "STARTTLS", inputs.starttls, "Talk the protocol first, then upgrade (SMTP 25/587, IMAP 143, POP3 110, FTP 21)."),
      field("server_name", "Server name", inputs.server_name, "Sent as SNI and verified in the certificate. Empty: the host."),
      field("min_days_valid", "Valid for at least (days)", inputs.min_days_valid, "Fewer days left fails with error class expiring. Empty: 14.")),
    h("fieldset", { dataset: { kinds: "push" } },
      h("legend", {}, "Heartbeat"),
      h("p", { class: "help wide" }, "Your job calls the target's secret push URL (shown on its page once it is created) each time it runs."),
      field("period_s", "Expected every (seconds)", inputs.period_s, "How often the job pings (10 s to 1 day): 300 for a */5 crontab line."),
      field("grace_s", "Grace (seconds)", inputs.grace_s, "How late a ping may be before it counts as missed. Empty: 60.")),
  ];
}

export function renderForm(main, id) {
  const editing = id !== null;
  const inputs = buildInputs();
  const json = jsonConditions();
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
      field("url", "URL", inputs.url, URL_HELP, { kinds: ["http"], wide: true }),
      field("allow_url_password", "Allow a password in the URL", inputs.allow_url_password,
        "Off: a URL such as https://user:password@host/ is refused. An Authorization header (below) is the better place for a credential.",
        { kinds: ["http"], wide: true }),
      field("query_name", "Name to resolve", inputs.query_name, "A DNS name, e.g. example.com or _sip._tcp.example.com.", { kinds: ["dns"], wide: true }),
      field("host", "Host", inputs.host, "A host name or an IP address.", { kinds: ["tcp", "icmp", "tls"] }),
      field("port", "Port", inputs.port, null, { kinds: ["tcp", "tls"] })),
    kindFields(inputs, json),
    h("fieldset", {},
      h("legend", {}, "Schedule"),
      field("interval_s", "Interval (seconds)", inputs.interval_s, "How often to check.", { kinds: TIMED }),
      field("timeout_s", "Timeout (seconds)", inputs.timeout_s, "Less than the interval.", { kinds: TIMED }),
      field("max_latency_ms", "Slow above (ms)", inputs.max_latency_ms,
        "A slower answer fails with error class slow (its time is still recorded). Empty: no limit.", { kinds: TIMED }),
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

  const v = (name) => inputs[name].value.trim();
  const perKind = {
    http(out) {
      out.url = v("url");
      out.allow_url_password = inputs.allow_url_password.checked;
      out.method = inputs.method.value;
      const expected = v("expected_status");
      if (expected) {
        out.expected_status = expected.split(/[\s,]+/).filter(Boolean).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
      }
      if (v("keyword")) out.keyword = inputs.keyword.value;
      if (v("keyword_absent")) out.keyword_absent = inputs.keyword_absent.value;
      out.keyword_regex = inputs.keyword_regex.checked;
      out.json = json.value();
      const headers = linesToMap(inputs.headers.value, [":"], "headers");
      if (Object.keys(headers).length) out.headers = headers;
      out.verify_tls = inputs.verify_tls.checked;
      out.follow_redirects = inputs.follow_redirects.checked;
    },
    tcp(out) {
      out.host = v("host");
      out.port = toNumber(v("port"), "port", true) ?? null;
    },
    icmp(out) {
      out.host = v("host");
    },
    dns(out) {
      out.query_name = v("query_name");
      out.record_type = inputs.record_type.value;
      if (v("server")) out.server = v("server");
      out.expected_rcode = inputs.expected_rcode.value;
      out.expected = inputs.expected.value.split("\n").map((x) => x.trim()).filter(Boolean);
      out.match = inputs.match.value;
    },
    tls(out) {
      perKind.tcp(out);
      out.starttls = inputs.starttls.value;
      if (v("server_name")) out.server_name = v("server_name");
    },
    push() {},
  };

  function body() {
    const kind = kindValue();
    const out = { name: v("name"), kind };
    perKind[kind](out);
    const schedule = kind === "push" ? SCHEDULE.slice(2) : SCHEDULE;
    for (const [name, integer] of [...NUMBERS[kind], ...schedule]) {
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

  const setHelp = (name, help) => {
    form.querySelector(`[data-field="${name}"] .help`).textContent = help;
  };

  function fill(t) {
    for (const radio of form.querySelectorAll("input[name=kind]")) radio.checked = radio.value === t.kind;
    for (const name of ["name", "url", "host", "keyword", "keyword_absent", "interval_s", "timeout_s",
      "failure_threshold", "success_threshold", "max_redirects", "port", "tls_min_days_valid", "query_name", "server",
      "server_name", "min_days_valid", "grace_s", "max_latency_ms"]) {
      if (t[name] !== null && t[name] !== undefined) inputs[name].value = String(t[name]);
    }
    const period = t.period_s ?? (t.kind === "push" ? t.interval_s : null);
    if (period != null) inputs.period_s.value = String(period);
    for (const name of ["method", "record_type", "expected_rcode", "match", "starttls"]) {
      if (t[name]) inputs[name].value = t[name];
    }
    inputs.expected_status.value = (t.expected_status || []).join(", ");
    inputs.expected.value = (t.expected || []).join("\n");
    inputs.headers.value = mapToLines(t.headers, ": ");
    // Say that masked values are kept, where there are any.
    if (Object.values(t.headers || {}).includes(MASK)) setHelp("headers", `${HEADERS_HELP} ${KEPT_HELP}`);
    if ((t.url || "").includes(`:${MASK}@`)) setHelp("url", `${URL_HELP} The password shows as ${MASK}: leave it to keep the stored one.`);
    inputs.allow_url_password.checked = t.allow_url_password === true;
    inputs.labels.value = mapToLines(t.labels, ": ");
    inputs.keyword_regex.checked = t.keyword_regex === true;
    inputs.verify_tls.checked = t.verify_tls !== false;
    inputs.follow_redirects.checked = t.follow_redirects !== false;
    inputs.enabled.checked = t.enabled !== false;
    json.fill(t.json);
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
    // Nothing can be typed or saved until the stored target is in the form: an edit typed sooner
    // would be overwritten by fill() and saved as the old value.
    const fieldsets = form.querySelectorAll(":scope > fieldset");
    const loading = (on) => {
      submit.disabled = on;
      for (const set of fieldsets) set.disabled = on;
    };
    loading(true);
    Promise.all([api.get(`/targets/${id}`, null, abort.signal), targets]).then(([t, all]) => {
      replace(heading, "Edit ", h("span", { class: "quoted" }, t.name));
      fill(t);
      fillDepends(all, t.depends_on);
      loading(false);
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
