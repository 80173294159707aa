// Fixtures for the FsBindings suites: temp workspaces, upstream's not-found rule, error capture,
// and sentinel files outside the workspace that notice any read (atime) or write.
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";

export interface Scratch {
  /** Temp folder holding the roots and everything "outside" them. */
  base: string;
  /** First root: the runtime's "/". */
  ws: string;
  /** Second root: "/data" in the virtual space. */
  data: string;
  cleanup: () => void;
}

export function scratch(prefix = "deskless-bindings-"): Scratch {
  const base = mkdtempSync(join(tmpdir(), prefix));
  const ws = join(base, "ws");
  const data = join(base, "data");
  mkdirSync(ws);
  mkdirSync(data);
  return { base, ws, data, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

/**
 * RunMat's own decision (crates/runmat-wasm runtime/filesystem/convert.rs, is_not_found_error):
 * a thrown string containing "notfound", or an object whose `code` equals "notfound" or whose `name`
 * equals "notfounderror", ASCII case-insensitively. Nothing else counts, Node's ENOENT included.
 */
export function upstreamIsNotFound(err: unknown): boolean {
  if (typeof err === "string") return err.toLowerCase().includes("notfound");
  if (err !== null && (typeof err === "object" || typeof err === "function")) {
    const { code, name } = err as { code?: unknown; name?: unknown };
    if (typeof code === "string" && code.toLowerCase() === "notfound") return true;
    if (typeof name === "string" && name.toLowerCase() === "notfounderror") return true;
  }
  return false;
}

/** The thrown value of a synchronous call; fails the test if nothing was thrown. */
export function thrown(run: () => unknown): Error & { code?: string; path?: string; op?: string } {
  try {
    run();
  } catch (error) {
    return error as Error & { code?: string };
  }
  expect.fail("expected the call to throw");
}

export function codeOf(run: () => unknown): string | undefined {
  return thrown(run).code;
}

/** A value is a synchronous answer: not a Promise and not a thenable. */
export function expectSync(value: unknown): void {
  expect(value).not.toBeInstanceOf(Promise);
  expect(typeof (value as { then?: unknown } | null)?.then).not.toBe("function");
}

export function text(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
}

// atime older than mtime: under relatime (and strictatime) the next read moves atime forward.
const OLD_ATIME = new Date("2001-01-01T00:00:00Z");
const OLD_MTIME = new Date("2002-01-01T00:00:00Z");

export interface Sentinels {
  secret: string;
  files: string[];
  outside: string;
  /** Fails the test if any sentinel was read, written, replaced or listed since planting. Call once, last. */
  expectUntouched: () => void;
}

/** Plants base/outside/secret.txt, base/outside/sub/deep.txt and base/secret-parent.txt. */
export function plantSentinels(base: string): Sentinels {
  const secret = "SENTINEL: outside the workspace\n";
  const outside = join(base, "outside");
  const files = [join(outside, "secret.txt"), join(outside, "sub", "deep.txt"), join(base, "secret-parent.txt")];
  mkdirSync(join(outside, "sub"), { recursive: true });
  for (const file of files) writeFileSync(file, secret);
  const watched = [...files, join(outside, "sub"), outside];
  for (const path of watched) utimesSync(path, OLD_ATIME, OLD_MTIME);
  const snapshot = (): string =>
    JSON.stringify(
      watched.map((path) => {
        const s = lstatSync(path, { bigint: true });
        return [path, String(s.ino), String(s.size), String(s.atimeNs), String(s.mtimeNs), String(s.ctimeNs), String(s.nlink)];
      }),
    );
  const before = snapshot();
  return {
    secret,
    files,
    outside,
    expectUntouched: () => {
      expect(snapshot()).toBe(before);
      // Reading the content moves atime, so compare content only after the snapshot.
      for (const file of files) expect(readFileSync(file, "utf8")).toBe(secret);
    },
  };
}
