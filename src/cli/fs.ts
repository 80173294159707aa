// `deskless fs stat|ls|cat|cp|bench`: commander wiring over the file provider. Every path goes
// through the native sandbox; this file only parses arguments and formats results.
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { posix } from "node:path";
import { InvalidArgumentError, Option, type Command } from "commander";
import { isBrokenPipe, onBrokenPipe } from "../broken-pipe.js";
import { isNativeErrorCode } from "../fs/native-provider.js";
import { createFileProvider, type FileProvider, type FileProviderOptions, type Metadata } from "../fs/provider.js";
import { AddonUnavailableError } from "../native.js";
import { formatBytes, MiB, parseBytes } from "../byte-units.js";
import { formatComparisons, measureThroughput } from "../fs/throughput.js";
import { CliError, ExitCode } from "./exit-codes.js";
import { copyFile } from "./fs-cp.js";
import { addWorkspaceOption, workspaceDirs } from "./workspace.js";

interface CommonOptions {
  workspace: string[];
  readOnly: boolean;
  json: boolean;
}

const CAT_CHUNK = 1 * MiB;

function withCommonOptions(command: Command): Command {
  return addWorkspaceOption(command, "workspace root")
    .option("--read-only", "open every workspace root read-only", false)
    .option("--json", "machine-readable output on stdout", false);
}

