// FsBindings: the RunMat wasm runtime's filesystem provider (upstream type RunMatFilesystemProvider),
// answered by the native FileProvider. Contract: runmat-contracts.md section 1.
//
// - readFile and readChunk return ordinary writable Buffers by default (the native plain reads copy
//   out of the mmap cache); with zeroCopyReads they use the native readFileMapped/readMapped forms,
//   whose Buffers may be views of the read-only mmap cache (writing into those crashes the process;
//   the runtime copies what it gets, so the wasm engine uses them).
// - Every method answers synchronously. readFile and writeFile must (the runtime calls them
//   synchronously when a script opens, flushes or closes a file); the rest do because the native
//   sync forms are cheap and a sync value is also a valid answer where a Promise is allowed.
// - Paths are the runtime's virtual paths: "/" is the first root, other roots are named top-level
//   folders. The native provider is made with virtual paths, so it maps them (native/fs
//   virtual_paths.rs) and it is the sandbox: every path is resolved race-free beneath a root, so
//   nothing outside the roots is reachable. Every rule (read-only roots, what a root refuses) is
//   the provider's; these methods only adapt shapes and errors.
// - A missing path throws an FsError with code "NotFound" and name "NotFoundError", the only shape the
//   runtime recognises as "not found" (its rule: a string containing "notfound", or code "notfound",
//   or name "notfounderror", all case-insensitive). Every other failure keeps the native layer's
//   stable code (OUTSIDE_WORKSPACE, READ_ONLY, IS_A_DIRECTORY, ...) and a message naming the path.
// - The runtime ignores writeFile errors on its flush/drop path. writeFile still throws, and also
//   records the failure in a ledger (writeFailures()) so the engine can fail the run naming the file.
import { resolve } from "node:path";
import { log } from "../log.js";
import { HeadlessDialogs, type DialogAnswers, type DirectoryDialogSelection, type OpenDialogSelection, type SaveDialogSelection } from "./dialogs.js";
import { isNativeErrorCode, noteFallbacks, openNativeProvider, type NativeErrorCode, type NativeFileProvider } from "./native-provider.js";

export type { NativeFileProvider } from "./native-provider.js";
type NativeOpenFlags = Parameters<NativeFileProvider["openSync"]>[1];

/** A workspace root of the virtual space. */
export interface RootSpec {
  /** Host folder; must exist and be a directory. */
  path: string;
  readOnly?: boolean;
  /** Top-level folder name in the virtual space (default: the folder's name); ignored for the first root, which is "/". */
  name?: string;
}

export type FsFileType = "file" | "dir" | "directory" | "symlink" | "other" | "unknown";

export interface FsMetadata {
  fileType: FsFileType;
  len: number;
  /** Milliseconds since the epoch. */
  modified?: number;
  readonly?: boolean;
}

export interface FsDirEntry {
  /** Virtual path of the entry. */
  path: string;
  fileName: string;
  fileType?: FsFileType;
}

export type FileHandleMode = "read" | "write" | "append" | "readWrite" | "createNew";

export interface FsBindingsOptions {
  /** Workspace roots: host folders, or specs with a read-only flag and a top-level name. The first is "/". */
  roots: Array<string | RootSpec>;
  /** Refuse every write (READ_ONLY) in addition to per-root read-only flags. */
  readOnly?: boolean;
  /** Preset answers for the dialog hooks; without them every dialog is cancelled. */
  dialogAnswers?: DialogAnswers;
  /**
   * readFile, readMany and readChunk use the native readFileMapped/readMapped forms: where the mmap
   * cache serves a read (64 KiB and more of a cached file) the Buffer is a zero-copy view of the
   * read-only map instead of a private copy. Faster, but WRITING INTO SUCH A BUFFER CRASHES THE PROCESS:
   * use it only where the consumer copies the bytes out, as the runtime does on open (the wasm engine
   * turns it on).
   */
  zeroCopyReads?: boolean;
  /** Passed to the native provider. */
  cacheBudgetBytes?: number;
  writeBehindBytes?: number;
  maxOpenHandles?: number;
}

/** Stable codes: the native provider's, with NotFound for NOT_FOUND (the runtime's detection rule). */
export type FsErrorCode = "NotFound" | Exclude<NativeErrorCode, "NOT_FOUND">;

