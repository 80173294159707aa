// `deskless fs ...` end to end: spawns `node bin/deskless.js` as users run it. bin/ runs dist/,
// which the suite's global setup (test/support/global-setup.ts) compiles before any test runs.
import { execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN } from "../support/cli.js";
import { isReplacementTemp, plantSentinels, scratch, type Scratch, type Sentinels } from "./helpers.js";

interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

function deskless(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "fs", ...args], { cwd, env: { ...process.env, DESKLESS_LOG_LEVEL: "warn" }, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
  });
}

function jsonLines(run: Run): Array<Record<string, unknown>> {
  return run.stdout
    .toString("utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** A refusal: exit 4, exactly one `deskless: ...` line on stderr, nothing on stdout. */
function expectRefused(run: Run): void {
  expect({ code: run.code, stdout: run.stdout.toString() }).toEqual({ code: 4, stdout: "" });
  expect(run.stderr).toMatch(/^deskless: [^\n]+\n$/);
}

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

let dir: Scratch;
let ws: string;
let tiny: string;
let tinyMounted = false;
let sentinels: Sentinels;
const binary = Buffer.from(Array.from({ length: 256 * 40 }, (_, i) => i % 256));
const big = randomBytes(20 * 1024 * 1024);

/** Names in the workspace root that look like temp files of an unfinished copy. */
function leftovers(root: string): string[] {
  return readdirSync(root).filter((name) => isReplacementTemp(name) || name.startsWith(".deskless-bench-"));
}

beforeAll(() => {
  dir = scratch("deskless-cli-");
  ws = dir.ws;
  writeFileSync(join(ws, "hello.txt"), "hello\n");
  writeFileSync(join(ws, "binary.dat"), binary);
  writeFileSync(join(ws, "big.bin"), big);
  mkdirSync(join(ws, "dir"));
  writeFileSync(join(ws, "dir", "nested.txt"), "nested\n");
  tiny = join(dir.base, "tiny");
  mkdirSync(tiny);
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", tiny]);
  tinyMounted = true;
  sentinels = plantSentinels(dir.base);
  symlinkSync(join(dir.base, "outside"), join(ws, "out-link"));
});

afterAll(() => {
  if (tinyMounted) execFileSync("umount", ["--lazy", tiny]);
  dir.cleanup();
});

describe("deskless fs stat", () => {
  it("prints metadata, and JSON (one object per path) with --json", async () => {
    const human = await deskless(["stat", "hello.txt"], ws);
    expect(human.code).toBe(0);
    expect(human.stdout.toString()).toMatch(/^hello\.txt: file, 6 bytes \(6 B\), modified \d{4}-\d\d-\d\dT[^\n]+\n$/);
    const json = await deskless(["stat", "hello.txt", "dir", "--json"], ws);
    expect(json.code).toBe(0);
    const [file, folder] = jsonLines(json);
    expect(file).toMatchObject({ path: "hello.txt", hostPath: join(ws, "hello.txt"), fileType: "file", len: 6, readonly: false });
    expect(typeof file!.modified).toBe("number");
    expect(folder).toMatchObject({ path: "dir", fileType: "dir" });
  });

  it("exits 1 with one line naming a missing path", async () => {
    const run = await deskless(["stat", "missing.txt"], ws);
    expect(run.code).toBe(1);
    expect(run.stdout.length).toBe(0);
    expect(run.stderr).toMatch(/^deskless: [^\n]*missing\.txt[^\n]*\n$/);
  });

  it("refuses paths outside the workspace with exit 4", async () => {
    expectRefused(await deskless(["stat", "../outside/secret.txt"], ws));
    expectRefused(await deskless(["stat", "hello.txt", join(dir.base, "outside", "secret.txt"), "--json"], ws));
    expectRefused(await deskless(["stat", "out-link/secret.txt"], ws));
    expect(sentinels.snapshot()).toBe(sentinels.before);
  });
});

describe("deskless fs ls", () => {
  it("lists a directory, sorted, with sizes; --json gives an array", async () => {
    const human = await deskless(["ls"], ws);
    expect(human.code).toBe(0);
    const lines = human.stdout.toString().trimEnd().split("\n");
    expect(lines.map((l) => l.split(" ").pop())).toEqual(["big.bin", "binary.dat", "dir/", "hello.txt", "out-link"]);
    expect(lines.find((l) => l.endsWith(" hello.txt"))).toMatch(/^- +6 hello\.txt$/);
    expect(lines.find((l) => l.endsWith("out-link"))).toMatch(/^l /);
    const json = await deskless(["ls", "dir", "--json", "--workspace", ws], dir.base);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout.toString())).toEqual([{ name: "nested.txt", path: "dir/nested.txt", fileType: "file", len: 7 }]);
  });

  it("refuses listing outside the workspace with exit 4", async () => {
    expectRefused(await deskless(["ls", ".."], ws));
    expectRefused(await deskless(["ls", "out-link", "--json"], ws));
    expect(sentinels.snapshot()).toBe(sentinels.before);
  });
});

