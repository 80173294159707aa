// What a script may see of the environment. CI keeps its tokens there, so a script sees only a
// short list of harmless variables, plus what the user allows by name or sets. RunMat's native
// `getenv` reads the process environment itself, so the direct engine applies this view to the
// process for as long as its session is open.

/** Visible to every script: locale, time zone, terminal type, and whether this is CI. */
export const ALWAYS_VISIBLE = ["LANG", "LANGUAGE", "LC_*", "TZ", "TERM", "CI"];

/** deskless's and Node's own configuration: read before a script starts, never matched by a glob. */
const OWN_CONFIGURATION = /^(DESKLESS_|NODE_)/;

export interface EnvironmentPolicy {
  /** Names to pass through from the environment; `*` matches any run of characters. */
  allowEnv?: string[];
  /** Variables set for the script, over anything passed through. */
  setEnv?: Record<string, string>;
}

function matcher(pattern: string): (name: string) => boolean {
  if (!pattern.includes("*")) return (name) => name === pattern;
  const source = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*");
  const regex = new RegExp(`^${source}$`);
  return (name) => regex.test(name) && !OWN_CONFIGURATION.test(name);
}

/** The variables a script sees, taken from `from` (the process environment by default). */
export function scriptEnvironment(policy: EnvironmentPolicy, from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const visible = [...ALWAYS_VISIBLE, ...(policy.allowEnv ?? [])].map(matcher);
  const view: Record<string, string> = {};
  for (const [name, value] of Object.entries(from)) {
    if (value !== undefined && visible.some((matches) => matches(name))) view[name] = value;
  }
  return { ...view, ...policy.setEnv };
}

/** Replaces the process environment with `view`; the returned function puts the old one back. */
export function applyEnvironment(view: Record<string, string>): () => void {
  const saved = { ...process.env };
  replaceEnvironment(view);
  return () => replaceEnvironment(saved);
}

function replaceEnvironment(next: NodeJS.ProcessEnv): void {
  for (const name of Object.keys(process.env)) {
    if (!(name in next)) delete process.env[name];
  }
  for (const [name, value] of Object.entries(next)) {
    if (value !== undefined && process.env[name] !== value) process.env[name] = value;
  }
}

/** Parses `NAME=VALUE` (the CLI's `--env`); returns undefined when there is no `=` or no name. */
export function parseAssignment(text: string): [string, string] | undefined {
  const equals = text.indexOf("=");
  if (equals <= 0) return undefined;
  return [text.slice(0, equals), text.slice(equals + 1)];
}

/**
 * RunMat 0.6.2's wasm runtime never sees the process environment: it keeps its own fixed one
 * (HOME=/, PATH=/, USER=user), and its setenv panics, so nothing can be passed in.
 */
export const WASM_ENVIRONMENT_FIXED =
  "--allow-env and --env apply to the direct engine: RunMat's wasm runtime keeps its own fixed environment (HOME=/, PATH=/, USER=user) and cannot take variables";
