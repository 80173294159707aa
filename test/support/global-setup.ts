// CLI end-to-end tests spawn bin/deskless.js, which runs dist/ (and the install tests pack dist/):
// compile the sources once first, as `npm run build:ts` does, so the tests exercise the code under
// test. Also says which wasm runtime the wasm suites use.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { runtimeUnderTest } from "./wasm-runtime.js";

export default function setup(): void {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  execFileSync(process.execPath, [fileURLToPath(new URL("../../scripts/build-ts.js", import.meta.url))], { cwd: root, stdio: "inherit" });
  const runtime = runtimeUnderTest();
  const note = runtime.missing ? ` (DESKLESS_WASM_PACKAGE names ${runtime.missing}, which does not exist)` : "";
  process.stdout.write(`wasm suites run on the ${runtime.kind === "real" ? "RunMat runtime" : "stand-in"} at ${runtime.dir}${note}\n`);
}