describe("deskless fs cat", () => {
  it("writes the raw bytes of one or more files to stdout", async () => {
    const one = await deskless(["cat", "binary.dat"], ws);
    expect(one.code).toBe(0);
    expect(one.stdout.equals(binary)).toBe(true);
    const two = await deskless(["cat", "hello.txt", "binary.dat", "big.bin"], ws);
    expect(two.code).toBe(0);
    expect(sha256(two.stdout)).toBe(sha256(Buffer.concat([Buffer.from("hello\n"), binary, big])));
  });

  it("--json streams NDJSON records with base64 data and an end record per file", async () => {
    const run = await deskless(["cat", "binary.dat", "hello.txt", "--json"], ws);
    expect(run.code).toBe(0);
    const records = jsonLines(run);
    const data = (path: string): Buffer => Buffer.concat(records.filter((r) => r.event === "data" && r.path === path).map((r) => Buffer.from(r.base64 as string, "base64")));
    expect(data("binary.dat").equals(binary)).toBe(true);
    expect(data("hello.txt").toString()).toBe("hello\n");
    expect(records.filter((r) => r.event === "end")).toEqual([
      { event: "end", path: "binary.dat", bytes: binary.length },
      { event: "end", path: "hello.txt", bytes: 6 },
    ]);
  });

  it("refuses with exit 4 and writes nothing when any path is outside", async () => {
    expectRefused(await deskless(["cat", "hello.txt", "../outside/secret.txt"], ws));
    expectRefused(await deskless(["cat", "out-link/sub/deep.txt"], ws));
    expectRefused(await deskless(["cat", join(dir.base, "secret-parent.txt")], ws));
    expect(sentinels.snapshot()).toBe(sentinels.before);
  });

  it("stops quietly with exit 0 when the reader closes the pipe early", async () => {
    const child = spawn(process.execPath, [BIN, "fs", "cat", "big.bin"], { cwd: ws, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.stdout.once("data", () => child.stdout.destroy()); // like `| head -c 10`
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  });

  it("exits 1 for a missing file", async () => {
    const run = await deskless(["cat", "nope.txt"], ws);
    expect(run.code).toBe(1);
    expect(run.stdout.length).toBe(0);
    expect(run.stderr).toMatch(/^deskless: [^\n]*nope\.txt[^\n]*\n$/);
  });
});

describe("deskless fs cp", () => {
  it("copies a file, into a directory, and refuses to clobber with --no-clobber", async () => {
    expect((await deskless(["cp", "hello.txt", "copy.txt"], ws)).code).toBe(0);
    expect(readFileSync(join(ws, "copy.txt"), "utf8")).toBe("hello\n");
    expect((await deskless(["cp", "binary.dat", "dir"], ws)).code).toBe(0);
    expect(readFileSync(join(ws, "dir", "binary.dat")).equals(binary)).toBe(true);

    writeFileSync(join(ws, "keep.txt"), "keep\n");
    const refused = await deskless(["cp", "-n", "hello.txt", "keep.txt"], ws);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^deskless: [^\n]*keep\.txt[^\n]*\n$/);
    expect(readFileSync(join(ws, "keep.txt"), "utf8")).toBe("keep\n");
    expect((await deskless(["cp", "hello.txt", "keep.txt"], ws)).code).toBe(0);
    expect(readFileSync(join(ws, "keep.txt"), "utf8")).toBe("hello\n");
    expect(leftovers(ws)).toEqual([]);
  });

  it("--json emits start, per-percent progress and done events, and the copy is exact", async () => {
    const run = await deskless(["cp", "big.bin", "big-copy.bin", "--json", "--chunk-size", "1MiB"], ws);
    expect(run.code).toBe(0);
    const events = jsonLines(run);
    expect(events[0]).toEqual({ event: "start", src: "big.bin", dst: "big-copy.bin", bytes: big.length });
    const progress = events.filter((e) => e.event === "progress");
    expect(progress.length).toBe(20); // 20 chunks of 1 MiB, each crossing a new percent
    const bytes = progress.map((e) => e.bytes as number);
    expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
    expect(progress.at(-1)).toEqual({ event: "progress", bytes: big.length, total: big.length });
    expect(events.at(-1)).toMatchObject({ event: "done", src: "big.bin", dst: "big-copy.bin", bytes: big.length });
    expect(sha256(readFileSync(join(ws, "big-copy.bin")))).toBe(sha256(big));
    expect(leftovers(ws)).toEqual([]);
  });

  it("shows a \\r-updated progress line on a TTY for a large file", async () => {
    // `script` runs the CLI on a pseudo-terminal and copies what it prints (stdout and stderr).
    const command = `${process.execPath} ${BIN} fs cp big.bin tty-copy.bin`;
    const output = execFileSync("script", ["-qfec", command, "/dev/null"], { cwd: ws, encoding: "utf8", env: { ...process.env, DESKLESS_LOG_LEVEL: "warn" } });
    expect(output).toContain("\r\x1b[2Kcp big.bin -> tty-copy.bin");
    expect(output).toMatch(/20\.0 MiB \/ 20\.0 MiB {2}100%/);
    expect(sha256(readFileSync(join(ws, "tty-copy.bin")))).toBe(sha256(big));
  });

  it("refuses a source or destination outside with exit 4, writing nothing", async () => {
    expectRefused(await deskless(["cp", "hello.txt", "../outside/planted.txt"], ws));
    expectRefused(await deskless(["cp", "hello.txt", "out-link/planted.txt"], ws));
    expectRefused(await deskless(["cp", "hello.txt", "out-link"], ws));
    expectRefused(await deskless(["cp", "hello.txt", join(dir.base, "planted.txt")], ws));
    expectRefused(await deskless(["cp", "../outside/secret.txt", "stolen.txt"], ws));
    expectRefused(await deskless(["cp", "out-link/secret.txt", "stolen.txt", "--json"], ws));
    expect(existsSync(join(ws, "stolen.txt"))).toBe(false);
    expect(leftovers(ws)).toEqual([]);
    expect(sentinels.snapshot()).toBe(sentinels.before);
  });

  it("leaves nothing half-written when the destination fills up (exit 1, no file, no temp)", async () => {
    // First root: a 1 MiB tmpfs; the 20 MiB source lives in the second root.
    const run = await deskless(["cp", join(ws, "big.bin"), "big.bin", "--workspace", tiny, "--workspace", ws], dir.base);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^deskless: [^\n]*\n$/);
    expect(readdirSync(tiny)).toEqual([]);
  });

  it("fails with exit 1 on a read-only workspace and creates nothing", async () => {
    const run = await deskless(["cp", "hello.txt", "ro-copy.txt", "--read-only"], ws);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^deskless: [^\n]*\n$/);
    expect(existsSync(join(ws, "ro-copy.txt"))).toBe(false);
    expect(leftovers(ws)).toEqual([]);
  });

  it("exits 1 for a missing source and creates nothing", async () => {
    const run = await deskless(["cp", "absent.txt", "absent-copy.txt"], ws);
    expect(run.code).toBe(1);
    expect(existsSync(join(ws, "absent-copy.txt"))).toBe(false);
    expect(leftovers(ws)).toEqual([]);
  });
});

