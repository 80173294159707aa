// Shared fixtures of the fs suites: temp workspaces, error-code assertions, and sentinels that
// notice any read (atime) or write (size/mtime/ctime/inode) outside the workspace.
import { lstatSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";

export interface Scratch {
  /** Temp directory holding the workspace root and everything "outside" it. */
  base: string;
  /** The workspace root. */
  ws: string;
  cleanup: () => void;
}

export function scratch(prefix = "deskless-fs-"): Scratch {
  const base = mkdtempSync(join(tmpdir(), prefix));
  const ws = join(base, "ws");
  mkdirSync(ws);
  return { base, ws, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

/** A temp file of the core's replacements (`.<name>.deskless-<pid>-<n>.tmp`, native/fs/src/replace.rs). */
export function isReplacementTemp(name: string): boolean {
  return /^\..+\.deskless-\d+-\d+\.tmp$/.test(name);
}

/** The `code` an operation failed with; fails the test if it succeeded. */
export function syncCode(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return String((error as { code?: unknown }).code);
  }
  expect.fail("expected the operation to throw");
}

export async function asyncCode(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    return String((error as { code?: unknown }).code);
  }
  expect.fail("expected the operation to reject");
}

/** The thrown error itself (with code and message); fails the test if nothing was thrown. */
export async function rejection(run: () => Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await run();
  } catch (error) {
    return error as Error & { code?: string };
  }
  expect.fail("expected the operation to reject");
}

// Timestamps with atime < mtime: under relatime (and strictatime) the next read of the file, or
// listing of the directory, moves atime forward. lstat itself never changes them.
const OLD_ATIME = new Date("2001-01-01T00:00:00Z");
const OLD_MTIME = new Date("2002-01-01T00:00:00Z");

export interface Sentinels {
  /** Host paths (files and directories) watched for reads and writes. */
  paths: string[];
  /** Content of the sentinel files (the same text in each). */
  secret: string;
  /** The snapshot taken after setup; compare with `snapshot()` later. */
  before: string;
  snapshot: () => string;
}

/**
 * Creates `outside/secret.txt`, `outside/sub/deep.txt` and `secret-parent.txt` next to the
 * workspace, with atime older than mtime on every file and directory, and snapshots them.
 */
export function plantSentinels(base: string): Sentinels {
  const secret = "TOP SECRET: outside the workspace\n";
  const outside = join(base, "outside");
  const files = [join(outside, "secret.txt"), join(outside, "sub", "deep.txt"), join(base, "secret-parent.txt")];
  mkdirSync(join(outside, "sub"), { recursive: true });
  for (const file of files) writeFileSync(file, secret);
  const paths = [...files, join(outside, "sub"), outside, base];
  for (const path of paths) utimesSync(path, OLD_ATIME, OLD_MTIME);
  const snapshot = (): string =>
    JSON.stringify(
      paths.map((path) => {
        const s = lstatSync(path, { bigint: true });
        return [path, String(s.ino), String(s.size), String(s.atimeNs), String(s.mtimeNs), String(s.ctimeNs), String(s.nlink)];
      }),
    );
  return { paths, secret, before: snapshot(), snapshot };
}
