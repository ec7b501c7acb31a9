/**
 * Each option's value and where it came from, in the order flag > environment > config file >
 * default, read as the option table says, with errors that name the source. Pure: the flags,
 * the environment and the file's contents are passed in.
 *
 * @module
 */
import type { ConfigFile } from "./config_file.ts";
import { envName, fileKey, type Kind, OPTIONS, type OptionSpec } from "./options.ts";
import {
  ConfigError,
  type ListenAddress,
  parseDuration,
  parseInteger,
  parseListenAddress,
  parseSize,
} from "./units.ts";

/** Where a value came from. */
export type Origin =
  | { readonly from: "flag" }
  | { readonly from: "env"; readonly name: string }
  | { readonly from: "file"; readonly path: string; readonly line: number | null }
  | { readonly from: "default" };

/** A value as a source gave it: text from flags and the environment, TOML values from a file. */
export type RawValue = string | boolean | number | readonly unknown[] | Record<string, unknown>;

/** One option's value and its origin. */
export interface Setting {
  readonly option: OptionSpec;
  readonly raw: RawValue | null;
  readonly origin: Origin;
}

/** The flags as `parseArgs` gave them, by long name. */
export type FlagValues = Readonly<
  Record<string, string | boolean | (string | boolean)[] | undefined>
>;

/** How an origin reads in a message: `--tcp`, `LOGGLY_RELAY_TCP`, `inputs.tcp in FILE line 3`. */
export function describeOrigin(option: OptionSpec, origin: Origin): string {
  switch (origin.from) {
    case "flag":
      return `--${option.flag}`;
    case "env":
      return origin.name;
    case "file":
      return `${option.section}.${fileKey(option)} in ${origin.path}` +
        (origin.line === null ? "" : ` line ${origin.line}`);
    case "default":
      return `the default of --${option.flag}`;
  }
}

/** The values of every option, from the sources in order of precedence. */
export class Settings {
  readonly #settings = new Map<string, Setting>();

  constructor(
    flags: FlagValues,
    env: (name: string) => string | undefined,
    file: ConfigFile | null,
  ) {
    for (const option of OPTIONS) {
      this.#settings.set(option.flag, resolve(option, flags, env, file));
    }
  }

  /** The setting of `flag` (a flag of the option table). */
  get(flag: string): Setting {
    const setting = this.#settings.get(flag);
    if (setting === undefined) throw new Error(`No option --${flag} in the option table`);
    return setting;
  }

  /** Every setting, in the table's order. */
  all(): Setting[] {
    return [...this.#settings.values()];
  }

  /** True when the value was given (by a flag, the environment or the file), not defaulted. */
  given(flag: string): boolean {
    const setting = this.get(flag);
    return setting.origin.from !== "default" && setting.raw !== null;
  }

  /** True when `flag`'s value came from a source above `other`'s (flag > env > file). */
  outranks(flag: string, other: string): boolean {
    return RANK[this.get(flag).origin.from] < RANK[this.get(other).origin.from];
  }

  /**
   * True when given with a value other than the default (for options that need another); an
   * empty list, as `tokens = []` uncommented from --dump-config, is the default.
   */
  changed(flag: string): boolean {
    const { raw, option } = this.get(flag);
    if (Array.isArray(raw) && raw.length === 0) return false;
    return this.given(flag) && String(raw) !== option.default;
  }

  /** How the value's origin reads in a message. */
  label(flag: string): string {
    const setting = this.get(flag);
    return describeOrigin(setting.option, setting.origin);
  }

  text(flag: string): string | null {
    const { raw } = this.#expect(flag, "text", ["string"]);
    return raw === null ? null : String(raw);
  }

  list(flag: string): string[] {
    const setting = this.#expect(flag, "list", ["string", "array"]);
    const raw = setting.raw;
    if (raw === null) return [];
    if (typeof raw === "string") {
      // Repeated flags come as arrays; the environment gives one comma-separated string.
      if (setting.origin.from === "env") {
        return raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
      }
      if (setting.origin.from === "file") {
        throw new ConfigError(`${this.label(flag)} is a string: expected ${expectedForm(LIST)}`);
      }
      return [raw];
    }
    const items = raw as readonly unknown[];
    if (!items.every((item) => typeof item === "string")) {
      throw new ConfigError(`${this.label(flag)} must be a list of strings, e.g. ["a", "b"]`);
    }
    return items as string[];
  }

  switch(flag: string): boolean {
    const { raw } = this.#expect(flag, "switch", ["boolean", "string"]);
    if (raw === null) return false;
    if (typeof raw === "boolean") return raw;
    const text = String(raw).trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(text)) return true;
    if (["0", "false", "no", "off", ""].includes(text)) return false;
    throw new ConfigError(`${this.label(flag)} "${raw}" is not a switch: use true or false`);
  }

