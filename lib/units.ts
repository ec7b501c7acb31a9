/**
 * Pure parsers for the units the CLI accepts: durations, byte sizes, listen addresses, tags.
 *
 * @module
 */
import { redactTokenLike } from "./redact.ts";

/**
 * A bad value given on the command line, in the environment or in a config file. The message
 * never carries a token: a token typed where a path or URL belongs is redacted.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(redactTokenLike(message));
    this.name = "ConfigError";
  }
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `500ms`, `10s`, `5m`, `1h` or a plain number of seconds into milliseconds. */
export function parseDuration(flag: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!match) {
    throw new ConfigError(
      `${flag} "${value}" is not a duration: use a number of seconds or a value like 500ms, 10s, 5m`,
    );
  }
  const ms = Math.round(Number(match[1]) * DURATION_UNITS[match[2] ?? "s"]);
  if (ms > MAX_DURATION_MS) {
    // Timers cannot wait longer: a larger value would fire at once instead.
    throw new ConfigError(`${flag} "${value}" is too long: the longest is 24 days (576h)`);
  }
  return ms;
}

/** The longest timer JavaScript can set (2^31 - 1 ms, about 24.8 days). */
export const MAX_DURATION_MS = 2 ** 31 - 1;

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** Parses `65536`, `64KiB`, `5MB`, `1GiB` into bytes (KB/MB are powers of 1000, KiB/MiB of 1024). */
export function parseSize(flag: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = match?.[2].toLowerCase() ?? "";
  if (!match || !(unit in SIZE_UNITS)) {
    throw new ConfigError(
      `${flag} "${value}" is not a size: use a number of bytes or a value like 64KiB, 5MB, 1GiB`,
    );
  }
  return Math.floor(Number(match[1]) * SIZE_UNITS[unit]);
}

/** Bytes as people read them: `212992 bytes (208 KiB)`, `8 MiB`. */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    if (bytes >= size) {
      const value = bytes / size;
      const text = `${Number.isInteger(value) ? value : value.toFixed(1)} ${unit}`;
      return Number.isInteger(value) ? text : `${bytes} bytes (${text})`;
    }
  }
  return `${bytes} bytes`;
}

/** Parses a whole number within [min, max]. */
export function parseInteger(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`${flag} "${value}" must be a whole number from ${min} to ${max}`);
  }
  return n;
}

/** A host and port to listen on. */
export interface ListenAddress {
  hostname: string;
  port: number;
}

/**
 * Parses `HOST:PORT`, `[IPv6]:PORT`, `:PORT` or `PORT` (all interfaces); `off` gives null.
 * A bare host takes `defaultPort`.
 */
export function parseListenAddress(
  flag: string,
  value: string,
  defaultHost: string,
  defaultPort?: number,
): ListenAddress | null {
  const v = value.trim();
  if (v === "off") return null;
  let host: string;
  let port: string;
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::(\d*))?$/.exec(v);
  if (bracketed) {
    host = bracketed[1];
    port = bracketed[2] ?? "";
  } else if (/^\d+$/.test(v)) {
    host = "";
    port = v;
  } else {
    const colon = v.lastIndexOf(":");
    if (colon !== v.indexOf(":")) {
      throw new ConfigError(`${flag} "${value}" is ambiguous: write an IPv6 address as [::]:5140`);
    }
    host = colon < 0 ? v : v.slice(0, colon);
    port = colon < 0 ? "" : v.slice(colon + 1);
  }
  if (port === "" && defaultPort === undefined) {
    throw new ConfigError(`${flag} "${value}" has no port: use HOST:PORT, e.g. 0.0.0.0:5140`);
  }
  const portNumber = port === "" ? defaultPort! : Number(port);
  if (!/^\d*$/.test(port) || portNumber > 65535) {
    throw new ConfigError(`${flag} "${value}" has a bad port: use a number from 0 to 65535`);
  }
  if (host !== "" && !/^[A-Za-z0-9.:_-]+$/.test(host)) {
    throw new ConfigError(`${flag} "${value}" has a bad host: use an IP address or a host name`);
  }
  return { hostname: host === "" ? defaultHost : host, port: portNumber };
}

/** Formats an address for logs, bracketing IPv6. */
export function formatAddress(address: ListenAddress): string {
  const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
  return `${host}:${address.port}`;
}

const TAG = /^[A-Za-z0-9._-]+$/;

/**
 * Most distinct tags one event may carry, --tag's included. Tags travel in the request's URL,
 * and Loggly publishes no limit of its own: this keeps that URL under 5 KB, well within what
 * HTTP front ends accept (8 KB is common), so that no batch is ever refused for its tags.
 */
export const MAX_TAGS = 64;
/** Longest tag, in characters. */
export const MAX_TAG_LENGTH = 64;

/** True when `tag` is one Loggly accepts: letters, digits, `-`, `.`, `_`. */
export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}
