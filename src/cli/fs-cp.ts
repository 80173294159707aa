// `deskless fs cp SRC DST`: a copy through provider handles. The bytes go to a replacement handle
// (the core's temp file beside the destination), which the commit renames into place once every
// byte is written; any failure leaves DST as it was and no temp file behind.
import { posix } from "node:path";
import type { FileProvider, Metadata } from "../fs/provider.js";
import { formatBytes, MiB } from "../byte-units.js";
import { log } from "../log.js";
import { CliError, ExitCode } from "./exit-codes.js";

export interface CopyOptions {
  json: boolean;
  /** false: fail if DST exists (`--no-clobber`). */
  clobber: boolean;
  chunkSize: number;
  /** false: no TTY progress line (`--no-progress`). */
  progress: boolean;
}

/** Files at least this large get a progress line on a TTY. */
export const PROGRESS_MIN_BYTES = 16 * MiB;
const PROGRESS_INTERVAL_MS = 100;

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** The same error (same `code`, so the same exit code) with the copy named in front of its message. */
function withContext(error: unknown, context: string): unknown {
  if (error instanceof CliError || !(error instanceof Error)) return error;
  return Object.assign(new Error(`${context}: ${error.message}`, { cause: error }), { code: codeOf(error) });
}

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function metadataOrUndefined(provider: FileProvider, path: string, follow: boolean): Metadata | undefined {
  try {
    return follow ? provider.metadataSync(path) : provider.symlinkMetadataSync(path);
  } catch (error) {
    if (codeOf(error) === "NOT_FOUND") return undefined;
    throw error;
  }
}

/** Where the copy lands: DST itself, or DST/basename(SRC) when DST is an existing directory. */
function alreadyExists(target: string): Error {
  return Object.assign(new Error(`${target} already exists (--no-clobber)`), { code: "ALREADY_EXISTS" });
}

function destination(provider: FileProvider, src: string, dst: string, clobber: boolean): string {
  const existing = metadataOrUndefined(provider, dst, true);
  const target = existing?.fileType === "dir" ? posix.join(dst, posix.basename(src)) : dst;
  const occupied = target === dst ? existing : metadataOrUndefined(provider, target, false);
  if (occupied && !clobber) throw alreadyExists(target);
  if (occupied?.fileType === "dir") throw Object.assign(new Error(`${target} is a directory`), { code: "IS_A_DIRECTORY" });
  return target;
}

class Progress {
  readonly #started = Date.now();
  #lastDraw = 0;
  #lastPercent = -1;

  constructor(
    readonly src: string,
    readonly dst: string,
    readonly total: number,
    readonly mode: "json" | "tty" | "none",
  ) {}

  update(copied: number): void {
    if (this.mode === "json") {
      // One event per percent crossed, and always one at the end: deterministic for scripts.
      const percent = this.total > 0 ? Math.floor((copied * 100) / this.total) : 100;
      if (percent > this.#lastPercent) {
        this.#lastPercent = percent;
        emit({ event: "progress", bytes: copied, total: this.total });
      }
      return;
    }
    if (this.mode !== "tty") return;
    const now = Date.now();
    if (now - this.#lastDraw < PROGRESS_INTERVAL_MS && copied < this.total) return;
    this.#lastDraw = now;
    const seconds = Math.max((now - this.#started) / 1000, 1e-3);
    const percent = this.total > 0 ? Math.min(100, Math.floor((copied * 100) / this.total)) : 100;
    process.stderr.write(`\r\x1b[2Kcp ${this.src} -> ${this.dst}  ${formatBytes(copied)} / ${formatBytes(this.total)}  ${percent}%  ${formatBytes(copied / seconds)}/s`);
  }

  finish(copied: number, ok: boolean): void {
    if (this.mode === "json" && ok && this.#lastPercent < 100) emit({ event: "progress", bytes: copied, total: this.total });
    if (this.mode === "tty") process.stderr.write(ok ? "\n" : "\r\x1b[2K");
  }
}

/** Copies SRC to DST inside the workspace; resolves once DST holds every byte. */
export async function copyFile(provider: FileProvider, src: string, dst: string, options: CopyOptions): Promise<void> {
  try {
    await copyThroughHandles(provider, src, dst, options);
  } catch (error) {
    throw withContext(error, `cp ${src} -> ${dst}`);
  }
}

async function copyThroughHandles(provider: FileProvider, src: string, dst: string, options: CopyOptions): Promise<void> {
  const started = Date.now();
  const source = await provider.open(src, "r");
  let replacement: bigint | undefined;
  let copied = 0;
  let progress: Progress | undefined;
  try {
    const srcMeta = await provider.metadata(src);
    if (srcMeta.fileType !== "file") throw new CliError(`cp ${src}: not a regular file`, ExitCode.failed);
    const target = destination(provider, src, dst, options.clobber);
    const total = await provider.length(source);
    replacement = await provider.openReplacement(target);

    const mode = options.json ? "json" : options.progress && process.stderr.isTTY && total >= PROGRESS_MIN_BYTES ? "tty" : "none";
    progress = new Progress(src, target, total, mode);
    if (options.json) emit({ event: "start", src, dst: target, bytes: total });

    // Keep one read ahead of the write that is being buffered. The chunks are only read (the
    // write copies them into its buffer), so the zero-copy mapped form is safe here.
    let next = provider.readMapped(source, 0, options.chunkSize);
    for (;;) {
      const chunk = await next;
      if (chunk.length === 0) break;
      next = provider.readMapped(source, copied + chunk.length, options.chunkSize);
      next.catch(() => undefined); // observed on the next turn; never an unhandled rejection
      let written = 0;
      while (written < chunk.length) written += await provider.write(replacement, copied + written, chunk.subarray(written));
      copied += chunk.length;
      progress.update(copied);
    }
    const handle = replacement;
    replacement = undefined; // the commit closes it, whatever its result
    // The check in destination() fails early; the commit decides, so a file that appeared
    // meanwhile is never replaced under --no-clobber.
    await provider.commitReplacement(handle, options.clobber).catch((error: unknown) => {
      throw codeOf(error) === "ALREADY_EXISTS" ? alreadyExists(target) : error;
    });
    progress.finish(copied, true);
    if (options.json) emit({ event: "done", src, dst: target, bytes: copied, ms: Date.now() - started });
  } catch (error) {
    progress?.finish(copied, false);
    if (replacement !== undefined) {
      await provider.close(replacement).catch((closeError: unknown) => log.debug({ err: closeError }, "cp: discarding the unfinished copy"));
    }
    throw error;
  } finally {
    await provider.close(source);
  }
}
