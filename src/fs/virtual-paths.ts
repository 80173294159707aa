// The runtime's virtual path space and how it maps onto the workspace roots.
//
// Scheme (documented in docs/readme-wasm.md):
//   "/"              -> the first root
//   "/a/b.txt"       -> <first root>/a/b.txt
//   "/<name>"        -> the root named <name> (every root after the first; the name defaults to the
//                       root folder's base name and must be unique)
//   "/<name>/x.csv"  -> <that root>/x.csv
//   "a/b.txt"        -> relative paths resolve against "/" (the runtime's virtual cwd starts there)
// A named root shadows an entry of the same name in the first root. "." and ".." are resolved in
// the virtual space; a ".." above "/" is refused. Symlinks are not resolved here: the native
// provider resolves every host path race-free beneath its root and refuses anything that leaves it.
import { basename, resolve, sep } from "node:path";

export interface RootSpec {
  /** Host folder; must exist and be a directory. */
  path: string;
  readOnly?: boolean;
  /** Top-level folder name in the virtual space; ignored for the first root (it is "/"). */
  name?: string;
}

export interface MappedRoot {
  /** Absolute host path as given (resolved against the process cwd). */
  hostPath: string;
  /** Extra spellings of the same folder (its real path), used to map host paths back. */
  aliases: string[];
  /** "" for the first root, else the top-level folder name. */
  name: string;
  readOnly: boolean;
}

export interface HostLocation {
  root: MappedRoot;
  /** Path inside the root, "/"-separated, no leading slash; "" is the root itself. */
  relative: string;
  hostPath: string;
  virtualPath: string;
}

/** Thrown for a path that cannot be expressed in the virtual space; bindings turn it into an FsError. */
export class VirtualPathError extends Error {
  constructor(
    message: string,
    readonly code: "OUTSIDE_WORKSPACE" | "INVALID_ARGUMENT",
  ) {
    super(message);
    this.name = "VirtualPathError";
  }
}

const NAME_RE = /^[^/\\\0]+$/;

export function mapRoots(specs: RootSpec[]): MappedRoot[] {
  if (specs.length === 0) throw new VirtualPathError("at least one workspace root is required", "INVALID_ARGUMENT");
  const seen = new Set<string>();
  return specs.map((spec, index) => {
    const hostPath = resolve(spec.path);
    const name = index === 0 ? "" : (spec.name ?? basename(hostPath));
    if (index > 0) {
      if (!NAME_RE.test(name) || name === "." || name === "..") {
        throw new VirtualPathError(`workspace root ${hostPath}: "${name}" is not a usable folder name`, "INVALID_ARGUMENT");
      }
      if (seen.has(name)) {
        throw new VirtualPathError(`workspace root ${hostPath}: the name "${name}" is already taken by another root; pass a distinct name`, "INVALID_ARGUMENT");
      }
      seen.add(name);
    }
    return { hostPath, aliases: [], name, readOnly: spec.readOnly ?? false };
  });
}

/** Splits a virtual path into normalised segments; refuses ".." above "/". */
export function virtualSegments(path: string): string[] {
  if (typeof path !== "string") throw new VirtualPathError(`path must be a string, got ${typeof path}`, "INVALID_ARGUMENT");
  if (path.includes("\0")) throw new VirtualPathError("the path contains a NUL byte", "INVALID_ARGUMENT");
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length === 0) throw new VirtualPathError(`".." climbs above the virtual root "/"`, "OUTSIDE_WORKSPACE");
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out;
}

export function normaliseVirtual(path: string): string {
  return `/${virtualSegments(path).join("/")}`;
}

export class VirtualPathMap {
  readonly roots: MappedRoot[];
  private readonly byName = new Map<string, MappedRoot>();

  constructor(roots: MappedRoot[]) {
    this.roots = roots;
    for (const root of roots.slice(1)) this.byName.set(root.name, root);
  }

  get first(): MappedRoot {
    return this.roots[0] as MappedRoot;
  }

  /** The named roots (every root after the first), as they appear under "/". */
  namedRoots(): MappedRoot[] {
    return this.roots.slice(1);
  }

  toHost(path: string): HostLocation {
    const segments = virtualSegments(path);
    const head = segments[0];
    const named = head === undefined ? undefined : this.byName.get(head);
    const root = named ?? this.first;
    const rest = named ? segments.slice(1) : segments;
    const relative = rest.join("/");
    const hostPath = relative === "" ? root.hostPath : `${root.hostPath}${sep}${rest.join(sep)}`;
    return { root, relative, hostPath, virtualPath: `/${segments.join("/")}` };
  }

  /** Maps a host path (from the native layer) back into the virtual space; undefined if outside every root. */
  toVirtual(hostPath: string): string | undefined {
    let best: { root: MappedRoot; rest: string; length: number } | undefined;
    for (const root of this.roots) {
      for (const prefix of [root.hostPath, ...root.aliases]) {
        const rest = insideOf(prefix, hostPath);
        if (rest === undefined) continue;
        // Prefer the most specific root: a named root nested inside the first one wins.
        if (!best || prefix.length > best.length) best = { root, rest, length: prefix.length };
      }
    }
    if (!best) return undefined;
    const parts = best.rest === "" ? [] : best.rest.split(sep);
    // An entry of the first root hidden behind a named root of the same name has no virtual path.
    if (best.root.name === "" && parts[0] !== undefined && this.byName.has(parts[0])) return undefined;
    const segments = best.root.name === "" ? parts : [best.root.name, ...parts];
    return `/${segments.join("/")}`;
  }
}

function insideOf(prefix: string, path: string): string | undefined {
  if (path === prefix) return "";
  const withSep = prefix.endsWith(sep) ? prefix : prefix + sep;
  return path.startsWith(withSep) ? path.slice(withSep.length) : undefined;
}
