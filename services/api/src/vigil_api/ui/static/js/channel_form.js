// The channel create/edit form: common fields, then the chosen kind's own config fields.
// Validation is the API's (vigil_core.channels); its errors (`config.url`) appear at the field.
// Secrets come back from the API as ******** and go back as ******** unless the user types a
// new value, which tells the API to keep the stored one. Changing a stored secret needs the
// admin scope: an editor sees an existing channel's secret fields read-only.

import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { check, field, linesToMap, mapToLines, number, onSubmit, text, toNumber } from "./fields.js";
import { can } from "./session.js";

export const KINDS = [
  ["webhook", "Webhook", "A JSON POST of each event to any URL, signed when a secret is set."],
  ["slack", "Slack", "A Slack incoming webhook."],
  ["discord", "Discord", "A Discord channel webhook."],
  ["teams", "Microsoft Teams", "A Teams Workflows webhook (“post to a channel when a webhook request is received”)."],
  ["telegram", "Telegram", "A bot's message to one chat."],
  ["ntfy", "ntfy", "A message to an ntfy topic."],
  ["pagerduty", "PagerDuty", "An Events API v2 integration; a resolve closes the PagerDuty incident."],
  ["email", "E-mail", "Mail through your SMTP server; the resolve threads under its firing."],
  ["apprise", "Apprise", "Apprise URLs for other services. Best-effort: every failure is retried."],
];
export const KIND_LABEL = Object.fromEntries(KINDS.map(([k, label]) => [k, label]));

const SECRET_HELP = "Stored and never shown. Leave ******** to keep it, or type a new value.";
const LOCKED_HELP = "Only an admin can change this secret; saving keeps it as stored.";
const LOCKED_KIND_HELP = "Only an admin can change the kind: the new kind's secrets would have to be set.";

// Each kind's config fields, in the order shown. `secret`: write-only (vigil_core.channels.SECRETS).
const hookUrl = (placeholder) => [{ name: "url", label: "Webhook URL", type: "url", secret: true, placeholder }];
const CONFIG = {
  webhook: [
    { name: "url", label: "URL", type: "url", placeholder: "https://example.com/vigil-hook", help: "Where each event is POSTed as JSON." },
    { name: "headers", label: "Headers", type: "headers", secret: true, placeholder: "Authorization: Bearer …", help: "Optional, one per line: Name: value. Values are stored as secrets." },
    { name: "secret", label: "Signing secret", type: "password", secret: true, help: "Optional, at least 16 characters: each request then carries X-Vigil-Signature (HMAC-SHA256)." },
  ],
  slack: hookUrl("https://hooks.slack.com/services/…"),
  discord: hookUrl("https://discord.com/api/webhooks/…"),
  teams: hookUrl("https://….logic.azure.com/workflows/…"),
  telegram: [
    { name: "bot_token", label: "Bot token", type: "password", secret: true, help: "From @BotFather." },
    { name: "chat_id", label: "Chat id", type: "text", placeholder: "-1001234567890 or @channel" },
    { name: "api_url", label: "API base URL", type: "url", placeholder: "https://api.telegram.org", help: "Optional; for a proxy or a local Bot API server." },
  ],
  ntfy: [
    { name: "server_url", label: "Server URL", type: "url", placeholder: "https://ntfy.sh", help: "Optional; your own server." },
    { name: "topic", label: "Topic", type: "text", placeholder: "vigil-alerts" },
    { name: "token", label: "Access token", type: "password", secret: true, help: "Optional, for a protected topic." },
  ],
  pagerduty: [
    { name: "routing_key", label: "Routing key", type: "password", secret: true, help: "The integration key of an Events API v2 integration." },
    { name: "api_url", label: "API base URL", type: "url", placeholder: "https://events.pagerduty.com", help: "Optional." },
  ],
  email: [
    { name: "host", label: "SMTP host", type: "text", placeholder: "smtp.example.com" },
    { name: "port", label: "Port", type: "number", placeholder: "587" },
    { name: "security", label: "Security", type: "select", options: [["starttls", "STARTTLS (usually port 587)"], ["tls", "TLS from the start (usually port 465)"], ["none", "None (a relay on localhost only)"]] },
    { name: "username", label: "Username", type: "text", help: "Optional." },
    { name: "password", label: "Password", type: "password", secret: true, help: "Optional." },
    { name: "from_address", label: "From", type: "text", placeholder: "vigil@example.com" },
    { name: "to", label: "To", type: "list", placeholder: "ops@example.com, oncall@example.com", help: "One or more addresses, comma-separated." },
    { name: "verify_tls", label: "Verify the server's TLS certificate", type: "check" },
  ],
  apprise: [
    { name: "urls", label: "Apprise URLs", type: "lines", secret: true, placeholder: "mailto://user:pass@example.com\ntgram://token/chat", help: "One per line. Stored as secrets." },
  ],
};

function inputFor(def) {
  const attrs = def.placeholder ? { placeholder: def.placeholder } : {};
  switch (def.type) {
    case "url": return text({ type: "url", inputmode: "url", ...attrs });
    // new-password: the browser must not fill in a saved login here.
    case "password": return text({ type: "password", autocomplete: "new-password", ...attrs });
    case "number": return number({ min: 1, max: 65535, step: 1, ...attrs });
    case "select": return h("select", {}, def.options.map(([value, label]) => h("option", { value }, label)));
    case "check": return check({ checked: true });
    case "headers":
    case "lines": return h("textarea", { rows: 3, spellcheck: "false", ...attrs });
    default: return text(attrs);
  }
}