  /** A count of `-v` flags, or a number from the environment or the file. */
  level(flag: string): number {
    const { raw } = this.#expect(flag, "level", ["number", "string", "array"]);
    if (raw === null) return 0;
    if (Array.isArray(raw)) return raw.length; // -v -v
    return parseInteger(this.label(flag), String(raw), 0, 9);
  }

  size(flag: string): number {
    const setting = this.#expect(flag, "size", ["number", "string"]);
    const kind = setting.option.kind as Extract<Kind, { type: "size" }>;
    const raw = String(setting.raw);
    const n = parseSize(this.label(flag), raw);
    if (n < kind.min || n > kind.max) {
      throw new ConfigError(
        `${this.label(flag)} "${raw}" must be from ${kind.min} to ${kind.max} bytes`,
      );
    }
    return n;
  }

  duration(flag: string): number {
    const { raw } = this.#expect(flag, "duration", ["number", "string"]);
    return parseDuration(this.label(flag), String(raw));
  }

  count(flag: string): number | null {
    const setting = this.#expect(flag, "count", ["number", "string"]);
    const kind = setting.option.kind as Extract<Kind, { type: "count" }>;
    if (setting.raw === null) return null;
    return parseInteger(this.label(flag), String(setting.raw), kind.min, kind.max);
  }

  choice(flag: string): string {
    const setting = this.#expect(flag, "choice", ["string", "number"]);
    const kind = setting.option.kind as Extract<Kind, { type: "choice" }>;
    const value = String(setting.raw);
    if (!kind.values.includes(value)) {
      const last = kind.values[kind.values.length - 1];
      throw new ConfigError(
        `${this.label(flag)} "${value}" is not known: use ` +
          `${kind.values.slice(0, -1).join(", ")} or ${last}`,
      );
    }
    return value;
  }

  /** An address to listen on; null when off. `defaultPort` for a value that names none. */
  address(flag: string, defaultPort?: number): ListenAddress | null {
    const setting = this.#expect(flag, "address", ["string", "number"]);
    const kind = setting.option.kind as Extract<Kind, { type: "address" }>;
    if (setting.raw === null) return null;
    return parseListenAddress(
      this.label(flag),
      String(setting.raw),
      kind.host,
      kind.port ?? defaultPort,
    );
  }

  #expect(flag: string, type: Kind["type"], forms: string[]): Setting {
    const setting = this.get(flag);
    if (setting.option.kind.type !== type) {
      throw new Error(`--${flag} is a ${setting.option.kind.type} option, not a ${type}`);
    }
    const raw = setting.raw;
    const form = raw === null
      ? "null"
      : Array.isArray(raw)
      ? "array"
      : raw instanceof Date
      ? "date"
      : typeof raw;
    if (raw !== null && !forms.includes(form)) {
      throw new ConfigError(
        `${this.label(flag)} is ${article(form)}: expected ${expectedForm(setting.option.kind)}`,
      );
    }
    return setting;
  }
}

const LIST: Kind = { type: "list" };
const RANK: Record<Origin["from"], number> = { flag: 0, env: 1, file: 2, default: 3 };

function resolve(
  option: OptionSpec,
  flags: FlagValues,
  env: (name: string) => string | undefined,
  file: ConfigFile | null,
): Setting {
  const flag = flags[option.flag];
  if (flag !== undefined && !(Array.isArray(flag) && flag.length === 0)) {
    return { option, raw: flag, origin: { from: "flag" } };
  }
  if (option.section !== null) {
    for (const name of [envName(option), option.alsoEnv]) {
      const value = name === undefined ? undefined : env(name);
      // An empty variable counts as unset, as shells and unit files often leave them.
      if (value !== undefined && value !== "") {
        return { option, raw: value, origin: { from: "env", name: name! } };
      }
    }
    const entry = file?.get(option.section, fileKey(option));
    if (entry !== undefined) {
      return {
        option,
        raw: entry.value,
        origin: { from: "file", path: file!.path, line: entry.line },
      };
    }
  }
  return { option, raw: option.default, origin: { from: "default" } };
}

function article(form: string): string {
  return form === "array" ? "a list" : form === "object" ? "a table" : `a ${form}`;
}

/** How a value of this kind is written, for a message about a value of the wrong type. */
export function expectedForm(kind: Kind): string {
  switch (kind.type) {
    case "text":
      return 'a string in quotes, e.g. "/etc/loggly-relay/token"';
    case "list":
      return 'a list of strings, e.g. ["a", "b"]';
    case "switch":
      return "true or false";
    case "level":
      return "a number from 0 to 9";
    case "size":
      return 'a number of bytes or a string like "64KiB", "5MB"';
    case "duration":
      return 'a number of seconds or a string like "500ms", "10s", "5m"';
    case "count":
      return "a whole number";
    case "choice":
      return `one of ${kind.values.map((v) => `"${v}"`).join(", ")}`;
    case "address":
      return 'a string like "0.0.0.0:5140", or "off"';
  }
}
