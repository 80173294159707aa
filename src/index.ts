// Library entry: each feature module re-exports its public face here.
export { AddonUnavailableError, native, type EngineAddon, type NativeAddon } from "./native.js";
export * from "./daemon/index.js";
export { createFileProvider, FileProvider, openFlags, type DirEntry, type FileHandle, type FileProviderOptions, type Metadata, type OpenFlags, type OpenMode, type OpenModeString, type ProviderStats, type WorkspaceRoot, type WorkspaceRootOptions } from "./fs/provider.js";
export { createFsBindings, FsError, type FileHandleMode, type FsBindings, type FsBindingsOptions, type FsDirEntry, type FsErrorCode, type FsFileType, type FsMetadata, type RootSpec, type WriteFailure } from "./fs/bindings.js";
export { HeadlessDialogs, loadDialogAnswers, type DialogAnswers, type DirectoryDialogSelection, type OpenDialogSelection, type SaveDialogSelection } from "./fs/dialogs.js";
export { openWasmEngine, type WasmEngineOptions, type WasmEngineSession } from "./engine/wasm-engine.js";
export { type RuntimeInfo, type WasmWorkerOptions } from "./engine/wasm-protocol.js";
export { locateWasmPackage, type WasmPackage, type WasmPackageLayout } from "./engine/wasm-package.js";
export { openDirectEngine, type DirectEngineOptions } from "./engine/direct-engine.js";
export { ConfinementUnavailableError, EngineUnavailableError, type Confinement, type ConfineMode, type EngineName, type EngineOptions, type EngineSession, type ExecuteOptions, type ExecutionResult, type ScriptError, type ScriptSource, type StreamEntry, type VariableSummary } from "./engine/engine.js";
export { prepareTests, PreparedTests, type CoverageFormat, type Disposition, type ListedTest, type RenderedReport, type ReportFormat, type RunTestsOptions, type TestEvent, type TestOutcome, type TestRunReport, type TestSelection, type TestSessionOptions } from "./testing/run-tests.js";
export { collectTestSources, defaultTestRoots, MissingTestPathError, type TestSourceFile } from "./testing/sources.js";
