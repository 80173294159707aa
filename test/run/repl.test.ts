// `deskless repl` with piped input: multi-line blocks, the workspace kept between statements,
// an error that does not end the session, and a clean exit at end of input (Ctrl-D).
import { expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { tempDir } from "../support/workspace.js";

it("runs piped statements, keeps the workspace, survives an error, exits 0 at end of input", async () => {
  const { dir, cleanup } = tempDir("deskless-repl-");
  try {
    const input = ["total = 0;", "for k = 1:4", "  total = total + k;", "end", "no_such_function_abc()", "fprintf('total=%d\\n', total);", ""].join("\n");
    const result = await runCli(["repl"], { cwd: dir, input, env: { DESKLESS_HISTORY_FILE: `${dir}/history` } });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("total=10\n");
    expect(result.stderr).toMatch(/error: .*no_such_function_abc/);
  } finally {
    cleanup();
  }
});