function bytesArg(value: string): number {
  try {
    return parseBytes(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function countArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

export function providerOptions(options: CommonOptions, extra: Omit<FileProviderOptions, "roots"> = {}): FileProviderOptions {
  return { ...extra, roots: workspaceDirs(options.workspace).map((path) => ({ path, readOnly: options.readOnly })) };
}

export function openProvider(options: CommonOptions, extra: Omit<FileProviderOptions, "roots"> = {}): FileProvider {
  try {
    return createFileProvider(providerOptions(options, extra));
  } catch (error) {
    // The provider refusing its roots (missing, not a directory, ...) is bad usage; anything else
    // (the addon failing to load, say) is reported as it is.
    if (!(error instanceof AddonUnavailableError) && isNativeErrorCode((error as { code?: unknown }).code)) {
      throw new CliError(`--workspace: ${(error as Error).message}`, ExitCode.usage);
    }
    throw error;
  }
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Writes to stdout, waiting for it to drain when its buffer is full. */
export async function writeOut(chunk: string | Uint8Array): Promise<void> {
  if (!process.stdout.write(chunk)) await once(process.stdout, "drain");
}

function statRecord(path: string, meta: Metadata, hostPath: string | undefined): Record<string, unknown> {
  return { path, hostPath, fileType: meta.fileType, len: meta.len, modified: meta.modified, readonly: meta.readonly };
}

function runStat(provider: FileProvider, paths: string[], options: CommonOptions & { follow: boolean }): void {
  // Resolve every path before printing anything, so a refused path prints nothing.
  const records = paths.map((path) => {
    const meta = options.follow ? provider.metadataSync(path) : provider.symlinkMetadataSync(path);
    const hostPath = meta.fileType === "symlink" ? undefined : provider.canonicalizeSync(path);
    return statRecord(path, meta, hostPath);
  });
  for (const record of records) {
    if (options.json) {
      printJson(record);
      continue;
    }
    const modified = typeof record.modified === "number" ? `, modified ${new Date(record.modified).toISOString()}` : "";
    const size = record.fileType === "file" ? `, ${record.len} bytes (${formatBytes(record.len as number)})` : "";
    process.stdout.write(`${record.path}: ${record.fileType}${size}${modified}${record.readonly ? ", read-only" : ""}\n`);
  }
}

function runLs(provider: FileProvider, dir: string, options: CommonOptions): void {
  const entries = provider
    .readDirSync(dir)
    .map((entry) => {
      const path = posix.join(dir, entry.fileName);
      const len = entry.fileType === "file" ? provider.symlinkMetadataSync(path).len : undefined;
      return { name: entry.fileName, path, fileType: entry.fileType, len };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (options.json) {
    printJson(entries);
    return;
  }
  const width = Math.max(0, ...entries.map((e) => String(e.len ?? "-").length));
  const mark = { file: "-", dir: "d", symlink: "l", other: "?" } as Record<string, string>;
  for (const e of entries) {
    process.stdout.write(`${mark[e.fileType] ?? "?"} ${String(e.len ?? "-").padStart(width)} ${e.name}${e.fileType === "dir" ? "/" : ""}\n`);
  }
}

async function runCat(provider: FileProvider, paths: string[], options: CommonOptions): Promise<void> {
  // Open every file first: a refused or missing path fails before any byte is written.
  const handles: bigint[] = [];
  // A reader that stops early (`deskless fs cat big | head`) ends the command quietly.
  let readerGone = false;
  const stopWatching = onBrokenPipe(process.stdout, () => (readerGone = true));
  try {
    for (const path of paths) handles.push(await provider.open(path, "r"));
    for (const [index, handle] of handles.entries()) {
      const path = paths[index] as string;
      let offset = 0;
      while (!readerGone) {
        // Only written to stdout, never modified: the zero-copy mapped form is safe.
        const chunk = await provider.readMapped(handle, offset, CAT_CHUNK);
        if (chunk.length === 0) break;
        if (options.json) await writeOut(`${JSON.stringify({ event: "data", path, offset, base64: chunk.toString("base64") })}\n`);
        else await writeOut(chunk);
        offset += chunk.length;
      }
      if (readerGone) return;
      if (options.json) await writeOut(`${JSON.stringify({ event: "end", path, bytes: offset })}\n`);
    }
  } catch (error) {
    if (!isBrokenPipe(error)) throw error;
  } finally {
    stopWatching();
    for (const handle of handles) await provider.close(handle);
  }
}

async function runBench(options: CommonOptions & { size: number; repeat: number; randomOps: number }): Promise<void> {
  const cacheBudgetBytes = Math.max(512 * MiB, options.size + 64 * MiB);
  const provider = openProvider(options, { cacheBudgetBytes });
  const dir = `.deskless-bench-${process.pid}-${randomBytes(4).toString("hex")}`;
  provider.createDirSync(dir, false);
  try {
    const report = measureThroughput({
      makeProvider: () => openProvider(options, { cacheBudgetBytes }),
      dir,
      size: options.size,
      readChunks: [1 * MiB, 4 * MiB],
      writeChunk: 4 * MiB,
      randomOps: options.randomOps,
      randomSize: 4096,
      repeat: options.repeat,
      onStep: options.json || !process.stderr.isTTY ? undefined : (label) => process.stderr.write(`bench: ${label}\n`),
    });
    if (options.json) printJson({ ...report, file: undefined, dir: provider.roots()[0]?.path });
    else {
      process.stdout.write(`deskless fs bench: ${formatBytes(options.size)} file in ${provider.roots()[0]?.path}, median of ${options.repeat}\n`);
      process.stdout.write(`${formatComparisons(report.comparisons)}\n`);
    }
  } finally {
    provider.removeDirSync(dir, true);
  }
}

export function registerFsCommands(program: Command): void {
  const fs = program
    .command("fs")
    .description("sandboxed file operations through the native file provider")
    .addHelpText("after", "\nExamples:\n  deskless fs ls\n  deskless fs stat data/input.csv --json\n  deskless fs cat notes.txt > copy.txt\n  deskless fs cp big.bin backup/big.bin\n  deskless fs bench --size 256MiB\n  deskless fs cat --workspace ./project --workspace /srv/shared /srv/shared/readme.txt");

  withCommonOptions(fs.command("stat").description("print metadata of files or directories").argument("<paths...>", "paths inside the workspace"))
    .option("--no-follow", "describe a symlink itself instead of its target")
    .action((paths: string[], options: CommonOptions & { follow: boolean }) => runStat(openProvider(options), paths, options));

  withCommonOptions(fs.command("ls").description("list a directory").argument("[dir]", "directory inside the workspace", "."))
    .action((dir: string, options: CommonOptions) => runLs(openProvider(options), dir, options));

  withCommonOptions(fs.command("cat").description("write files' bytes to stdout (with --json: NDJSON records with base64 data)").argument("<paths...>", "files inside the workspace"))
    .action((paths: string[], options: CommonOptions) => runCat(openProvider(options), paths, options));

  withCommonOptions(fs.command("cp").description("copy a file through provider handles (temp file + rename: never half-written)").argument("<src>", "source file").argument("<dst>", "destination file or existing directory"))
    .option("-n, --no-clobber", "fail instead of replacing an existing destination")
    .addOption(new Option("--chunk-size <bytes>", "bytes per read/write").default(4 * MiB, "4MiB").argParser(bytesArg))
    .option("--no-progress", "no progress line on a TTY")
    .action((src: string, dst: string, options: CommonOptions & { clobber: boolean; chunkSize: number; progress: boolean }) =>
      copyFile(openProvider(options), src, dst, options),
    );

  withCommonOptions(fs.command("bench").description("quick in-place throughput check against Node's fs, in a temp directory in the first root"))
    .addOption(new Option("--size <bytes>", "size of each test file").default(64 * MiB, "64MiB").argParser(bytesArg))
    .addOption(new Option("--repeat <n>", "passes per measurement (the median is reported)").default(1).argParser(countArg))
    .addOption(new Option("--random-ops <n>", "number of 4 KiB random reads").default(20_000).argParser(countArg))
    .action((options: CommonOptions & { size: number; repeat: number; randomOps: number }) => runBench(options));
}