export class FsError extends Error {
  override readonly name: string;
  constructor(
    readonly code: FsErrorCode,
    readonly op: string,
    /** The path as the caller gave it (virtual), or "" for handle operations. */
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = code === "NotFound" ? "NotFoundError" : "FsError";
  }
}

/** The write that failed, kept until the engine reports it (the runtime may have swallowed it). */
export interface WriteFailure {
  op: "writeFile";
  /** Virtual path as the runtime gave it. */
  path: string;
  /** Host path it maps to, when it maps. */
  hostPath?: string;
  code: FsErrorCode;
  message: string;
  bytes: number;
  atMs: number;
}

export interface FsBindings {
  // The runtime's provider contract.
  readFile(path: string): Uint8Array;
  readMany(paths: string[]): Array<Uint8Array | null>;
  writeFile(path: string, data: Uint8Array | ArrayBuffer | ArrayBufferView): void;
  removeFile(path: string): void;
  metadata(path: string): FsMetadata;
  symlinkMetadata(path: string): FsMetadata;
  readDir(path: string): FsDirEntry[];
  canonicalize(path: string): string;
  createDir(path: string): void;
  createDirAll(path: string): void;
  removeDir(path: string): void;
  removeDirAll(path: string): void;
  rename(from: string, to: string): void;
  setReadonly(path: string, readonly: boolean): void;
  selectFileOpen(request?: unknown): OpenDialogSelection | null;
  selectFileSave(request?: unknown): SaveDialogSelection | null;
  selectDirectory(request?: unknown): DirectoryDialogSelection | null;
  // Bulk helpers of the desktop plan, straight on the native handle table.
  openFileHandle(path: string, mode?: FileHandleMode | NativeOpenFlags): bigint;
  readChunk(handle: bigint, offset: number, length: number): Uint8Array;
  writeChunk(handle: bigint, offset: number, bytes: Uint8Array): number;
  closeHandle(handle: bigint): void;
  // deskless's own.
  /** Write failures so far, oldest first. */
  writeFailures(): WriteFailure[];
  /** Returns the write failures recorded since the last call and forgets them. */
  takeWriteFailures(): WriteFailure[];
  /** Host path -> virtual path, or undefined when the host path is outside every root. */
  toVirtualPath(hostPath: string): string | undefined;
  /** Virtual path -> host path (no filesystem access; the native provider still checks on use). */
  toHostPath(path: string): string;
  /** The roots as mapped: virtual name ("" for "/"), host path, read-only flag. */
  roots(): Array<{ name: string; virtualPath: string; hostPath: string; readOnly: boolean }>;
  readonly dialogs: HeadlessDialogs;
  readonly provider: NativeFileProvider;
  /** Closes handles opened through openFileHandle that are still open. */
  dispose(): void;
}

export function createFsBindings(options: FsBindingsOptions): FsBindings {
  return new NativeFsBindings(options);
}

const HANDLE_MODES: Record<FileHandleMode, NativeOpenFlags> = {
  read: { read: true },
  write: { write: true, create: true, truncate: true },
  append: { write: true, append: true, create: true },
  readWrite: { read: true, write: true },
  createNew: { write: true, createNew: true },
};

class NativeFsBindings implements FsBindings {
  readonly provider: NativeFileProvider;
  readonly dialogs: HeadlessDialogs;
  private readonly zeroCopyReads: boolean;
  private readonly failures: WriteFailure[] = [];
  private reported = 0;
  private readonly handles = new Set<bigint>();

  constructor(options: FsBindingsOptions) {
    if (!options || !Array.isArray(options.roots) || options.roots.length === 0) {
      throw new FsError("INVALID_ARGUMENT", "createFsBindings", "", "createFsBindings: at least one workspace root is required");
    }
    const readOnly = options.readOnly ?? false;
    this.zeroCopyReads = options.zeroCopyReads ?? false;
    const roots = options.roots.map((root, index) => {
      const spec = typeof root === "string" ? { path: root } : root;
      return { path: resolve(spec.path), readOnly: (spec.readOnly ?? false) || readOnly, name: index > 0 ? spec.name : undefined };
    });
    const { cacheBudgetBytes, writeBehindBytes, maxOpenHandles } = options;
    this.provider = attempt("createFsBindings", "", () => openNativeProvider({ roots, virtualPaths: true, cacheBudgetBytes, writeBehindBytes, maxOpenHandles }));
    this.dialogs = new HeadlessDialogs(options.dialogAnswers);
    // The runtime calls methods with `this` set to the bindings; bind anyway so they can be passed around.
    const self = this as unknown as Record<string, unknown>;
    for (const key of Object.getOwnPropertyNames(NativeFsBindings.prototype)) {
      const value = self[key];
      if (key !== "constructor" && typeof value === "function") self[key] = value.bind(this);
    }
  }

