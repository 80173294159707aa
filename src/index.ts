// Library entry: each feature module re-exports its public face here.
export { native, type NativeAddon } from "./native.js";
export * from "./daemon/index.js";
export { createFileProvider, FileProvider, openFlags, type DirEntry, type FileHandle, type FileProviderOptions, type Metadata, type OpenFlags, type OpenMode, type OpenModeString, type ProviderStats, type WorkspaceRoot, type WorkspaceRootOptions } from "./fs/provider.js";
