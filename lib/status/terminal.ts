/**
 * `loggly-relay status` in a terminal: the status report on one screen. Pure: a report in,
 * lines out.
 *
 * @module
 */
import { formatSize } from "../units.ts";
import type { StatusReport } from "./report.ts";

/** The report as plain text, one screen. */
export function renderReport(r: StatusReport, address: string): string {
  const lines: string[] = [];
  const inputs = Object.keys(r.received).sort();
  lines.push(
    `loggly-relay ${r.version} at ${address}, up ${duration(r.uptimeSeconds)} ` +
      `(config: ${r.configSource})`,
    "",
    `Loggly      ${logglyText(r)}`,
    `${r.queue.kind.padEnd(11)} ${r.queue.events} events (${formatSize(r.queue.bytes)})`,
    "",
    "            received   now/s  15m avg/s",
  );
  for (const input of inputs) {
    lines.push(row(input, r.received[input], r.history.series[`in:${input}`]));
  }
  if (inputs.length === 0) lines.push("(nothing received yet)");
  lines.push(
    row("sent", r.sent, r.history.series.out),
    "",
    `retried     ${r.retried}`,
    `parse errors ${r.parseErrors}`,
  );
  const drops = Object.entries(r.dropped).filter(([, n]) => n > 0);
  lines.push(
    `dropped     ${
      drops.length === 0 ? "0" : drops.map(([reason, n]) => `${n} (${reason})`).join(", ")
    }`,
  );
  for (const c of r.certificates) {
    lines.push(`certificate ${c.input} ${c.path}: expires in ${c.days} days`);
  }
  if (r.recentParseErrors.length > 0) {
    lines.push("", "last parse errors:");
    for (const e of r.recentParseErrors.slice(0, 5)) {
      lines.push(`  ${new Date(e.at).toISOString()} ${e.input}: ${e.error}`, `    ${e.line}`);
    }
  }
  return lines.join("\n");
}

function row(name: string, total: number, rates: number[] | undefined): string {
  const values = rates ?? [];
  const last = values.length === 0 ? 0 : values[values.length - 1];
  const mean = values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
  return `${name.padEnd(11)} ${String(total).padStart(8)} ${fixed(last).padStart(7)} ` +
    `${fixed(mean).padStart(10)}`;
}

function fixed(n: number): string {
  return n >= 100 ? String(Math.round(n)) : n.toFixed(1);
}

/** Loggly's last answer in words. */
export function logglyText(r: StatusReport): string {
  const { loggly } = r;
  if (loggly.at === null) return "not asked yet";
  const ago = `${Math.max(0, Math.round((r.now - loggly.at) / 1000))} s ago`;
  if (loggly.state === "ok") return `ok (${loggly.status}, ${ago})`;
  const what = loggly.status === null ? "unreachable" : `answered ${loggly.status}`;
  return `FAILING: ${what} (${loggly.text.slice(0, 80)}), ${ago}`;
}

function duration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86_400) {
    return `${Math.floor(seconds / 3600)} h ${Math.floor(seconds / 60) % 60} min`;
  }
  return `${Math.floor(seconds / 86_400)} d ${Math.floor(seconds / 3600) % 24} h`;
}
