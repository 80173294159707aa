// Answers to agent permission requests: allow, deny, ask on a TTY, or rules from a file.
//
// A rules file is JSON:
//   { "rules": [ { "tool": "Bash", "kind": "execute", "behavior": "allow" },
//                { "tool": "*", "kind": "edit", "behavior": "deny", "message": "read-only run" } ],
//     "default": "deny" }
// Rules match in order by tool name (`*` and `prefix*` globs) and kind (optional); the first match
// wins; without a match `default` applies ("allow", "deny" or "ask"; "deny" when absent).
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import type { PermissionRequest, PermissionResponse } from "./protocol.js";

export type PermissionBehavior = "allow" | "deny" | "ask";

export interface PermissionRule {
  tool?: string;
  kind?: string;
  behavior: PermissionBehavior;
  message?: string;
}

export interface PermissionRules {
  rules: PermissionRule[];
  default: PermissionBehavior;
}

export type PermissionMode = { mode: "allow" } | { mode: "deny" } | { mode: "ask" } | { mode: "rules"; file: string; rules: PermissionRules };

export interface PermissionDecision {
  response: PermissionResponse;
  /** How the decision was made, for logs and NDJSON output. */
  source: string;
}

const BEHAVIORS = new Set(["allow", "deny", "ask"]);

function invalid(file: string, why: string): Error {
  return Object.assign(new Error(`invalid permission rules in ${file}: ${why}`), { code: "USAGE" });
}

export function parsePermissionRules(text: string, file = "rules"): PermissionRules {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw invalid(file, (error as Error).message);
  }
  if (!data || typeof data !== "object" || !Array.isArray((data as { rules?: unknown }).rules)) throw invalid(file, 'expected an object with a "rules" array');
  const raw = data as { rules: unknown[]; default?: unknown };
  const rules = raw.rules.map((entry, index) => {
    const r = entry as Partial<PermissionRule> | null;
    if (!r || typeof r !== "object" || !BEHAVIORS.has(String(r.behavior))) throw invalid(file, `rule ${index + 1} needs "behavior": "allow", "deny" or "ask"`);
    if (r.tool !== undefined && typeof r.tool !== "string") throw invalid(file, `rule ${index + 1}: "tool" must be a string`);
    if (r.kind !== undefined && typeof r.kind !== "string") throw invalid(file, `rule ${index + 1}: "kind" must be a string`);
    return { tool: r.tool, kind: r.kind, behavior: r.behavior as PermissionBehavior, message: typeof r.message === "string" ? r.message : undefined };
  });
  const fallback = raw.default ?? "deny";
  if (!BEHAVIORS.has(String(fallback))) throw invalid(file, '"default" must be "allow", "deny" or "ask"');
  return { rules, default: fallback as PermissionBehavior };
}

/** Parses `--permissions ask|allow|deny|FILE`. */
export function parsePermissionMode(value: string): PermissionMode {
  if (value === "allow" || value === "deny" || value === "ask") return { mode: value };
  let text: string;
  try {
    text = readFileSync(value, "utf8");
  } catch (error) {
    throw Object.assign(new Error(`--permissions expects ask, allow, deny or a rules file; cannot read "${value}": ${(error as Error).message}`), { code: "USAGE" });
  }
  return { mode: "rules", file: value, rules: parsePermissionRules(text, value) };
}

function globMatch(pattern: string | undefined, value: string): boolean {
  if (pattern === undefined || pattern === "*") return true;
  if (pattern.endsWith("*")) return value.startsWith(pattern.slice(0, -1));
  return pattern === value;
}

/** The first rule that matches the request, or the default. */
export function matchRule(rules: PermissionRules, request: PermissionRequest): PermissionRule {
  for (const rule of rules.rules) {
    if (globMatch(rule.tool, request.name) && globMatch(rule.kind, request.kind)) return rule;
  }
  return { behavior: rules.default };
}

export interface AskIo {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream;
}

function describe(agentId: string, request: PermissionRequest): string {
  return `agent ${agentId} asks to use ${request.name} (${request.kind})${request.title ? `: ${request.title}` : ""}`;
}

async function ask(agentId: string, request: PermissionRequest, io: AskIo): Promise<PermissionDecision> {
  if (!io.input.isTTY) {
    return {
      response: { behavior: "deny", message: "denied by deskless: permission mode is ask but there is no terminal to ask on" },
      source: "ask-without-tty",
    };
  }
  const rl = createInterface({ input: io.input, output: io.output, terminal: true });
  try {
    const answer = (await rl.question(`${describe(agentId, request)}. Allow? [y/N] `)).trim().toLowerCase();
    return answer === "y" || answer === "yes"
      ? { response: { behavior: "allow" }, source: "ask" }
      : { response: { behavior: "deny", message: "denied at the deskless prompt" }, source: "ask" };
  } finally {
    rl.close();
  }
}

/** Decides one permission request under a mode; `ask` prompts on a TTY and denies otherwise. */
export async function decidePermission(mode: PermissionMode, agentId: string, request: PermissionRequest, io: AskIo): Promise<PermissionDecision> {
  switch (mode.mode) {
    case "allow":
      return { response: { behavior: "allow" }, source: "allow" };
    case "deny":
      return { response: { behavior: "deny", message: "denied by deskless (--permissions deny)" }, source: "deny" };
    case "ask":
      return ask(agentId, request, io);
    case "rules": {
      const rule = matchRule(mode.rules, request);
      if (rule.behavior === "ask") return ask(agentId, request, io);
      if (rule.behavior === "allow") return { response: { behavior: "allow" }, source: `rules:${mode.file}` };
      return { response: { behavior: "deny", message: rule.message ?? `denied by the rules in ${mode.file}` }, source: `rules:${mode.file}` };
    }
  }
}
