/**
 * The relay's own logs: LogTape to stderr, as text or JSON lines, with every line passed through
 * a redactor so that the Loggly token never reaches a log.
 *
 * @module
 */
import {
  configure,
  getLogger,
  getTextFormatter,
  type Logger,
  type LogLevel,
  type LogRecord,
  reset,
  type Sink,
} from "@logtape/logtape";

export type { Logger };

/** The root category of every logger of the relay. */
export const LOG_CATEGORY = "loggly-relay";

/** Returns the relay's logger for one part of it, e.g. `logger("sender")`. */
export function logger(part: string): Logger {
  return getLogger([LOG_CATEGORY, part]);
}

/** Options for {@link setupLogging}. */
export interface LogOptions {
  verbosity: number;
  format: "text" | "json";
  redact: (text: string) => string;
  /** Where lines go; stderr by default. */
  stream?: WritableStream<Uint8Array>;
}

/** Maps -v counts to levels: 0 info, 1 debug, 2+ trace. */
export function levelFor(verbosity: number): LogLevel {
  return verbosity <= 0 ? "info" : verbosity === 1 ? "debug" : "trace";
}

/** Configures LogTape for the whole process; call {@link stopLogging} before exit. */
export async function setupLogging(options: LogOptions): Promise<void> {
  const base = options.format === "json" ? formatJsonLine : getTextFormatter({
    timestamp: "date-time-timezone",
    category: ".",
    value: renderValue,
  });
  const formatter = (record: LogRecord): string => options.redact(base(record));
  // Again (a reload): the sinks in use flush and give stderr back before new ones take it.
  await reset();
  await configure({
    reset: true,
    sinks: { stderr: lossySink(options.stream ?? Deno.stderr.writable, formatter) },
    loggers: [
      { category: [LOG_CATEGORY], lowestLevel: levelFor(options.verbosity), sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
}

/**
 * Writes formatted lines to `stream`, in order. A broken stream (stderr piped into a program that
 * exited) loses log lines, never the relay: write errors are swallowed.
 */
function lossySink(
  stream: WritableStream<Uint8Array>,
  formatter: (record: LogRecord) => string,
): Sink & AsyncDisposable {
  const writer = stream.getWriter();
  const encoder = new TextEncoder();
  let broken = false;
  let last: Promise<void> = Promise.resolve();
  const sink = (record: LogRecord) => {
    if (broken) return;
    last = writer.write(encoder.encode(formatter(record))).catch(() => {
      broken = true;
    });
  };
  // LogTape awaits this on reset, so that the last lines are out before the process exits.
  return Object.assign(sink, {
    [Symbol.asyncDispose]: async () => {
      await last;
      writer.releaseLock();
    },
  });
}

/** Flushes and detaches the log sinks. */
export async function stopLogging(): Promise<void> {
  await reset();
}

/** A value inside a log message: strings as they are, errors by their message, the rest inspected. */
function renderValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return value.message;
  return Deno.inspect(value);
}

/** One JSON object per line: time, level, logger, the rendered message, and its properties. */
function formatJsonLine(record: LogRecord): string {
  const message = record.message.map((part, i) => i % 2 === 0 ? part : renderValue(part)).join("");
  const properties: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record.properties)) {
    properties[key] = value instanceof Error ? value.message : value;
  }
  return JSON.stringify({
    time: new Date(record.timestamp).toISOString(),
    level: record.level,
    logger: record.category.join("."),
    message,
    ...properties,
  }) + "\n";
}
