// Small SVG charts drawn by hand: a latency sparkline, a response-time chart, daily uptime bars
// and a phase-timing bar. Colours come from classes in style.css, so the CSP needs no inline style.

import { s } from "./dom.js";
import { day, fullDate, hour, ms, pct, uptimeClass } from "./format.js";

const round = (n) => Math.round(n * 10) / 10;

/** The latency of recent checks: a line, with failed checks as red dots on the baseline. */
export function sparkline(checks, { width = 120, height = 28 } = {}) {
  const pts = checks.slice(-40);
  const svg = s("svg", {
    class: "spark", width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": pts.length ? `Latency of the last ${pts.length} checks` : "No checks yet",
  });
  if (!pts.length) {
    svg.append(s("line", { class: "spark-empty", x1: 0, x2: width, y1: height - 2, y2: height - 2 }));
    return svg;
  }
  const max = Math.max(1, ...pts.map((p) => p.latency_ms || 0));
  const step = pts.length > 1 ? (width - 4) / (pts.length - 1) : 0;
  const x = (i) => round(2 + i * step);
  const y = (v) => round(height - 3 - ((v || 0) / max) * (height - 6));
  const ok = pts.map((p, i) => [i, p]).filter(([, p]) => p.ok && p.latency_ms !== null);
  if (ok.length > 1) {
    const line = ok.map(([i, p]) => `${x(i)},${y(p.latency_ms)}`).join(" ");
    svg.append(s("polyline", { class: "spark-line", points: line }));
  } else if (ok.length === 1) {
    const [i, p] = ok[0];
    svg.append(s("circle", { class: "spark-dot", cx: x(i), cy: y(p.latency_ms), r: 2 }));
  }
  pts.forEach((p, i) => {
    if (!p.ok) svg.append(s("circle", { class: "spark-fail", cx: x(i), cy: height - 3, r: 2.2 }));
  });
  const last = pts[pts.length - 1];
  if (last.ok && last.latency_ms !== null) {
    svg.append(s("circle", { class: "spark-last", cx: x(pts.length - 1), cy: y(last.latency_ms), r: 2.4 }));
  }
  return svg;
}

function niceMax(v) {
  if (v <= 0) return 1;
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * mag) return m * mag;
  return 10 * mag;
}

/** Response time over a window from hourly points [{t, avg_ms, max_ms, checks}]. */
export function latencyChart(points, { since, until, width = 800, height = 240 }) {
  const pad = { l: 52, r: 12, t: 12, b: 26 };
  const w = Math.max(200, width);
  const svg = s("svg", {
    class: "chart", width: w, height, viewBox: `0 0 ${w} ${height}`, role: "img",
    "aria-label": `Response time from ${fullDate(since)} to ${fullDate(until)}`,
  });
  const t0 = new Date(since).getTime();
  const t1 = new Date(until).getTime();
  const data = points
    .filter((p) => p.avg_ms !== null && p.avg_ms !== undefined)
    .map((p) => ({ ...p, time: new Date(p.t).getTime() }))
    .sort((a, b) => a.time - b.time);
  const top = niceMax(Math.max(0, ...data.map((p) => p.max_ms ?? p.avg_ms)) * 1.05);
  const X = (t) => round(pad.l + ((t - t0) / Math.max(1, t1 - t0)) * (w - pad.l - pad.r));
  const Y = (v) => round(height - pad.b - (v / top) * (height - pad.t - pad.b));

  for (let i = 0; i <= 4; i++) {
    const v = (top / 4) * i;
    svg.append(
      s("line", { class: "grid", x1: pad.l, x2: w - pad.r, y1: Y(v), y2: Y(v) }),
      s("text", { class: "axis", x: pad.l - 6, y: Y(v) + 4, "text-anchor": "end" }, ms(v)),
    );
  }
  const span = t1 - t0;
  const tickEvery = span <= 36 * 3600e3 ? 4 * 3600e3 : span <= 8 * 86400e3 ? 86400e3 : 5 * 86400e3;
  const first = Math.ceil(t0 / tickEvery) * tickEvery;
  const maxTicks = Math.max(2, Math.floor((w - pad.l - pad.r) / 70));
  const ticks = [];
  for (let t = first; t <= t1; t += tickEvery) ticks.push(t);
  const stride = Math.ceil(ticks.length / maxTicks);
  ticks.forEach((t, i) => {
    if (i % stride) return;
    const label = tickEvery < 86400e3 ? hour(new Date(t)) : day(new Date(t));
    svg.append(s("text", { class: "axis", x: X(t), y: height - 8, "text-anchor": "middle" }, label));
  });

  if (!data.length) {
    svg.append(s("text", { class: "empty", x: w / 2, y: height / 2, "text-anchor": "middle" }, "No checks in this window yet"));
    return svg;
  }
  // Break the line where an hour or more has no data, so a gap reads as a gap.
  const runs = [];
  let run = [];
  data.forEach((p, i) => {
    if (i && p.time - data[i - 1].time > 1.5 * 3600e3) {
      runs.push(run);
      run = [];
    }
    run.push(p);
  });
  runs.push(run);
  for (const r of runs) {
    if (r.length === 1) {
      svg.append(s("circle", { class: "chart-dot", cx: X(r[0].time), cy: Y(r[0].avg_ms), r: 3 }));
      continue;
    }
    const maxLine = r.map((p) => `${X(p.time)},${Y(p.max_ms ?? p.avg_ms)}`);
    const avgLine = r.map((p) => `${X(p.time)},${Y(p.avg_ms)}`);
    const area = [...maxLine, ...[...avgLine].reverse()].join(" ");
    svg.append(
      s("polygon", { class: "chart-band", points: area }),
      s("polyline", { class: "chart-line", points: avgLine.join(" ") }),
    );
  }
  // Invisible hover targets with native tooltips.
  const slot = Math.max(2, (w - pad.l - pad.r) / Math.max(1, data.length));
  for (const p of data) {
    const tip = `${fullDate(p.t)}\navg ${ms(p.avg_ms)} · max ${ms(p.max_ms)} · ${p.checks ?? "?"} checks`;
    svg.append(
      s("rect", { class: "hover", x: X(p.time) - slot / 2, y: pad.t, width: slot, height: height - pad.t - pad.b },
        s("title", {}, tip)),
    );
  }
  return svg;
}

