// What a target's page shows beyond the figures for the newer kinds: the latest DNS answers and
// certificate (from the newest check's details), and a push target's URL with a crontab line.

import { copyButton } from "./clipboard.js";
import { h } from "./dom.js";
import { fullDate, when } from "./format.js";

function card(title, cls, ...body) {
  return h("section", { class: `card details ${cls}` }, h("h2", {}, title), ...body);
}

const facts = (rows) => h("dl", { class: "facts" },
  rows.filter(([, v]) => v !== null && v !== undefined && v !== "").map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));

// A distinguished name as the worker sends it: a string, or {CN: ..., O: ...} pairs.
function dn(value) {
  if (!value || typeof value === "string") return value || null;
  if (Array.isArray(value)) return value.map(dn).join(", ");
  return Object.entries(value).map(([k, v]) => `${k}=${v}`).join(", ");
}

/** The address a target's page shows: the summary's `address`, or built from the kind's fields. */
export function targetAddress(t) {
  if (t.address) return t.address;
  if (t.kind === "http") return t.url || "";
  if (t.kind === "dns") return [t.query_name, t.record_type].filter(Boolean).join(" ");
  if (t.kind === "push") return "push";
  if (t.port && (t.kind === "tcp" || t.kind === "tls")) return t.host?.includes(":") ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
  return t.host || "";
}

const isHttps = (t) => t.kind === "http" && /^https:/i.test(t.url || "");

// The certificate facts of a check: the tls kind puts them in details, an https check may
// nest them under details.tls.
function certificateOf(check) {
  const d = check.details;
  if (!d) return null;
  const cert = d.tls && typeof d.tls === "object" ? d.tls : d;
  return cert.not_after || cert.subject ? cert : null;
}

function daysLeft(cert) {
  if (typeof cert.days_left === "number") return cert.days_left;
  return cert.not_after ? (new Date(cert.not_after) - Date.now()) / 86400e3 : null;
}

function expiry(cert, minDays) {
  const days = daysLeft(cert);
  if (days === null) return fullDate(cert.not_after);
  const left = days < 0 ? "expired" : `${Math.floor(days)} days left`;
  const cls = days < 0 ? "u-bad" : days < (minDays ?? 14) ? "u-poor" : days < 30 ? "u-fair" : "u-good";
  return [fullDate(cert.not_after), " ", h("strong", { class: `days-left ${cls}` }, `(${left})`)];
}

function certificateCard(t, checks) {
  const found = checks.find(certificateOf);
  // An https check that records no certificate facts still has its expiry in the stats.
  if (!found && t.kind !== "tls") return null;
  if (!found) {
    return card("Certificate", "cert", h("p", { class: "muted" }, "No certificate seen yet: it shows after the first check that completes a TLS handshake."));
  }
  const cert = certificateOf(found);
  const sans = Array.isArray(cert.sans) ? cert.sans : [];
  return card("Certificate", "cert",
    facts([
      ["Subject", dn(cert.subject)],
      ["Issuer", dn(cert.issuer)],
      ["Names (SANs)", sans.length ? h("ul", { class: "plain-list sans" }, sans.map((n) => h("li", {}, String(n)))) : "none"],
      ["Valid from", cert.not_before ? fullDate(cert.not_before) : null],
      ["Expires", cert.not_after ? expiry(cert, t.kind === "tls" ? t.min_days_valid : t.tls_min_days_valid) : null],
      ["Protocol", [cert.protocol, cert.cipher].filter(Boolean).join(" · ")],
      ["Chain and name", cert.verified === false ? h("strong", { class: "u-bad" }, "not verified") : cert.verified ? "verified" : null],
    ]),
    h("p", { class: "help", title: fullDate(found.checked_at) }, `As seen by the check at ${when(found.checked_at)}.`));
}

