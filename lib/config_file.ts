/**
 * The config file: TOML (comments, no indentation rules, what Vector and many services use),
 * one table per part of the configuration, keys as the option table names them. Unknown tables
 * and keys are errors naming the line and the nearest valid key. Pure: the text is passed in.
 *
 * @module
 */
import { parse, TomlError } from "smol-toml";
import { fileKey, OPTIONS, type Section } from "./options.ts";
import { ConfigError } from "./units.ts";

/** A value of the file and the line that set it (null when it cannot be told). */
export interface FileEntry {
  readonly value: string | boolean | number | readonly unknown[] | Record<string, unknown>;
  readonly line: number | null;
}

/** A read, checked config file. */
export interface ConfigFile {
  readonly path: string;
  get(section: Section, key: string): FileEntry | undefined;
}

/** Every valid `section.key` of the file. */
export function fileKeys(): string[] {
  return OPTIONS.filter((o) => o.section !== null).map((o) => `${o.section}.${fileKey(o)}`);
}

/** Parses and checks the config file at `path` whose contents are `text`. */
export function parseConfigFile(path: string, text: string): ConfigFile {
  let data: Record<string, unknown>;
  try {
    data = parse(text) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlError) {
      const what = error.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
      throw new ConfigError(
        `${path} line ${error.line} is not valid TOML (${what}): see --dump-config for the form`,
      );
    }
    throw error;
  }
  const lines = keyLines(text);
  const valid = new Set(fileKeys());
  const sections = new Set(OPTIONS.map((o) => o.section).filter((s) => s !== null));
  const entries = new Map<string, FileEntry>();
  for (const [section, table] of Object.entries(data)) {
    const tableLine = lines.get(section) ?? lines.get(`.${section}`) ?? null;
    if (Array.isArray(table) && table.every(isTable)) {
      throw new ConfigError(
        `${where(path, tableLine)}: [[${section}]] is a list of tables: write [${section}] once`,
      );
    }
    if (!sections.has(section as Section) || !isTable(table)) {
      const line = tableLine;
      const home = OPTIONS.find((o) => o.section !== null && fileKey(o) === section);
      if (home !== undefined && !isTable(table)) {
        throw new ConfigError(
          `${where(path, line)}: "${section}" belongs in a table: write it under [${home.section}]`,
        );
      }
      throw new ConfigError(
        `${where(path, line)}: "${section}" is not a table of settings: ` +
          `${nearestHint(section, [...sections] as string[])}use [${[...sections].join("], [")}]`,
      );
    }
    for (const [key, value] of Object.entries(table)) {
      const name = `${section}.${key}`;
      // A key of an inline table or of a [section.sub] header: the line that opened it.
      const line = lines.get(name) ?? lines.get(`.${name}`) ?? tableLine;
      if (!valid.has(name)) {
        const home = OPTIONS.find((o) => o.section !== null && fileKey(o) === key);
        if (home !== undefined) {
          throw new ConfigError(
            `${where(path, line)}: "${key}" belongs in [${home.section}], not [${section}]: ` +
              `move it there`,
          );
        }
        throw new ConfigError(
          `${where(path, line)}: unknown key "${key}" in [${section}]: ` +
            `${nearestHint(name, [...valid])}see --dump-config for every key`,
        );
      }
      entries.set(name, { value: value as FileEntry["value"], line });
    }
  }
  return { path, get: (section, key) => entries.get(`${section}.${key}`) };
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Date);
}

function where(path: string, line: number | null): string {
  return line === null ? path : `${path} line ${line}`;
}

function nearestHint(name: string, candidates: string[]): string {
  const nearest = nearestOf(name, candidates);
  return nearest === null ? "" : `did you mean "${nearest}"? `;
}

/** The candidate closest to `name` by edit distance, if it is close enough to be a typo. */
export function nearestOf(name: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * The line of each `section.key` and of each `[section]` header (as `.section`), found by a
 * scan of the text: TOML parsers give values, not where they were.
 */
function keyLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  let table = "";
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    // [inputs], [ "inputs" ], [inputs.tls], [[inputs]]
    const header = /^\[\[?([^\]]+)\]\]?/.exec(line);
    if (header) {
      table = header[1].split(".").map((part) => part.trim().replace(/^(["'])(.*)\1$/, "$2"))
        .join(".");
      if (!lines.has(`.${table}`)) lines.set(`.${table}`, index + 1);
      return;
    }
    const key = /^["']?([A-Za-z0-9_.-]+?)["']?\s*=/.exec(line);
    if (!key) return;
    const name = table === "" ? key[1] : `${table}.${key[1]}`;
    if (!lines.has(name)) lines.set(name, index + 1);
    if (table === "" && !key[1].includes(".") && !lines.has(key[1])) lines.set(key[1], index + 1);
  });
  return lines;
}
