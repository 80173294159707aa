// CLI end-to-end tests spawn bin/deskless.js, which runs dist/ (and the install tests pack dist/):
// compile the sources once first, as `npm run build:ts` does, so the tests exercise the code under test.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export default function setup(): void {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  execFileSync(process.execPath, [fileURLToPath(new URL("../../scripts/build-ts.js", import.meta.url))], { cwd: root, stdio: "inherit" });
}
