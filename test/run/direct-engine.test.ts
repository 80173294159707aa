// The direct-attach engine used as a library, in this process: the workspace persists across
// executions, MATLAB `cd` never moves Node's own cwd, and output arrives through onOutput.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDirectEngine } from "../../src/engine/direct-engine.js";
import type { EngineSession, StreamEntry } from "../../src/engine/engine.js";
import { tempDir } from "../support/workspace.js";

let ws: string;
let cleanup: () => void;
let session: EngineSession;

beforeAll(async () => {
  ({ dir: ws, cleanup } = tempDir("deskless-engine-"));
  mkdirSync(join(ws, "inner"));
  session = await openDirectEngine({ roots: [ws] });
});

afterAll(async () => {
  await session.close();
  cleanup();
});

describe("direct engine session", () => {
  it("keeps the workspace between executions", async () => {
    const first = await session.execute({ kind: "text", name: "<a>", text: "x = 20;" });
    expect(first.ok).toBe(true);
    const entries: StreamEntry[] = [];
    const second = await session.execute({ kind: "text", name: "<b>", text: "fprintf('%d\\n', x + 22);" }, { onOutput: (e) => entries.push(e) });
    expect(second.ok).toBe(true);
    expect(entries.map((e) => e.text).join("")).toBe("42\n");
    expect(second.streams.map((e) => e.text).join("")).toBe("42\n");
    expect(second.workspace.find((v) => v.name === "x")).toMatchObject({ class: "double", size: [1, 1] });
  });

  it("MATLAB cd changes the script's cwd, not Node's", async () => {
    const before = process.cwd();
    const entries: StreamEntry[] = [];
    const result = await session.execute({ kind: "text", name: "<cd>", text: "cd('inner'); disp(pwd); cd('..');" }, { onOutput: (e) => entries.push(e) });
    expect(result.ok).toBe(true);
    expect(entries.map((e) => e.text).join("")).toBe(`${join(ws, "inner")}\n`);
    expect(process.cwd()).toBe(before);
  });

  it("refuses a second session while one is open", async () => {
    await expect(openDirectEngine({ roots: [ws] })).rejects.toThrow(/another direct-attach session is active/);
  });

  it("cancel interrupts a running execution and the session stays usable", async () => {
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const execution = session.execute(
      { kind: "text", name: "<spin>", text: "disp('go'); while true, end" },
      { onOutput: (e) => e.text === "go\n" && started() },
    );
    await running;
    session.cancel();
    const result = await execution;
    expect(result.ok).toBe(false);
    expect(result.error?.message).toMatch(/cancel|interrupt/i);
    const after = await session.execute({ kind: "text", name: "<after>", text: "y = 1;" });
    expect(after.ok).toBe(true);
  });
});