  readFile(path: string): Uint8Array {
    return this.noting("readFile", path, () => (this.zeroCopyReads ? this.provider.readFileMappedSync(path) : this.provider.readFileSync(path)));
  }

  readMany(paths: string[]): Array<Uint8Array | null> {
    if (!Array.isArray(paths)) throw new FsError("INVALID_ARGUMENT", "readMany", "", "readMany: expected a list of paths");
    return paths.map((path) => {
      try {
        return this.readFile(path);
      } catch (error) {
        if (error instanceof FsError && error.code === "NotFound") return null;
        throw error;
      }
    });
  }

  writeFile(path: string, data: Uint8Array | ArrayBuffer | ArrayBufferView): void {
    let bytes = 0;
    try {
      const view = toBytes(data, "writeFile", path);
      bytes = view.byteLength;
      this.noting("writeFile", path, () => this.provider.writeFileSync(path, view));
    } catch (error) {
      const failure = error instanceof FsError ? error : translate(error, "writeFile", path);
      this.failures.push({ op: "writeFile", path, hostPath: this.hostPathOrUndefined(path), code: failure.code, message: failure.message, bytes, atMs: Date.now() });
      log.warn({ path, code: failure.code, bytes }, `write failed: ${failure.message}`);
      throw failure;
    }
  }

  removeFile(path: string): void {
    attempt("removeFile", path, () => this.provider.removeFileSync(path));
  }

  metadata(path: string): FsMetadata {
    return toMetadata(attempt("metadata", path, () => this.provider.metadataSync(path)));
  }

  symlinkMetadata(path: string): FsMetadata {
    return toMetadata(attempt("symlinkMetadata", path, () => this.provider.symlinkMetadataSync(path)));
  }

  readDir(path: string): FsDirEntry[] {
    const listed = attempt("readDir", path, () => this.provider.readDirSync(path));
    return listed.map((entry) => ({ path: entry.path, fileName: entry.fileName, fileType: entry.fileType }));
  }

  canonicalize(path: string): string {
    return attempt("canonicalize", path, () => this.provider.canonicalizeSync(path));
  }

  createDir(path: string): void {
    attempt("createDir", path, () => this.provider.createDirSync(path, false));
  }

  createDirAll(path: string): void {
    attempt("createDirAll", path, () => this.provider.createDirSync(path, true));
  }

  removeDir(path: string): void {
    attempt("removeDir", path, () => this.provider.removeDirSync(path, false));
  }

  removeDirAll(path: string): void {
    attempt("removeDirAll", path, () => this.provider.removeDirSync(path, true));
  }

  rename(from: string, to: string): void {
    attempt("rename", from, () => this.provider.renameSync(from, to));
  }

  setReadonly(path: string, readonly: boolean): void {
    attempt("setReadonly", path, () => this.provider.setReadonlySync(path, Boolean(readonly)));
  }

  selectFileOpen(request?: unknown): OpenDialogSelection | null {
    return this.dialogs.selectFileOpen(request);
  }

  selectFileSave(request?: unknown): SaveDialogSelection | null {
    return this.dialogs.selectFileSave(request);
  }

  selectDirectory(request?: unknown): DirectoryDialogSelection | null {
    return this.dialogs.selectDirectory(request);
  }

  openFileHandle(path: string, mode: FileHandleMode | NativeOpenFlags = "read"): bigint {
    const flags = typeof mode === "string" ? HANDLE_MODES[mode] : mode;
    if (!flags || typeof flags !== "object") {
      throw new FsError("INVALID_ARGUMENT", "openFileHandle", path, `openFileHandle ${path}: unknown mode ${JSON.stringify(mode)} (read, write, append, readWrite, createNew, or open flags)`);
    }
    const handle = this.noting("openFileHandle", path, () => this.provider.openSync(path, flags));
    this.handles.add(handle);
    return handle;
  }

