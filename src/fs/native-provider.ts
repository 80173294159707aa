// The one place a native file provider is made, whichever face uses it (FileProvider, FsBindings,
// the direct engine, a test worker), and the one log of the slower paths it falls back to. The
// engine addon carries its own copy of the provider class (a session needs a provider of its own
// addon), so the addon to make it from is a parameter.
import type { FsErrorCode } from "../../native/node/index.js";
import { log } from "../log.js";
import { native, type NativeAddon } from "../native.js";

export type NativeFileProvider = InstanceType<NativeAddon["FileProvider"]>;
export type NativeProviderOptions = ConstructorParameters<NativeAddon["FileProvider"]>[0];
export type NativeProviderStats = ReturnType<NativeFileProvider["stats"]>;
/** The stable `code`s of the provider's errors, as the Rust core lists them. */
export type NativeErrorCode = `${FsErrorCode}`;

interface ProviderClass<P> {
  FileProvider: new (options: NativeProviderOptions) => P;
}

const reported = new WeakMap<object, Set<string>>();

function reportedFor(provider: object): Set<string> {
  let seen = reported.get(provider);
  if (!seen) reported.set(provider, (seen = new Set()));
  return seen;
}

/** Makes a provider (from the core addon unless another is given) and logs any fallback it took at once. */
export function openNativeProvider<P extends Pick<NativeFileProvider, "stats"> = NativeFileProvider>(
  options: NativeProviderOptions,
  addon: ProviderClass<P> = native() as unknown as ProviderClass<P>,
): P {
  const provider = new addon.FileProvider(options);
  noteFallbacks(provider);
  return provider;
}

/** The workspace roots and the read-only roots of an engine session, as provider roots. */
export function sessionRoots(roots: readonly string[], readOnlyRoots: readonly string[] = []): NativeProviderOptions["roots"] {
  return [...roots.map((path) => ({ path })), ...readOnlyRoots.map((path) => ({ path, readOnly: true }))];
}

/** Counts the provider's fallbacks so far as reported, without a warning (for a caller that has already warned in its own words). */
export function markFallbacksReported(provider: Pick<NativeFileProvider, "stats">): void {
  const seen = reportedFor(provider);
  for (const name of provider.stats().fallbacks) seen.add(name);
}

/** The provider's counters, with one pino warning for each fallback name not reported before. */
export function noteFallbacks(provider: Pick<NativeFileProvider, "stats">): NativeProviderStats {
  const stats = provider.stats();
  const seen = reportedFor(provider);
  for (const name of stats.fallbacks) {
    if (seen.has(name)) continue;
    seen.add(name);
    log.warn({ fallback: name }, `file provider fell back to a slower path: ${name}`);
  }
  return stats;
}

let knownCodes: ReadonlySet<string> | undefined;

/** Is `code` one of the provider's stable error codes? */
export function isNativeErrorCode(code: unknown): code is NativeErrorCode {
  knownCodes ??= new Set<string>(native().fsErrorCodes());
  return typeof code === "string" && knownCodes.has(code);
}
