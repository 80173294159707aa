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
//   folders (see virtual-paths.ts). The native provider is the sandbox: every host path handed to it
//   is resolved race-free beneath a root, so nothing outside the roots is reachable.
// - A missing path throws an FsError with code "NotFound" and name "NotFoundError", the only shape the
//   runtime recognises as "not found" (its rule: a string containing "notfound", or code "notfound",
//   or name "notfounderror", all case-insensitive). Every other failure keeps the native layer's
//   stable code (OUTSIDE_WORKSPACE, READ_ONLY, IS_A_DIRECTORY, ...) and a message naming the path.
// - The runtime ignores writeFile errors on its flush/drop path. writeFile still throws, and also
//   records the failure in a ledger (writeFailures()) so the engine can fail the run naming the file.
import { log } from "../log.js";
import { native, type NativeAddon } from "../native.js";
import { HeadlessDialogs, type DialogAnswers, type DirectoryDialogSelection, type OpenDialogSelection, type SaveDialogSelection } from "./dialogs.js";
import { mapRoots, VirtualPathError, VirtualPathMap, type HostLocation, type RootSpec } from "./virtual-paths.js";

export type NativeFileProvider = InstanceType<NativeAddon["FileProvider"]>;
type NativeOpenFlags = Parameters<NativeFileProvider["openSync"]>[1];

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

/** Stable codes: the native provider's, plus NotFound for the runtime's detection rule. */
export type FsErrorCode =
  | "NotFound"
  | "OUTSIDE_WORKSPACE"
  | "ALREADY_EXISTS"
  | "PERMISSION_DENIED"
  | "READ_ONLY"
  | "IS_A_DIRECTORY"
  | "NOT_A_DIRECTORY"
  | "DIRECTORY_NOT_EMPTY"
  | "BAD_HANDLE"
  | "TOO_MANY_HANDLES"
  | "INVALID_ARGUMENT"
  | "NO_SPACE"
  | "WRITE_FAILED"
  | "IO"
  | "DISPOSED";

const KNOWN_CODES = new Set<string>([
  "OUTSIDE_WORKSPACE", "ALREADY_EXISTS", "PERMISSION_DENIED", "READ_ONLY", "IS_A_DIRECTORY", "NOT_A_DIRECTORY",
  "DIRECTORY_NOT_EMPTY", "BAD_HANDLE", "TOO_MANY_HANDLES", "INVALID_ARGUMENT", "NO_SPACE", "WRITE_FAILED", "IO",
  "DISPOSED",
]);

