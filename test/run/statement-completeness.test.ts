import { describe, expect, it } from "vitest";
import { isStatementComplete } from "../../src/cli/statement-completeness.js";

describe("isStatementComplete", () => {
  it.each([
    ["x = 1", true],
    ["for i = 1:3", false],
    ["for i = 1:3\n  disp(i)\nend", true],
    ["if a\n  for k = 1:2\n    b(end) = k;\n  end", false],
    ["if a\n  for k = 1:2\n    b(end) = k;\n  end\nend", true],
    ["x = [1 2", false],
    ["x = [1 2\n3 4]", true],
    ["y = f(1, ...", false],
    ["y = f(1, ...\n 2)", true],
    ["s = 'for while if'", true],
    ["s = \"end\"; % for", true],
    ["a = b'; for k = 1:2", false],
    ["function y = f(x)\n  y = x;\nendfunction", true],
    ["x = v(end)", true],
  ])("%j -> %s", (source, complete) => {
    expect(isStatementComplete(source)).toBe(complete);
  });
});