// One DNS answer: the worker sends the record's text, or {value, ttl, ...}.
function answer(a) {
  if (a === null || typeof a !== "object") return h("li", {}, h("code", {}, String(a)));
  const value = a.value ?? a.data ?? a.rdata ?? JSON.stringify(a);
  return h("li", {}, h("code", {}, String(value)), a.ttl != null ? h("span", { class: "muted" }, ` TTL ${a.ttl}`) : null);
}

function dnsCard(t, checks) {
  const found = checks.find((c) => c.details && (c.details.answers || c.details.rcode));
  if (!found) return card("DNS answers", "dns-answers", h("p", { class: "muted" }, "No answer yet."));
  const d = found.details;
  const answers = Array.isArray(d.answers) ? d.answers : [];
  return card("DNS answers", "dns-answers",
    facts([
      ["Query", [t.query_name, d.record_type || t.record_type].filter(Boolean).join(" ")],
      ["Server", d.server || t.server || "system resolver"],
      ["Response code", h("span", { class: `rcode ${d.rcode === (t.expected_rcode || "NOERROR") ? "u-good" : "u-bad"}` }, d.rcode || "–")],
    ]),
    answers.length
      ? h("ul", { class: "plain-list answers", "aria-label": "Answers" }, answers.map(answer))
      : h("p", { class: "muted" }, "No records in the answer."),
    h("p", { class: "help", title: fullDate(found.checked_at) }, `Latest answer, from the check at ${when(found.checked_at)}.`));
}

/** The card for what the newest checks saw (DNS answers, a certificate), or null for a kind
 * that has none. `checks` are newest first. */
export function detailsCard(t, checks) {
  if (t.kind === "dns") return dnsCard(t, checks);
  if (t.kind === "tls" || isHttps(t)) return certificateCard(t, checks);
  return null;
}

/** The push URL as a full address: the API may give it as a path. */
export const pushUrl = (t) => (t.push_url ? new URL(t.push_url, location.origin).href : null);

/** The crontab line that pings `url` after each successful run. */
export const crontabLine = (url) => `*/5 * * * * your-job && curl -fsS -m 10 --retry 3 ${url}`;

/** A push target's card: its secret URL with a Copy button, an example crontab line, and
 * (with `onRotate`) a button that replaces the URL. */
export function pushCard(t, { onRotate = null } = {}) {
  const url = pushUrl(t);
  if (!url) return card("Heartbeat", "push", h("p", { class: "muted" }, "This target has no push URL."));
  const status = h("span", { class: "copy-status", role: "status" });
  const input = h("input", { type: "text", class: "push-url", readonly: true, value: url, id: "push-url", spellcheck: "false", "aria-describedby": "push-secret" });
  const line = crontabLine(url);
  const code = h("code", { class: "crontab" }, line);
  return card("Heartbeat", "push",
    h("label", { for: "push-url", class: "group-label" }, "Push URL"),
    h("div", { class: "copy-row" }, input, copyButton("Copy push URL", url, input, status), status),
    h("p", { class: "help", id: "push-secret" },
      h("strong", {}, "Keep this URL secret: "),
      "anyone who has it can report this target up or down. It needs no other credentials. ",
      "A GET or POST records a good check; add ?status=down&msg=... to report a failure, and duration_ms=... to record how long the job took."),
    h("p", { class: "group-label", id: "crontab-label" }, "Example crontab line"),
    h("div", { class: "copy-row" }, h("pre", { class: "crontab-wrap", "aria-labelledby": "crontab-label" }, code),
      copyButton("Copy crontab line", line, code, status)),
    h("p", { class: "help" }, `The job pings only when it succeeds, so a failed or missing run is noticed ${t.grace_s ?? 60} s after it was due.`),
    onRotate ? h("p", {},
      h("button", { class: "button", type: "button", on: { click: onRotate } }, "Replace URL"),
      h("span", { class: "help" }, " The old URL stops working at once (for a URL that leaked).")) : null);
}
