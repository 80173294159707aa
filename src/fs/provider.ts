// The library's typed face over the native FileProvider: option and open-mode normalisation and
// fallback warnings. Every file-system rule (sandbox, cache, write-behind) lives in native/fs.
import { noteFallbacks, openNativeProvider, type NativeFileProvider, type NativeProviderOptions } from "./native-provider.js";

export type ProviderOptions = NativeProviderOptions;
export type WorkspaceRootOptions = ProviderOptions["roots"][number];
export type OpenFlags = Parameters<NativeFileProvider["openSync"]>[1];
export type Metadata = ReturnType<NativeFileProvider["metadataSync"]>;
export type DirEntry = ReturnType<NativeFileProvider["readDirSync"]>[number];
export type ProviderStats = ReturnType<NativeFileProvider["stats"]>;
export type WorkspaceRoot = ReturnType<NativeFileProvider["roots"]>[number];
/** An open handle: an opaque u64, never reused while the provider lives. */
export type FileHandle = bigint;

export interface FileProviderOptions {
  /** One or more workspace roots; a relative path resolves against the first. */
  roots: string | ReadonlyArray<string | WorkspaceRootOptions>;
  /** Byte budget of the mmap LRU cache (native default 512 MiB). */
  cacheBudgetBytes?: number;
  /** Per-handle write-behind bound in bytes (native default 16 MiB). */
  writeBehindBytes?: number;
  /** Open-handle limit (native default 1024). */
  maxOpenHandles?: number;
}

/** fopen/Node-style mode strings; `OpenFlags` (the six RunMat flags) is accepted as well. */
export type OpenModeString = "r" | "r+" | "w" | "w+" | "wx" | "wx+" | "a" | "a+" | "ax" | "ax+";
export type OpenMode = OpenModeString | OpenFlags;

const MODES: Readonly<Record<OpenModeString, OpenFlags>> = {
  r: { read: true },
  "r+": { read: true, write: true },
  w: { write: true, create: true, truncate: true },
  "w+": { read: true, write: true, create: true, truncate: true },
  wx: { write: true, createNew: true },
  "wx+": { read: true, write: true, createNew: true },
  a: { write: true, append: true, create: true },
  "a+": { read: true, write: true, append: true, create: true },
  ax: { write: true, append: true, createNew: true },
  "ax+": { read: true, write: true, append: true, createNew: true },
};

/** The six open flags a mode stands for; an unknown mode string throws with code INVALID_ARGUMENT. */
export function openFlags(mode: OpenMode): OpenFlags {
  if (typeof mode !== "string") return mode;
  const flags = Object.hasOwn(MODES, mode) ? MODES[mode] : undefined;
  if (!flags) {
    throw Object.assign(new Error(`unknown open mode ${JSON.stringify(mode)} (expected one of ${Object.keys(MODES).join(", ")})`), {
      code: "INVALID_ARGUMENT",
    });
  }
  return { ...flags };
}

function rootOptions(roots: FileProviderOptions["roots"]): WorkspaceRootOptions[] {
  const list = typeof roots === "string" ? [roots] : roots;
  return list.map((root) => (typeof root === "string" ? { path: root } : { ...root }));
}

/**
 * A sandboxed file provider over one or more workspace roots. Each operation has a synchronous
 * form (`xxxSync`) and a Promise form that runs off the JS thread; errors carry the stable `code`s
 * of docs/native-api.md. When the native side falls back to a slower path, one pino warning per
 * fallback name is logged (checked at open, flush, close, whole-file operations and `stats()`).
 */
export class FileProvider {
  readonly #inner: NativeFileProvider;

  constructor(options: FileProviderOptions) {
    const nativeOptions: ProviderOptions = { roots: rootOptions(options.roots) };
    if (options.cacheBudgetBytes !== undefined) nativeOptions.cacheBudgetBytes = options.cacheBudgetBytes;
    if (options.writeBehindBytes !== undefined) nativeOptions.writeBehindBytes = options.writeBehindBytes;
    if (options.maxOpenHandles !== undefined) nativeOptions.maxOpenHandles = options.maxOpenHandles;
    this.#inner = openNativeProvider(nativeOptions);
  }

  #noteFallbacks(): ProviderStats {
    return noteFallbacks(this.#inner);
  }

