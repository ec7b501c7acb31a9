/** The relay's version, printed by `--version` and sent as the User-Agent. */
export const VERSION = "0.1.0";
