// Shared pieces of the wasm engine suites: where the runmat-fake package lives and its test hooks.
import { cpSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const FAKE_DIR = fileURLToPath(new URL("../fixtures/runmat-fake", import.meta.url));

export interface FakeHooks {
  __fake: {
    inits: Array<Record<string, unknown>>;
    providerCalls: Array<{ op: string; args: unknown[] }>;
    errorsInResult: boolean;
    addpath: string[][];
  };
  __listenerCount(): number;
}

/** The fake module instance the engine loads (same URL, so the same module and the same hooks). */
export async function fakeHooks(): Promise<FakeHooks> {
  return (await import(pathToFileURL(join(FAKE_DIR, "index.js")).href)) as FakeHooks;
}

/** Installs a copy of the fake as <dir>/node_modules/<name>, as npm would. */
export function installFake(dir: string, name: string): string {
  const target = join(dir, "node_modules", ...name.split("/"));
  mkdirSync(join(target, ".."), { recursive: true });
  cpSync(FAKE_DIR, target, { recursive: true });
  return target;
}