  async #checked<T>(result: Promise<T>): Promise<T> {
    try {
      return await result;
    } finally {
      this.#noteFallbacks();
    }
  }

  #checkedSync<T>(run: () => T): T {
    try {
      return run();
    } finally {
      this.#noteFallbacks();
    }
  }

  // Handles ----------------------------------------------------------------------------------
  openSync(path: string, mode: OpenMode = "r"): FileHandle {
    const flags = openFlags(mode);
    return this.#checkedSync(() => this.#inner.openSync(path, flags));
  }
  open(path: string, mode: OpenMode = "r"): Promise<FileHandle> {
    try {
      return this.#checked(this.#inner.open(path, openFlags(mode)));
    } catch (error) {
      return Promise.reject(error);
    }
  }
  closeSync(handle: FileHandle): void {
    this.#checkedSync(() => this.#inner.closeSync(handle));
  }
  close(handle: FileHandle): Promise<void> {
    return this.#checked(this.#inner.close(handle));
  }
  /**
   * A write-only handle on a new temporary file beside `path` that replaces `path` only when
   * `commitReplacement` is called; `close` (or `dispose`) abandons it, leaving `path` as it was.
   */
  openReplacementSync(path: string): FileHandle {
    return this.#checkedSync(() => this.#inner.openReplacementSync(path));
  }
  openReplacement(path: string): Promise<FileHandle> {
    return this.#checked(this.#inner.openReplacement(path));
  }
  /**
   * Closes a replacement handle (throwing a write error, like close) and renames its file over the
   * destination; with `replace` false, fails with ALREADY_EXISTS when the destination exists,
   * atomically. On any failure the temporary file is removed and the destination is as it was.
   */
  commitReplacementSync(handle: FileHandle, replace: boolean): void {
    this.#checkedSync(() => this.#inner.commitReplacementSync(handle, replace));
  }
  commitReplacement(handle: FileHandle, replace: boolean): Promise<void> {
    return this.#checked(this.#inner.commitReplacement(handle, replace));
  }
  /** Up to `length` bytes at `offset` (short only at end of file), as an ordinary, writable Buffer. */
  readSync(handle: FileHandle, offset: number, length: number): Buffer {
    return this.#inner.readSync(handle, offset, length);
  }
  read(handle: FileHandle, offset: number, length: number): Promise<Buffer> {
    return this.#inner.read(handle, offset, length);
  }
  /**
   * Like `readSync`, zero-copy where the provider's map cache can serve it (64 KiB and more of a
   * cached file): the Buffer is then a READ-ONLY view of a memory map, and WRITING INTO IT CRASHES
   * THE PROCESS (SIGSEGV). Treat the contents as immutable; `Buffer.from(buf)` for a writable copy.
   */
  readMappedSync(handle: FileHandle, offset: number, length: number): Buffer {
    return this.#inner.readMappedSync(handle, offset, length);
  }
  /** Promise form of `readMappedSync`: the Buffer may be a READ-ONLY map view (never write into it). */
  readMapped(handle: FileHandle, offset: number, length: number): Promise<Buffer> {
    return this.#inner.readMapped(handle, offset, length);
  }
  readIntoSync(handle: FileHandle, offset: number, target: Uint8Array): number {
    return this.#inner.readIntoSync(handle, offset, target);
  }
  readInto(handle: FileHandle, offset: number, target: Uint8Array): Promise<number> {
    return this.#inner.readInto(handle, offset, target);
  }
  writeSync(handle: FileHandle, offset: number, data: Uint8Array): number {
    return this.#inner.writeSync(handle, offset, data);
  }
  write(handle: FileHandle, offset: number, data: Uint8Array): Promise<number> {
    return this.#inner.write(handle, offset, data);
  }
  appendSync(handle: FileHandle, data: Uint8Array): number {
    return this.#inner.appendSync(handle, data);
  }
  append(handle: FileHandle, data: Uint8Array): Promise<number> {
    return this.#inner.append(handle, data);
  }
  flushSync(handle: FileHandle): void {
    this.#checkedSync(() => this.#inner.flushSync(handle));
  }
  flush(handle: FileHandle): Promise<void> {
    return this.#checked(this.#inner.flush(handle));
  }
  lengthSync(handle: FileHandle): number {
    return this.#inner.lengthSync(handle);
  }
  length(handle: FileHandle): Promise<number> {
    return this.#inner.length(handle);
  }

  // Whole paths ------------------------------------------------------------------------------
  /** The whole file as an ordinary, writable Buffer. */
  readFileSync(path: string): Buffer {
    return this.#checkedSync(() => this.#inner.readFileSync(path));
  }
  readFile(path: string): Promise<Buffer> {
    return this.#checked(this.#inner.readFile(path));
  }
  /**
   * Like `readFileSync`, zero-copy where the map cache can serve it (a file of 64 KiB and more
   * within the cache budget): the Buffer is then a READ-ONLY view of a memory map, and WRITING INTO
   * IT CRASHES THE PROCESS (SIGSEGV). Treat the contents as immutable; `Buffer.from(buf)` for a copy.
   */
  readFileMappedSync(path: string): Buffer {
    return this.#checkedSync(() => this.#inner.readFileMappedSync(path));
  }
  /** Promise form of `readFileMappedSync`: the Buffer may be a READ-ONLY map view (never write into it). */
  readFileMapped(path: string): Promise<Buffer> {
    return this.#checked(this.#inner.readFileMapped(path));
  }
  writeFileSync(path: string, data: Uint8Array): void {
    this.#checkedSync(() => this.#inner.writeFileSync(path, data));
  }
  writeFile(path: string, data: Uint8Array): Promise<void> {
    return this.#checked(this.#inner.writeFile(path, data));
  }
  metadataSync(path: string): Metadata {
    return this.#inner.metadataSync(path);
  }
  metadata(path: string): Promise<Metadata> {
    return this.#inner.metadata(path);
  }
  symlinkMetadataSync(path: string): Metadata {
    return this.#inner.symlinkMetadataSync(path);
  }
  symlinkMetadata(path: string): Promise<Metadata> {
    return this.#inner.symlinkMetadata(path);
  }
  readDirSync(path: string): DirEntry[] {
    return this.#inner.readDirSync(path);
  }
  readDir(path: string): Promise<DirEntry[]> {
    return this.#inner.readDir(path);
  }
  createDirSync(path: string, recursive = false): void {
    this.#inner.createDirSync(path, recursive);
  }
  createDir(path: string, recursive = false): Promise<void> {
    return this.#inner.createDir(path, recursive);
  }
  removeFileSync(path: string): void {
    this.#inner.removeFileSync(path);
  }
  removeFile(path: string): Promise<void> {
    return this.#inner.removeFile(path);
  }
  removeDirSync(path: string, recursive = false): void {
    this.#inner.removeDirSync(path, recursive);
  }
  removeDir(path: string, recursive = false): Promise<void> {
    return this.#inner.removeDir(path, recursive);
  }
  renameSync(from: string, to: string): void {
    this.#inner.renameSync(from, to);
  }
  rename(from: string, to: string): Promise<void> {
    return this.#inner.rename(from, to);
  }
  /** Like rename, but fails with ALREADY_EXISTS when `to` exists, atomically (no check-then-act race). */
  renameNoReplaceSync(from: string, to: string): void {
    this.#inner.renameNoReplaceSync(from, to);
  }
  renameNoReplace(from: string, to: string): Promise<void> {
    return this.#inner.renameNoReplace(from, to);
  }
  setReadonlySync(path: string, readonly: boolean): void {
    this.#inner.setReadonlySync(path, readonly);
  }
  setReadonly(path: string, readonly: boolean): Promise<void> {
    return this.#inner.setReadonly(path, readonly);
  }
  canonicalizeSync(path: string): string {
    return this.#inner.canonicalizeSync(path);
  }
  canonicalize(path: string): Promise<string> {
    return this.#inner.canonicalize(path);
  }

  // Lifetime ---------------------------------------------------------------------------------
  /**
   * Releases the provider now instead of at garbage collection: flushes and closes every open
   * handle (throws the first write error, like close; every handle is closed anyway), drops the
   * map cache, lets go of the root directories (so their file system can be unmounted) and stops
   * the write-behind threads. Every later operation fails with code DISPOSED; `roots()`, `stats()`
   * and another dispose still work. Buffers from the Mapped reads keep their map until collected.
   */
  disposeSync(): void {
    this.#checkedSync(() => this.#inner.disposeSync());
  }
  /** Promise form of `disposeSync` (the flushes run off the JS thread). */
  dispose(): Promise<void> {
    return this.#checked(this.#inner.dispose());
  }

  // Introspection ----------------------------------------------------------------------------
  roots(): WorkspaceRoot[] {
    return this.#inner.roots();
  }
  /** Counters since creation; also logs a warning for each fallback name not reported before. */
  stats(): ProviderStats {
    return this.#noteFallbacks();
  }
}

/** Creates a file provider sandboxed to `options.roots`. */
export function createFileProvider(options: FileProviderOptions): FileProvider {
  return new FileProvider(options);
}
