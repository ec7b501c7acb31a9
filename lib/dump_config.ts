/**
 * `--dump-config`: a config file of every option at its default, commented out and explained,
 * derived from the option table, ready to copy to /etc/loggly-relay/config.toml and edit.
 *
 * @module
 */
import { envName, fileKey, type Kind, OPTIONS, type OptionSpec } from "./options.ts";

/** The commented config file. */
export function dumpConfig(): string {
  const out = [
    "# loggly-relay configuration (TOML). Every setting is shown at its default, commented out:",
    '# remove the "# " before a key to set it. A command-line flag (--queue-max-events) or a',
    "# variable (LOGGLY_RELAY_QUEUE_MAX_EVENTS) overrides what this file says.",
    "# Check an edited file with: loggly-relay check-config --config FILE",
  ];
  let section: string | null = null;
  for (const option of OPTIONS) {
    if (option.section === null) continue;
    if (option.section !== section) {
      section = option.section;
      out.push("", `[${section}]`);
    }
    out.push(
      ...comment(`${option.help} (--${option.flag}, ${envName(option)})`),
      `# ${fileKey(option)} = ${tomlValue(option)}`,
    );
  }
  return out.join("\n") + "\n";
}

/** Text as comment lines of at most 100 characters. */
function comment(text: string): string[] {
  const lines: string[] = [];
  let line = "#";
  for (const word of text.split(" ")) {
    if (line.length > 1 && line.length + 1 + word.length > 100) {
      lines.push(line);
      line = "#";
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines;
}

/** The default in TOML, or an example of the form for an option that is unset by default. */
function tomlValue(option: OptionSpec): string {
  const value = option.default;
  if (value === null) return example(option.kind, option.arg);
  switch (option.kind.type) {
    case "switch":
      return value;
    case "level":
    case "count":
      return value;
    case "list":
      return "[]";
    default:
      return JSON.stringify(value);
  }
}

function example(kind: Kind, arg: string | undefined): string {
  switch (kind.type) {
    case "list":
      return "[]";
    case "count":
      return "5140";
    case "address":
      return JSON.stringify(`${kind.host}:${kind.port ?? 5140}`);
    default:
      return JSON.stringify(
        arg === "TOKEN"
          ? "YOUR-CUSTOMER-TOKEN"
          : arg === "DIR"
          ? "/var/lib/loggly-relay/spool"
          : `/path/to/${(arg ?? "value").toLowerCase()}`,
      );
  }
}
