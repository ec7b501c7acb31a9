/**
 * The status page served at `GET /`: one self-contained HTML document (no CDN, no build step,
 * embedded in the binary as this string), which polls `status.json` every second and draws the
 * last 15 minutes as an SVG chart. It holds no data itself; beyond loopback `status.json` asks
 * for a bearer token, which the page asks for and keeps in the tab's sessionStorage.
 *
 * @module
 */

/** The page. */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>loggly-relay status</title>
<link rel="icon" href="data:,">
<style>
:root { --ok: #1a7f37; --bad: #c62828; --muted: #667; --line: #dde; font-family: system-ui, sans-serif; }
body { margin: 0; padding: 12px; background: #f6f7f9; color: #123; }
header { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: baseline; }
h1 { font-size: 1.2rem; margin: 0; }
.muted { color: var(--muted); font-size: .85rem; }
.badge { padding: 4px 10px; border-radius: 12px; color: #fff; font-weight: 600; background: var(--muted); }
.badge.ok { background: var(--ok); } .badge.failing { background: var(--bad); }
.grid { display: grid; gap: 8px; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); margin: 12px 0; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; }
.card .label { color: var(--muted); font-size: .8rem; }
.card .value { font-size: 1.4rem; font-variant-numeric: tabular-nums; }
.card .rate { color: var(--muted); font-size: .8rem; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; margin: 8px 0; }
h2 { font-size: 1rem; margin: 0 0 6px; }
svg { width: 100%; height: 180px; display: block; }
.legend span { margin-right: 12px; font-size: .85rem; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; }
td { border-top: 1px solid var(--line); padding: 4px; vertical-align: top; word-break: break-all; }
code { font-size: .8rem; }
#banner { display: none; background: var(--bad); color: #fff; padding: 8px; border-radius: 8px; margin: 8px 0; }
form { display: none; margin: 8px 0; } input { padding: 6px; width: 60%; }
</style>
</head>
<body>
<header>
  <h1>loggly-relay</h1>
  <span id="loggly" class="badge" data-testid="loggly-state">…</span>
  <span class="muted" id="meta"></span>
</header>
<div id="banner" data-testid="banner"></div>
<form id="auth"><input id="token" type="password" placeholder="HTTP token (--http-token)" autocomplete="off">
<button>Show</button></form>
<div class="muted" id="answer" data-testid="loggly-answer"></div>
<div class="grid" id="cards"></div>
<section><h2>Events per second, last 15 minutes</h2>
  <svg id="chart" viewBox="0 0 600 180" preserveAspectRatio="none" role="img" aria-label="events per second"></svg>
  <div class="legend" id="legend"></div>
  <div class="muted" id="scale"></div>
</section>
<section><h2>Dropped</h2><div id="dropped" data-testid="dropped"></div></section>
<section><h2>Last parse errors</h2><table id="errors" data-testid="parse-errors"></table></section>
<section><h2>Certificates</h2><div id="certs" data-testid="certificates"></div></section>
<script>
"use strict";
const COLORS = ["#1565c0", "#ef6c00", "#6a1b9a", "#00838f", "#1a7f37"];
const $ = (id) => document.getElementById(id);
let lastOk = 0;
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function ago(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? s + " s ago" : Math.round(s / 60) + " min ago";
}
function bytes(n) {
  const units = ["bytes", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}
function uptime(s) {
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min";
  if (s < 86400) return Math.floor(s / 3600) + " h " + (Math.floor(s / 60) % 60) + " min";
  return Math.floor(s / 86400) + " d " + (Math.floor(s / 3600) % 24) + " h";
}
function last(series) { return series && series.length ? series[series.length - 1] : 0; }
function card(label, value, rate, id) {
  const c = el("div", undefined, "card");
  c.append(el("div", label, "label"));
  const v = el("div", value, "value");
  v.dataset.testid = id;
  c.append(v);
  if (rate !== undefined) c.append(el("div", rate + " /s now", "rate"));
  return c;
}
function render(r) {
  const badge = $("loggly");
  badge.className = "badge " + (r.loggly.state === "ok" ? "ok" : r.loggly.state === "failing" ? "failing" : "");
  badge.textContent = r.loggly.state === "ok" ? "Loggly OK" : r.loggly.state === "failing" ? "Loggly FAILING" : "Loggly: not asked yet";
  $("answer").textContent = r.loggly.at === null ? "" : "Loggly's last answer: " +
    (r.loggly.status === null ? "unreachable" : r.loggly.status) +
    (r.loggly.text ? " (" + r.loggly.text.slice(0, 120) + ")" : "") + ", " + ago(r.now - r.loggly.at);
  $("meta").textContent = "version " + r.version + " · up " + uptime(r.uptimeSeconds) + " · config: " + r.configSource;
  const cards = $("cards");
  cards.replaceChildren();
  for (const input of Object.keys(r.received).sort()) {
    cards.append(card("in: " + input, r.received[input], last(r.history.series["in:" + input]), "received-" + input));
  }
  cards.append(card("sent to Loggly", r.sent, last(r.history.series.out), "sent"));
  cards.append(card(r.queue.kind, r.queue.events + " events", undefined, "queue-events"));
  cards.append(card(r.queue.kind + " bytes", bytes(r.queue.bytes), undefined, "queue-bytes"));
  cards.append(card("retried", r.retried, undefined, "retried"));
  cards.append(card("parse errors", r.parseErrors, undefined, "parse-error-count"));
  const drops = Object.entries(r.dropped).filter((d) => d[1] > 0);
  const dropped = $("dropped");
  dropped.replaceChildren();
  if (drops.length === 0) dropped.append(el("span", "none", "muted"));
  for (const [reason, n] of drops) {
    const d = el("div", n + " " + reason);
    d.dataset.reason = reason;
    d.dataset.count = String(n);
    dropped.append(d);
  }
  const errors = $("errors");
  errors.replaceChildren();
  if (r.recentParseErrors.length === 0) errors.append(el("tr")).append(el("td", "none", "muted"));
  for (const e of r.recentParseErrors) {
    const row = el("tr");
    row.append(el("td", new Date(e.at).toLocaleTimeString() + " " + e.input));
    const cell = el("td", e.error + ": ");
    cell.append(el("code", e.line));
    row.append(cell);
    errors.append(row);
  }
  const certs = $("certs");
  certs.replaceChildren();
  if (r.certificates.length === 0) certs.append(el("span", "no TLS input", "muted"));
  for (const c of r.certificates) {
    const d = el("div", c.input + ": " + c.subject + " (" + c.path + ") expires in " + c.days + " days");
    if (c.days < 21) d.style.color = "var(--bad)";
    certs.append(d);
  }
  chart(r.history);
}
function chart(h) {
  const svg = $("chart");
  const legend = $("legend");
  const names = Object.keys(h.series).sort((a, b) => (a === "out") - (b === "out") || a.localeCompare(b));
  const W = 600, H = 180, P = 4;
  let max = 1;
  for (const n of names) for (const v of h.series[n]) max = Math.max(max, v);
  // The last 15 minutes, or what there is of them: a young relay's chart fills the width.
  const t1 = h.t.length ? h.t[h.t.length - 1] : 0;
  const t0 = h.t.length ? Math.max(h.t[0] - 1000, t1 - 15 * 60 * 1000) : 0;
  const x = (t) => P + (W - 2 * P) * (t - t0) / Math.max(1, t1 - t0);
  const y = (v) => H - P - (H - 2 * P) * v / max;
  const ns = "http://www.w3.org/2000/svg";
  svg.replaceChildren();
  legend.replaceChildren();
  names.forEach((name, i) => {
    const color = name === "out" ? "#1a7f37" : COLORS[i % COLORS.length];
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", h.series[name].map((v, j) => x(h.t[j]).toFixed(1) + "," + y(v).toFixed(1)).join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", color);
    line.setAttribute("stroke-width", "2");
    line.setAttribute("vector-effect", "non-scaling-stroke");
    svg.append(line);
    const label = el("span", (name === "out" ? "out to Loggly" : name.replace("in:", "in: ")) + " (" + last(h.series[name]) + "/s)");
    label.style.color = color;
    legend.append(label);
  });
  $("scale").textContent = "top: " + max + " events/s · span: " +
    (h.t.length ? uptime(Math.round((t1 - t0) / 1000)) : "no samples yet");
}
async function refresh() {
  const token = sessionStorage.getItem("loggly-relay-token");
  try {
    const res = await fetch("status.json", { headers: token ? { authorization: "Bearer " + token } : {}, cache: "no-store" });
    if (res.status === 401 || res.status === 403) {
      $("auth").style.display = "block";
      showBanner("The status is behind a token here: give one of the relay's --http-token values.");
      return;
    }
    if (!res.ok) throw new Error("status.json answered " + res.status);
    render(await res.json());
    lastOk = Date.now();
    $("banner").style.display = "none";
  } catch (error) {
    showBanner("The relay does not answer" + (lastOk ? " (last answer " + ago(Date.now() - lastOk) + ")" : "") + ": " + error.message);
  }
}
function showBanner(text) {
  const banner = $("banner");
  banner.textContent = text;
  banner.style.display = "block";
}
$("auth").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("loggly-relay-token", $("token").value);
  $("auth").style.display = "none";
  refresh();
});
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
`;
