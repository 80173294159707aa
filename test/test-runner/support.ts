// The fixture project, copied fresh for each test, and readers for what `deskless test` writes.
import { execFileSync } from "node:child_process";
import { cpSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli, type CliOptions, type CliResult } from "../support/cli.js";
import { tempDir } from "../support/workspace.js";

export const FIXTURE = fileURLToPath(new URL("../fixtures/test-project", import.meta.url));
export const JUNIT_XSD = fileURLToPath(new URL("../support/junit.xsd", import.meta.url));

/** A copy of the fixture project in a fresh temp folder. */
export function fixtureProject(): { dir: string; cleanup: () => void } {
  const temp = tempDir("deskless-test-");
  cpSync(FIXTURE, temp.dir, { recursive: true });
  return temp;
}

/** Parses NDJSON stdout into records. */
export function records(stdout: string): Record<string, unknown>[] {
  return stdout
    .split("\n")
    .filter((line) => line.length)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** An XPath expression's value in an XML file, by libxml2's parser. */
export function xpath(file: string, expression: string): string {
  return execFileSync("xmllint", ["--xpath", expression, file], { encoding: "utf8" }).trim();
}

/** Validates `file` against the JUnit schema; throws with xmllint's message when it does not. */
export function validateJunit(file: string): void {
  execFileSync("xmllint", ["--noout", "--schema", JUNIT_XSD, file], { stdio: "pipe" });
}

export function readJson(dir: string, name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(dir, name), "utf8")) as Record<string, unknown>;
}

/** Runs the CLI as outside GitHub Actions, whatever runs these tests, unless `env` says otherwise. */
export function runDeskless(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return runCli(args, { ...options, env: { GITHUB_ACTIONS: "", GITHUB_STEP_SUMMARY: "", GITHUB_WORKSPACE: "", ...options.env } });
}