describe("deskless fs bench", () => {
  it("measures in place with --json and cleans up after itself", async () => {
    const run = await deskless(["bench", "--size", "8MiB", "--random-ops", "2000", "--json"], ws);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout.toString()) as { size: number; comparisons: Array<{ id: string; ratio: number; deskless: number; baseline: number; baselineName: string }> };
    expect(report.size).toBe(8 * 1024 * 1024);
    expect(report.comparisons.map((c) => c.id)).toEqual(["write-seq", `read-seq-${1024 * 1024}`, `read-seq-${4 * 1024 * 1024}`, "read-hot", "read-hot-copy", "read-hot-file", "read-hot-file-copy", "read-hot-into", "read-random"]);
    for (const c of report.comparisons) {
      expect(c.deskless).toBeGreaterThan(0);
      expect(c.baseline).toBeGreaterThan(0);
      expect(c.ratio).toBeCloseTo(c.deskless / c.baseline, 9);
    }
    expect(leftovers(ws)).toEqual([]);
  });

  it("prints a table of ratios against the named baselines", async () => {
    const run = await deskless(["bench", "--size", "4MiB", "--random-ops", "500"], ws);
    expect(run.code).toBe(0);
    const text = run.stdout.toString();
    expect(text).toMatch(/^measure +ratio +deskless +baseline +goal$/m);
    expect(text).toMatch(/^sequential write.* \d+\.\d\dx .*\(fs\.writeSync\)/m);
    expect(text).toMatch(/^random 4\.00 KiB reads.*ops\/s.*\(fs\.readSync\)/m);
    expect(leftovers(ws)).toEqual([]);
  });
});

describe("usage errors exit 2", () => {
  it.each([
    [["frob"]],
    [["stat"]],
    [["cp", "only-one"]],
    [["cat", "hello.txt", "--bogus"]],
    [["bench", "--size", "lots"]],
    [["bench", "--repeat", "0"]],
    [["cp", "hello.txt", "x.txt", "--chunk-size", "-5"]],
    [["ls", "--workspace", "/no/such/workspace/dir"]],
    [["ls", "--workspace", "hello.txt"]],
  ])("deskless fs %j", async (args) => {
    const run = await deskless(args, ws);
    expect(run.code).toBe(2);
    expect(run.stdout.length).toBe(0);
    expect(run.stderr.length).toBeGreaterThan(0);
  });

  it("deskless fs with no subcommand shows help and exits 2", async () => {
    const run = await deskless([], ws);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("stat");
    expect(existsSync(join(ws, "x.txt"))).toBe(false);
  });
});
