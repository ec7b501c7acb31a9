/** Placeholder that stands where a secret was. */
export const REDACTED = "[REDACTED]";

// Loggly puts the token in the path after /bulk/ or /inputs/; hide whatever stands there.
const TOKEN_IN_PATH = /\/(bulk|inputs)\/[^/\s?#"']+/g;

const UUID_ANYWHERE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/**
 * Hides anything shaped like a Loggly token (a UUID) and any token inside a Loggly URL: for text
 * built from what a user typed, where a token may stand in the wrong place.
 */
export function redactTokenLike(text: string): string {
  return text.replace(TOKEN_IN_PATH, `/$1/${REDACTED}`).replace(UUID_ANYWHERE, REDACTED);
}

/** Returns a function that hides the given secrets, and any token inside a Loggly URL, in text. */
export function makeRedactor(secrets: readonly (string | null)[]): (text: string) => string {
  const known = secrets.filter((s): s is string => typeof s === "string" && s.length > 0);
  return (text: string): string => {
    let out = text.replace(TOKEN_IN_PATH, `/$1/${REDACTED}`);
    for (const secret of known) out = out.replaceAll(secret, REDACTED);
    return out;
  };
}
