// Which RunMat wasm runtime the wasm suites run on. `.ci/run` sets DESKLESS_WASM_PACKAGE to the real
// package (../shared/runmat-wasm, relative to the clone, so relative values are taken from the
// repository root, wherever the tests are started from); where that names nothing, or is unset, the
// suites run on the stand-in under test/fixtures/runmat-fake. The same tests run either way.
import { existsSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const FAKE_DIR = join(REPO_ROOT, "test", "fixtures", "runmat-fake");

export interface RuntimeUnderTest {
  /** The package folder (the npm wrapper layout). */
  dir: string;
  /** Its raw wasm-bindgen Node.js build. */
  nodeDir: string;
  kind: "real" | "stand-in";
  /** Set when DESKLESS_WASM_PACKAGE named a folder that does not exist. */
  missing?: string;
}

export function runtimeUnderTest(env: NodeJS.ProcessEnv = process.env): RuntimeUnderTest {
  const named = env.DESKLESS_WASM_PACKAGE;
  const dir = named ? (isAbsolute(named) ? named : resolve(REPO_ROOT, named)) : undefined;
  if (dir && existsSync(join(dir, "package.json"))) return { dir, nodeDir: join(dir, "node"), kind: resolve(dir) === FAKE_DIR ? "stand-in" : "real" };
  return { dir: FAKE_DIR, nodeDir: join(FAKE_DIR, "node"), kind: "stand-in", missing: dir };
}

export const RUNTIME = runtimeUnderTest();

/** Both layouts of the runtime under test, for describe.each. */
export const LAYOUTS: Array<{ layout: "wrapper" | "node"; dir: string }> = [
  { layout: "wrapper", dir: RUNTIME.dir },
  { layout: "node", dir: RUNTIME.nodeDir },
];