function readValue(def, input) {
  const path = `config.${def.name}`;
  const raw = input.value;
  switch (def.type) {
    case "password": return raw === "" ? undefined : raw; // spaces can be part of a password
    case "number": return toNumber(raw, path, true);
    case "select": return raw;
    case "check": return input.checked;
    case "headers": {
      const map = linesToMap(raw, [":"], path);
      return Object.keys(map).length ? map : undefined;
    }
    case "lines": {
      const lines = raw.split("\n").map((l) => l.trim()).filter(Boolean);
      return lines.length ? lines : undefined;
    }
    case "list": {
      const items = raw.split(/[\s,;]+/).filter(Boolean);
      return items.length ? items : undefined;
    }
    default: return raw.trim() === "" ? undefined : raw.trim();
  }
}

function writeValue(def, input, value) {
  if (value === null || value === undefined) return;
  switch (def.type) {
    case "check": input.checked = value !== false; break;
    case "headers": input.value = mapToLines(value, ": "); break;
    case "lines": input.value = value.join("\n"); break;
    case "list": input.value = value.join(", "); break;
    default: input.value = String(value);
  }
}

/**
 * The form for a new channel (`channel` null) or an existing one. Calls onSaved(channel) after a
 * successful write and onCancel() when the user backs out.
 */
export function channelForm({ channel, onSaved, onCancel }) {
  const editing = channel !== null;
  // Secrets are set freely on a new channel; an existing one's stay as they are for editors.
  const locked = editing && !can("admin");
  const P = "ch-";
  const inputs = {
    name: text({ required: true, maxlength: 200 }),
    kind: h("select", {}, KINDS.map(([value, label]) => h("option", { value }, label))),
    enabled: check({ checked: true }),
  };
  let config = {}; // the shown kind's config inputs, by field name
  const kindHelp = h("p", { class: "help", id: `${P}kind-about` });
  const configBox = h("div", { class: "config-fields" });
  const banner = h("div", { class: "alert", role: "alert", hidden: true });
  const submit = h("button", { class: "button primary", type: "submit" }, editing ? "Save channel" : "Create channel");
  const heading = h("h3", { id: `${P}title` }, editing ? ["Edit ", h("span", { class: "quoted" }, channel.name)] : "New channel");

  const form = h("form", { class: "panel-form", novalidate: true, "aria-labelledby": `${P}title` },
    heading, banner,
    h("fieldset", {},
      h("legend", {}, "Channel"),
      field("name", "Name", inputs.name, "Routes pick channels by it; must be unique.", { prefix: P }),
      field("kind", "Kind", inputs.kind, locked ? LOCKED_KIND_HELP : null, { prefix: P }),
      field("enabled", "Enabled (uncheck to stop sending to it)", inputs.enabled, null, { prefix: P, wide: true })),
    h("fieldset", {}, h("legend", {}, "Where it sends"), kindHelp, configBox),
    h("div", { class: "form-actions" },
      submit,
      h("button", { class: "button", type: "button", on: { click: () => onCancel() } }, "Cancel")));
  inputs.kind.setAttribute("aria-describedby", [locked && `${P}h-kind`, `${P}kind-about`, `${P}e-kind`].filter(Boolean).join(" "));

  function showConfig(kind) {
    config = {};
    const stored = editing && kind === channel.kind ? channel.config || {} : {};
    const fields = CONFIG[kind].map((def) => {
      const input = inputFor(def);
      config[def.name] = input;
      writeValue(def, input, stored[def.name]);
      const isSet = def.secret && stored[def.name] !== undefined && stored[def.name] !== null;
      let help = isSet ? [def.help, SECRET_HELP].filter(Boolean).join(" ") : def.help;
      if (def.secret && locked) {
        input.readOnly = true;
        help = LOCKED_HELP;
      }
      return field(`config.${def.name}`, def.label, input, help, { prefix: P, wide: ["headers", "lines", "url", "check"].includes(def.type) });
    });
    kindHelp.textContent = KINDS.find(([k]) => k === kind)[2];
    replace(configBox, fields);
  }
  inputs.kind.addEventListener("change", () => showConfig(inputs.kind.value));

  function body() {
    const kind = inputs.kind.value;
    const cfg = {};
    for (const def of CONFIG[kind]) {
      const value = readValue(def, config[def.name]);
      if (value !== undefined) cfg[def.name] = value;
    }
    return { name: inputs.name.value.trim(), kind, config: cfg, enabled: inputs.enabled.checked };
  }

  onSubmit(form, {
    banner,
    submit,
    title: "The channel was not saved.",
    body,
    save: (data) => (editing ? api.put(`/channels/${channel.id}`, data) : api.post("/channels", data)),
    onSaved: onSaved,
  });

  if (editing) {
    inputs.name.value = channel.name;
    inputs.kind.value = channel.kind;
    inputs.enabled.checked = channel.enabled !== false;
    inputs.kind.disabled = locked;
  }
  showConfig(inputs.kind.value);
  return { form, focus: () => inputs.name.focus() };
}