/** One bar per day for `days` days, oldest left, coloured by uptime. */
export function dailyBars(rows, { days = 90, width = 800, height = 36 } = {}) {
  const byDay = new Map(rows.map((r) => [String(r.day).slice(0, 10), r]));
  const w = Math.max(200, width);
  const gap = w / days > 5 ? 2 : 1;
  const bw = w / days - gap;
  const svg = s("svg", {
    class: "bars", width: w, height, viewBox: `0 0 ${w} ${height}`, role: "img",
    "aria-label": `Uptime per day for the last ${days} days`,
  });
  const today = new Date();
  for (let i = 0; i < days; i++) {
    const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - (days - 1 - i)));
    const key = d.toISOString().slice(0, 10);
    const row = byDay.get(key);
    const value = row && row.checks ? row.uptime_pct : null;
    const tip = value === null ? `${key}: no data` : `${key}: ${pct(value)} up (${row.checks} checks)`;
    svg.append(
      s("rect", { class: `bar ${uptimeClass(value)}`, x: round(i * (bw + gap)), y: 0, width: round(bw), height, rx: 1.5 },
        s("title", {}, tip)),
    );
  }
  return svg;
}

/** The phases of one check, in order, from the worker's timings {dns, connect, tls, ttfb, total}
 * where ttfb and total count from the start: dns, connect, tls, wait (server), transfer. */
export function phases(timings) {
  if (!timings || typeof timings !== "object") return [];
  const num = (k) => (typeof timings[k] === "number" ? timings[k] : null);
  const out = [];
  let at = 0;
  for (const k of ["dns", "connect", "tls"]) {
    if (num(k) !== null) {
      out.push([k, num(k)]);
      at += num(k);
    }
  }
  if (num("ttfb") !== null) {
    out.push(["wait", Math.max(0, num("ttfb") - at)]);
    at = num("ttfb");
  }
  if (num("total") !== null && num("total") > at && num("ttfb") !== null) out.push(["transfer", num("total") - at]);
  return out;
}

/** Phase timings of one check as a stacked bar and a legend; null without timings. */
export function timingBar(timings, { width = 140, height = 10 } = {}) {
  const parts = phases(timings);
  if (!parts.length) return null;
  const total = parts.reduce((sum, [, v]) => sum + v, 0) || 1;
  const svg = s("svg", { class: "timing", width, height, viewBox: `0 0 ${width} ${height}`, "aria-hidden": "true" });
  let x = 0;
  parts.forEach(([name, v], i) => {
    const pw = (v / total) * width;
    svg.append(s("rect", { class: `ph ph-${i % 6}`, x: round(x), y: 0, width: round(Math.max(pw, 0.5)), height },
      s("title", {}, `${name}: ${ms(v)}`)));
    x += pw;
  });
  const text = parts.map(([name, v]) => `${name} ${ms(v)}`).join(" · ");
  return { svg, text };
}