  // The chunk calls are the hot path: no fallback check (open and close make it).
  readChunk(handle: bigint, offset: number, length: number): Uint8Array {
    const id = toHandle(handle);
    return attempt("readChunk", "", () => (this.zeroCopyReads ? this.provider.readMappedSync(id, offset, length) : this.provider.readSync(id, offset, length)));
  }

  writeChunk(handle: bigint, offset: number, bytes: Uint8Array): number {
    const view = toBytes(bytes, "writeChunk", "");
    return attempt("writeChunk", "", () => this.provider.writeSync(toHandle(handle), offset, view));
  }

  closeHandle(handle: bigint): void {
    const id = toHandle(handle);
    try {
      this.noting("closeHandle", "", () => this.provider.closeSync(id));
    } finally {
      this.handles.delete(id);
    }
  }

  writeFailures(): WriteFailure[] {
    return [...this.failures];
  }

  takeWriteFailures(): WriteFailure[] {
    const fresh = this.failures.slice(this.reported);
    this.reported = this.failures.length;
    return fresh;
  }

  toVirtualPath(hostPath: string): string | undefined {
    return this.provider.virtualPath(resolve(hostPath)) ?? undefined;
  }

  toHostPath(path: string): string {
    return attempt("toHostPath", path, () => this.provider.hostPath(path));
  }

  roots(): Array<{ name: string; virtualPath: string; hostPath: string; readOnly: boolean }> {
    return this.provider.roots().map((root) => {
      const virtualPath = root.virtualPath ?? "/";
      return { name: virtualPath.slice(1), virtualPath, hostPath: root.path, readOnly: root.readOnly };
    });
  }

  dispose(): void {
    for (const handle of [...this.handles]) {
      try {
        this.provider.closeSync(handle);
      } catch (error) {
        log.warn({ err: error }, "closing a file handle on dispose failed");
      }
      this.handles.delete(handle);
    }
  }

  private hostPathOrUndefined(path: string): string | undefined {
    try {
      return this.provider.hostPath(path);
    } catch {
      return undefined;
    }
  }

  /**
   * Runs a provider call that may take a slower path (reading or writing file contents): its error
   * becomes an FsError, and any fallback it took reaches the log. The other calls only `attempt`.
   */
  private noting<T>(op: string, path: string, fn: () => T): T {
    try {
      return attempt(op, path, fn);
    } finally {
      noteFallbacks(this.provider);
    }
  }
}

/** Runs a provider call; its error becomes an FsError. */
function attempt<T>(op: string, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw translate(error, op, path);
  }
}

/** The runtime's metadata shape. */
function toMetadata(meta: { fileType: string; len: number; modified?: number | null; readonly: boolean }): FsMetadata {
  const out: FsMetadata = { fileType: meta.fileType as FsFileType, len: meta.len, readonly: meta.readonly };
  if (typeof meta.modified === "number") out.modified = meta.modified;
  return out;
}

function translate(error: unknown, op: string, path: string): FsError {
  if (error instanceof FsError) return error;
  const where = path ? `${op} ${path}` : op;
  const raw = (error as { code?: unknown } | null)?.code;
  const text = error instanceof Error ? error.message : String(error);
  const code: FsErrorCode = !isNativeErrorCode(raw) ? "IO" : raw === "NOT_FOUND" ? "NotFound" : raw;
  const message = code === "NotFound" ? `${where}: no such file or directory (${text})` : `${where}: ${text}`;
  return new FsError(code, op, path, message, { cause: error });
}

function toBytes(data: unknown, op: string, path: string): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new FsError("INVALID_ARGUMENT", op, path, `${op}${path ? ` ${path}` : ""}: data must be a Uint8Array, ArrayBuffer or ArrayBufferView`);
}

function toHandle(handle: unknown): bigint {
  if (typeof handle === "bigint") return handle;
  if (typeof handle === "number" && Number.isSafeInteger(handle) && handle >= 0) return BigInt(handle);
  throw new FsError("BAD_HANDLE", "handle", "", `not a file handle: ${String(handle)}`);
}
