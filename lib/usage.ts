/**
 * The `--help` text, derived from the option table: one line (or a few, wrapped) per option,
 * with its default, in the table's sections.
 *
 * @module
 */
import { envName, fileKey, OPTIONS, type OptionSpec, SECTION_TITLES } from "./options.ts";
import { VERSION } from "./version.ts";

const WIDTH = 100;
const COLUMN = 29;

/** The help text. */
export function usage(): string {
  const out = [
    `loggly-relay ${VERSION}: receive syslog (UDP, TCP, TLS) and HTTP events and forward them`,
    "to Loggly in batches, with retries and an optional spool on disk.",
    "",
    "Usage: loggly-relay --token TOKEN [options]",
    "       loggly-relay check-config [options]   validate, print the effective settings, exit",
    "       loggly-relay install-service [options] write a systemd unit that runs it so",
    "       loggly-relay status [--once|--json]   the running relay's status, every second",
    "       loggly-relay test-send [options]      send one test event: is the token right?",
    "       loggly-relay --dump-config            print a config file of every default",
  ];
  const sections = [...new Set(OPTIONS.map((o) => o.section ?? "command"))];
  for (const section of sections) {
    out.push("", SECTION_TITLES[section]);
    for (const option of OPTIONS.filter((o) => (o.section ?? "command") === section)) {
      out.push(...optionLines(option));
    }
  }
  out.push(
    "",
    "DUR is 500ms, 10s, 5m or a number of seconds; SIZE is bytes, or 64KiB, 5MB, 1GiB.",
    "All but the command-line-only options are also read from the environment, as LOGGLY_RELAY_",
    `and the flag (e.g. ${envName(OPTIONS[4])}), and from the config file, as the key of its`,
    `table (e.g. [${OPTIONS[4].section}] ${fileKey(OPTIONS[4])}). A flag beats the environment, ` +
      "which beats the file. LOGGLY_RELAY_CONFIG",
    "names the config file, and LOGGLY_TOKEN is read after LOGGLY_RELAY_TOKEN.",
  );
  return out.join("\n") + "\n";
}

function optionLines(option: OptionSpec): string[] {
  const short = option.short ? `-${option.short}, ` : "    ";
  const arg = option.arg ? ` ${option.arg}` : "";
  const head = `  ${short}--${option.flag}${arg}`;
  const shown = option.default !== null && option.kind.type !== "switch" &&
      option.kind.type !== "level"
    ? ` (default ${option.default})`
    : "";
  const words = `${option.help}${shown}`.split(" ");
  const lines: string[] = [];
  let line = head.length < COLUMN ? head.padEnd(COLUMN) : `${head} `;
  let empty = true;
  for (const word of words) {
    if (!empty && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = " ".repeat(COLUMN);
      empty = true;
    }
    line += (empty ? "" : " ") + word;
    empty = false;
  }
  lines.push(line);
  return lines;
}