/** Node errno codes a native error might still carry, and the stable code they mean. */
const ERRNO_CODES: Record<string, FsErrorCode> = {
  ENOENT: "NotFound", EEXIST: "ALREADY_EXISTS", EACCES: "PERMISSION_DENIED", EPERM: "PERMISSION_DENIED",
  EROFS: "READ_ONLY", EISDIR: "IS_A_DIRECTORY", ENOTDIR: "NOT_A_DIRECTORY", ENOTEMPTY: "DIRECTORY_NOT_EMPTY",
  ENOSPC: "NO_SPACE", EINVAL: "INVALID_ARGUMENT", EMFILE: "TOO_MANY_HANDLES",
};

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
  private readonly map: VirtualPathMap;
  private readonly readOnly: boolean;
  private readonly zeroCopyReads: boolean;
  private readonly failures: WriteFailure[] = [];
  private reported = 0;
  private readonly handles = new Set<bigint>();

  constructor(options: FsBindingsOptions) {
    if (!options || !Array.isArray(options.roots) || options.roots.length === 0) {
      throw new FsError("INVALID_ARGUMENT", "createFsBindings", "", "createFsBindings: at least one workspace root is required");
    }
    const specs: RootSpec[] = options.roots.map((root) => (typeof root === "string" ? { path: root } : root));
    this.readOnly = options.readOnly ?? false;
    this.zeroCopyReads = options.zeroCopyReads ?? false;
    let roots;
    try {
      roots = mapRoots(specs);
    } catch (error) {
      throw translate(error, "createFsBindings", "");
    }
    this.map = new VirtualPathMap(roots);
    const Provider = native().FileProvider;
    try {
      this.provider = new Provider({
        roots: roots.map((root) => ({ path: root.hostPath, readOnly: root.readOnly || this.readOnly, name: root.name || undefined })),
        cacheBudgetBytes: options.cacheBudgetBytes,
        writeBehindBytes: options.writeBehindBytes,
        maxOpenHandles: options.maxOpenHandles,
      });
    } catch (error) {
      throw translate(error, "createFsBindings", "");
    }
    // The native provider reports canonical host paths; remember them so they map back.
    this.provider.roots().forEach((native, index) => {
      const root = roots[index];
      if (root && native.path !== root.hostPath) root.aliases.push(native.path);
    });
    this.dialogs = new HeadlessDialogs(options.dialogAnswers);
    // The runtime calls methods with `this` set to the bindings; bind anyway so they can be passed around.
    const self = this as unknown as Record<string, unknown>;
    for (const key of Object.getOwnPropertyNames(NativeFsBindings.prototype)) {
      const value = self[key];
      if (key !== "constructor" && typeof value === "function") self[key] = value.bind(this);
    }
  }

  readFile(path: string): Uint8Array {
    const loc = this.locate("readFile", path);
    const host = loc.hostPath;
    return this.call("readFile", path, () => (this.zeroCopyReads ? this.provider.readFileMappedSync(host) : this.provider.readFileSync(host)));
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
    let loc: HostLocation | undefined;
    try {
      const view = toBytes(data, "writeFile", path);
      bytes = view.byteLength;
      loc = this.locate("writeFile", path);
      const target = loc.hostPath;
      this.refuseIfReadOnly("writeFile", path);
      this.call("writeFile", path, () => this.provider.writeFileSync(target, view));
    } catch (error) {
      const failure = error instanceof FsError ? error : translate(error, "writeFile", path);
      this.failures.push({ op: "writeFile", path, hostPath: loc?.hostPath, code: failure.code, message: failure.message, bytes, atMs: Date.now() });
      log.warn({ path, code: failure.code, bytes }, `write failed: ${failure.message}`);
      throw failure;
    }
  }

  removeFile(path: string): void {
    const loc = this.locateMutable("removeFile", path);
    this.call("removeFile", path, () => this.provider.removeFileSync(loc.hostPath));
  }

  metadata(path: string): FsMetadata {
    const loc = this.locate("metadata", path);
    return this.toMetadata(loc, this.call("metadata", path, () => this.provider.metadataSync(loc.hostPath)));
  }

  symlinkMetadata(path: string): FsMetadata {
    const loc = this.locate("symlinkMetadata", path);
    return this.toMetadata(loc, this.call("symlinkMetadata", path, () => this.provider.symlinkMetadataSync(loc.hostPath)));
  }

  readDir(path: string): FsDirEntry[] {
    const loc = this.locate("readDir", path);
    const listed = this.call("readDir", path, () => this.provider.readDirSync(loc.hostPath));
    const base = loc.virtualPath === "/" ? "" : loc.virtualPath;
    const atTop = loc.virtualPath === "/";
    const named = new Set(this.map.namedRoots().map((root) => root.name));
    const entries: FsDirEntry[] = [];
    for (const entry of listed) {
      // At "/", a named root hides an entry of the first root with the same name.
      if (atTop && named.has(entry.fileName)) continue;
      entries.push({ path: `${base}/${entry.fileName}`, fileName: entry.fileName, fileType: entry.fileType });
    }
    if (atTop) {
      for (const root of this.map.namedRoots()) entries.push({ path: `/${root.name}`, fileName: root.name, fileType: "dir" });
    }
    return entries;
  }

  canonicalize(path: string): string {
    const loc = this.locate("canonicalize", path);
    const host = this.call("canonicalize", path, () => this.provider.canonicalizeSync(loc.hostPath));
    const virtual = this.map.toVirtual(host);
    if (virtual === undefined) {
      throw new FsError("OUTSIDE_WORKSPACE", "canonicalize", path, `canonicalize ${path}: resolves to a place outside the workspace's virtual paths`);
    }
    return virtual;
  }

  createDir(path: string): void {
    const loc = this.locate("createDir", path);
    this.refuseIfReadOnly("createDir", path);
    this.call("createDir", path, () => this.provider.createDirSync(loc.hostPath, false));
  }

  createDirAll(path: string): void {
    const loc = this.locate("createDirAll", path);
    this.refuseIfReadOnly("createDirAll", path);
    this.call("createDirAll", path, () => this.provider.createDirSync(loc.hostPath, true));
  }

  removeDir(path: string): void {
    const loc = this.locateMutable("removeDir", path);
    this.call("removeDir", path, () => this.provider.removeDirSync(loc.hostPath, false));
  }

  removeDirAll(path: string): void {
    const loc = this.locateMutable("removeDirAll", path);
    this.call("removeDirAll", path, () => this.provider.removeDirSync(loc.hostPath, true));
  }

  rename(from: string, to: string): void {
    const source = this.locateMutable("rename", from);
    const target = this.locateMutable("rename", to);
    this.call("rename", from, () => this.provider.renameSync(source.hostPath, target.hostPath));
  }

  setReadonly(path: string, readonly: boolean): void {
    const loc = this.locateMutable("setReadonly", path);
    this.call("setReadonly", path, () => this.provider.setReadonlySync(loc.hostPath, Boolean(readonly)));
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
    const loc = this.locate("openFileHandle", path);
    if (flags.write || flags.append || flags.truncate || flags.create || flags.createNew) this.refuseIfReadOnly("openFileHandle", path);
    const handle = this.call("openFileHandle", path, () => this.provider.openSync(loc.hostPath, flags));
    this.handles.add(handle);
    return handle;
  }

  readChunk(handle: bigint, offset: number, length: number): Uint8Array {
    const id = toHandle(handle);
    return this.call("readChunk", "", () => (this.zeroCopyReads ? this.provider.readMappedSync(id, offset, length) : this.provider.readSync(id, offset, length)));
  }

  writeChunk(handle: bigint, offset: number, bytes: Uint8Array): number {
    const view = toBytes(bytes, "writeChunk", "");
    return this.call("writeChunk", "", () => this.provider.writeSync(toHandle(handle), offset, view));
  }

  closeHandle(handle: bigint): void {
    const id = toHandle(handle);
    try {
      this.call("closeHandle", "", () => this.provider.closeSync(id));
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
    return this.map.toVirtual(hostPath);
  }

  toHostPath(path: string): string {
    return this.locate("toHostPath", path).hostPath;
  }

  roots(): Array<{ name: string; virtualPath: string; hostPath: string; readOnly: boolean }> {
    return this.map.roots.map((root) => ({
      name: root.name,
      virtualPath: root.name === "" ? "/" : `/${root.name}`,
      hostPath: root.hostPath,
      readOnly: root.readOnly || this.readOnly,
    }));
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

  private locate(op: string, path: string): HostLocation {
    try {
      return this.map.toHost(path);
    } catch (error) {
      throw translate(error, op, String(path));
    }
  }

  /** For operations that change or remove the entry itself: a workspace root cannot be one of them. */
  private locateMutable(op: string, path: string): HostLocation {
    const loc = this.locate(op, path);
    if (loc.relative === "") {
      throw new FsError("PERMISSION_DENIED", op, path, `${op} ${path}: ${loc.virtualPath} is a workspace root and cannot be removed, renamed or changed`);
    }
    this.refuseIfReadOnly(op, path);
    return loc;
  }

  /** The runtime's metadata shape; `readonly` also says so when the root or the whole workspace is read-only. */
  private toMetadata(loc: HostLocation, meta: { fileType: string; len: number; modified?: number | null; readonly: boolean }): FsMetadata {
    const out: FsMetadata = { fileType: meta.fileType as FsFileType, len: meta.len, readonly: meta.readonly || loc.root.readOnly || this.readOnly };
    if (typeof meta.modified === "number") out.modified = meta.modified;
    return out;
  }

  private refuseIfReadOnly(op: string, path: string): void {
    if (this.readOnly) throw new FsError("READ_ONLY", op, path, `${op} ${path}: the workspace is read-only`);
  }

  private call<T>(op: string, path: string, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw translate(error, op, path);
    }
  }
}

function translate(error: unknown, op: string, path: string): FsError {
  if (error instanceof FsError) return error;
  const where = path ? `${op} ${path}` : op;
  if (error instanceof VirtualPathError) return new FsError(error.code, op, path, `${where}: ${error.message}`, { cause: error });
  const raw = (error as { code?: unknown } | null)?.code;
  const text = error instanceof Error ? error.message : String(error);
  let code: FsErrorCode = "IO";
  if (raw === "NOT_FOUND") code = "NotFound";
  else if (typeof raw === "string" && KNOWN_CODES.has(raw)) code = raw as FsErrorCode;
  else if (typeof raw === "string" && raw in ERRNO_CODES) code = ERRNO_CODES[raw] as FsErrorCode;
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
