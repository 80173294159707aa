// Errors of the native layers carry stable codes, through the package's own entry ("deskless"
// resolves to this package's dist/ by its exports): the provider's come from the Rust core's one
// list, and the engine's are set where the engine decides them.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFileProvider, createFsBindings, native, openDirectEngine } from "deskless";

let ws: string;
beforeAll(() => {
  ws = mkdtempSync(join(tmpdir(), "deskless-codes-"));
});
afterAll(() => rmSync(ws, { recursive: true, force: true }));

async function rejection(run: () => Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await run();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  expect.fail("expected a rejection");
}

describe("error codes", () => {
  it("the provider's list is the core's, and its errors use it", () => {
    const codes = native().fsErrorCodes();
    expect(codes).toContain("OUTSIDE_WORKSPACE");
    expect(codes).toContain("TOO_MANY_HANDLES");
    expect(new Set(codes).size).toBe(codes.length);
    const provider = createFileProvider({ roots: ws });
    try {
      for (const run of [() => provider.readFileSync("../x"), () => provider.readFileSync("missing"), () => provider.openSync("a", { read: false })]) {
        let code: unknown;
        try {
          run();
        } catch (error) {
          code = (error as { code?: unknown }).code;
        }
        expect(codes).toContain(code);
      }
    } finally {
      provider.disposeSync();
    }
  });

  it("FsBindings keeps the provider's code and says NotFound for NOT_FOUND", () => {
    const fs = createFsBindings({ roots: [ws] });
    try {
      expect(() => fs.readFile("/nope")).toThrow(expect.objectContaining({ code: "NotFound", name: "NotFoundError" }));
      expect(() => fs.readFile("/../x")).toThrow(expect.objectContaining({ code: "OUTSIDE_WORKSPACE" }));
    } finally {
      fs.dispose();
    }
  });

  it("the direct engine rejects with its own codes: a bad source, a closed session", async () => {
    const session = await openDirectEngine({ roots: [ws] });
    let closed = false;
    try {
      const bad = await rejection(() => session.execute({ kind: "file" } as never));
      expect(bad.code).toBe("INVALID_ARGUMENT");
      await session.close();
      closed = true;
      const after = await rejection(() => session.execute({ kind: "text", name: "<x>", text: "1" }));
      expect(after.code).toBe("ENGINE_CLOSED");
      expect(after.message).toMatch(/closed/);
    } finally {
      if (!closed) await session.close();
    }
  });
});
