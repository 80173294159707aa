// Agent commands that follow a run: `run`, `send` and `wait`. Events are matched by agentId and
// replies by requestId, never by order (the daemon sends an agent's first events before the
// reply that names it).
import { randomUUID } from "node:crypto";
import { log } from "../log.js";
import type { DaemonClient } from "../daemon/client.js";
import { DaemonError } from "../daemon/errors.js";
import { decidePermission, type PermissionMode } from "../daemon/permissions.js";
import type { AgentStreamPayload, DaemonMessage, PermissionRequest } from "../daemon/protocol.js";
import type { DaemonRun } from "./daemon-context.js";
import { CliError, ExitCode, type ExitCodeValue } from "./exit-codes.js";

type WaitStatus = "idle" | "error" | "permission" | "timeout";

interface WaitResult {
  status: WaitStatus;
  error: string | null;
  lastMessage: string | null;
  final: Record<string, unknown> | null;
}

/** Messages about one agent, held until the agent's id is known. */
class AgentFollower {
  private agentId: string | undefined;
  private held: Array<{ message: DaemonMessage; frame: string | undefined }> = [];
  private readonly off: () => void;
  private openText = false;
  lastTurn: "completed" | "failed" | "canceled" | undefined;
  turnError: string | undefined;
  private readonly answering = new Set<string>();
  private readonly answered = new Set<string>();
  private inFlight: Promise<void>[] = [];

  constructor(
    private readonly run: DaemonRun,
    private readonly permissions: PermissionMode,
  ) {
    this.off = run.client.onMessage((message, frame) => this.onMessage(message, frame));
  }

  /** Starts delivering the messages of this agent, including those that arrived before its id was known. */
  follow(agentId: string): void {
    this.agentId = agentId;
    const held = this.held;
    this.held = [];
    for (const { message, frame } of held) this.onMessage(message, frame);
  }

  stop(): void {
    this.off();
    if (this.openText) this.run.out.write("\n");
    this.openText = false;
  }

  private onMessage(message: DaemonMessage, frame: string | undefined): void {
    const payload = message.payload as { agentId?: unknown } | undefined;
    const agentId = typeof payload?.agentId === "string" ? payload.agentId : undefined;
    const relevant = message.type === "agent_stream" || message.type === "agent_permission_request" || message.type === "agent_permission_resolved";
    if (!relevant || agentId === undefined) return;
    if (this.agentId === undefined) {
      if (this.held.length < 10_000) this.held.push({ message, frame });
      return;
    }
    if (agentId !== this.agentId) return;
    if (this.run.out.json) this.run.out.ndjson(message, frame);
    if (message.type === "agent_stream") this.onEvent(message.payload as unknown as AgentStreamPayload);
    else if (message.type === "agent_permission_request") this.onPermission((message.payload as { request: PermissionRequest }).request);
  }

  private onEvent(p: AgentStreamPayload): void {
    const event = p.event;
    if (event.type === "turn_started") this.lastTurn = undefined;
    if (event.type === "turn_completed") this.lastTurn = "completed";
    if (event.type === "turn_canceled") this.lastTurn = "canceled";
    if (event.type === "turn_failed") {
      this.lastTurn = "failed";
      this.turnError = typeof event.error === "string" ? event.error : "the turn failed";
    }
    if (this.run.out.json) return;
    const item = event.item as { type?: string; text?: string; name?: string; status?: string } | undefined;
    if (event.type === "timeline" && item?.type === "assistant_message" && typeof item.text === "string") {
      this.run.out.write(item.text);
      this.openText = !item.text.endsWith("\n");
      return;
    }
    if (this.openText && (event.type === "turn_completed" || event.type === "turn_failed" || event.type === "turn_canceled")) {
      this.run.out.write("\n");
      this.openText = false;
    }
    if (event.type === "timeline" && item?.type === "tool_call") log.info({ tool: item.name, status: item.status }, "agent tool call");
    else log.debug({ event: event.type }, "agent event");
  }

  onPermission(request: PermissionRequest): void {
    if (this.answering.has(request.id) || this.answered.has(request.id)) return;
    this.answering.add(request.id);
    const agentId = this.agentId as string;
    const done = decidePermission(this.permissions, agentId, request, { input: process.stdin, output: process.stderr })
      .then((decision) => {
        if (decision.response.behavior === "deny") {
          log.warn({ tool: request.name, kind: request.kind, source: decision.source }, `permission denied: ${decision.response.message ?? "denied"}`);
        } else {
          log.info({ tool: request.name, kind: request.kind, source: decision.source }, "permission allowed");
        }
        if (this.run.out.json) this.run.out.ndjson({ type: "deskless.permission_decision", payload: { agentId, requestId: request.id, name: request.name, kind: request.kind, response: decision.response, source: decision.source } });
        this.run.client.notify({ type: "agent_permission_response", agentId, requestId: request.id, response: decision.response });
        this.answered.add(request.id);
      })
      .catch((error: Error) => log.error({ err: error.message }, "could not answer a permission request"))
      .finally(() => this.answering.delete(request.id));
    this.inFlight.push(done);
  }

  /** Resolves once every permission seen so far has been answered. */
  async settled(): Promise<void> {
    const pending = this.inFlight;
    this.inFlight = [];
    await Promise.all(pending);
  }

  hasAnswered(id: string): boolean {
    return this.answered.has(id) || this.answering.has(id);
  }
}

function remaining(deadline: number | undefined): number | undefined {
  return deadline === undefined ? undefined : Math.max(1, deadline - Date.now());
}

/** Waits until the reconnecting client is back, gives up, or the deadline passes. */
function reconnected(client: DaemonClient, deadline: number | undefined): Promise<void> {
  if (client.state === "connected") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer =
      deadline !== undefined
        ? setTimeout(() => {
            off();
            reject(new DaemonError("timed out waiting for the connection to the daemon to come back", "TIMEOUT"));
          }, Math.max(0, deadline - Date.now()))
        : undefined;
    const off = client.onState((state) => {
      if (state === "connected") {
        off();
        clearTimeout(timer);
        resolve();
      } else if (state === "closed") {
        off();
        clearTimeout(timer);
        reject(new DaemonError("lost the connection to the daemon and could not resume the session", "DISCONNECTED"));
      }
    });
  });
}

/** wait_for_finish_request, re-issued after permissions are answered and after a resume. */
async function waitForFinish(run: DaemonRun, follower: AgentFollower | undefined, agentId: string, deadline: number | undefined): Promise<WaitResult> {
  for (;;) {
    const left = remaining(deadline);
    let reply: DaemonMessage;
    try {
      reply = await run.client.request({ type: "wait_for_finish_request", agentId, ...(left !== undefined ? { timeoutMs: left } : {}) }, { timeoutMs: left !== undefined ? left + 5_000 : 0 });
    } catch (error) {
      if (error instanceof DaemonError && error.code === "DISCONNECTED" && run.client.state === "reconnecting") {
        await reconnected(run.client, deadline);
        continue;
      }
      throw error;
    }
    const result = reply.payload as unknown as WaitResult;
    if (result.status !== "permission" || !follower) return result;
    await follower.settled();
    const pending = ((result.final?.pendingPermissions as PermissionRequest[] | undefined) ?? []).filter((p) => !follower.hasAnswered(p.id));
    for (const request of pending) follower.onPermission(request);
    await follower.settled();
    if (deadline !== undefined && Date.now() >= deadline) return { ...result, status: "timeout" };
  }
}

/** Exit code and message for a finished follow. */
function outcome(result: WaitResult, follower: AgentFollower | undefined, agentId: string, timeoutMs: number | undefined): ExitCodeValue {
  switch (result.status) {
    case "idle":
      if (follower?.lastTurn === "failed") throw new CliError(`agent ${agentId} failed: ${follower.turnError ?? "the turn failed"}`, ExitCode.failed);
      if (follower?.lastTurn === "canceled") throw new CliError(`agent ${agentId}: the turn was canceled`, ExitCode.failed);
      return ExitCode.ok;
    case "error":
      throw new CliError(`agent ${agentId} failed: ${result.error ?? follower?.turnError ?? "unknown error"}`, ExitCode.failed);
    case "permission":
      throw new CliError(`agent ${agentId} is waiting for a permission; answer it with: deskless daemon permit ${agentId} REQUEST_ID --allow|--deny`, ExitCode.failed);
    case "timeout":
      throw new CliError(`agent ${agentId} did not finish within ${timeoutMs ?? "the"} ms`, ExitCode.timeout);
  }
}

async function followToEnd(run: DaemonRun, follower: AgentFollower, agentId: string): Promise<ExitCodeValue> {
  const deadline = run.timeoutMs !== undefined ? Date.now() + run.timeoutMs : undefined;
  try {
    const result = await waitForFinish(run, follower, agentId, deadline);
    follower.stop();
    if (run.out.json) run.out.ndjson({ type: "deskless.result", payload: { agentId, status: result.status, lastTurn: follower.lastTurn ?? null, error: result.error ?? follower.turnError ?? null, lastMessage: result.lastMessage } });
    return outcome(result, follower, agentId, run.timeoutMs);
  } finally {
    follower.stop();
  }
}

export interface RunOptions {
  provider: string;
  cwd: string;
  title?: string;
  mode?: string;
  model?: string;
  permissions: PermissionMode;
}

export async function runAgent(run: DaemonRun, prompt: string, options: RunOptions): Promise<ExitCodeValue> {
  const follower = new AgentFollower(run, options.permissions);
  const config: Record<string, unknown> = { provider: options.provider, cwd: options.cwd };
  if (options.title !== undefined) config.title = options.title;
  if (options.mode !== undefined) config.modeId = options.mode;
  if (options.model !== undefined) config.model = options.model;
  const reply = await run.client.request({ type: "create_agent_request", config, initialPrompt: prompt, labels: {} }, { timeoutMs: 30_000 });
  const p = reply.payload as { status?: string; agentId?: string; error?: string };
  if (run.out.json) run.out.ndjson(reply);
  if (reply.type !== "status" || p.status !== "agent_created" || typeof p.agentId !== "string") {
    follower.stop();
    throw new CliError(`agent create failed: ${p.error ?? `unexpected reply ${reply.type}${p.status ? ` (${p.status})` : ""}`}`, ExitCode.failed);
  }
  log.info({ agentId: p.agentId }, "agent created");
  follower.follow(p.agentId);
  return followToEnd(run, follower, p.agentId);
}

export async function sendToAgent(run: DaemonRun, agentRef: string, text: string, options: { wait: boolean; permissions: PermissionMode }): Promise<ExitCodeValue> {
  const follower = options.wait ? new AgentFollower(run, options.permissions) : undefined;
  const reply = await run.client.request({ type: "send_agent_message_request", agentId: agentRef, text, messageId: randomUUID() }, { timeoutMs: 30_000 });
  const p = reply.payload as { accepted?: boolean; error?: string | null; agentId?: string };
  if (run.out.json) run.out.ndjson(reply);
  if (!p.accepted) {
    follower?.stop();
    throw new CliError(`the agent did not accept the message: ${p.error ?? "no reason given"}`, ExitCode.failed);
  }
  const agentId = p.agentId ?? agentRef;
  if (!follower) {
    if (!run.out.json) run.out.line(`sent to ${agentId}`);
    return ExitCode.ok;
  }
  follower.follow(agentId);
  return followToEnd(run, follower, agentId);
}

export async function waitAgent(run: DaemonRun, agentRef: string): Promise<ExitCodeValue> {
  const deadline = run.timeoutMs !== undefined ? Date.now() + run.timeoutMs : undefined;
  const result = await waitForFinish(run, undefined, agentRef, deadline);
  if (run.out.json) run.out.ndjson({ type: "wait_for_finish_response", payload: result });
  else {
    run.out.line(`status: ${result.status}`);
    if (result.lastMessage) run.out.line(`last message: ${result.lastMessage}`);
    if (result.error) run.out.line(`error: ${result.error}`);
  }
  const final = result.final as { id?: string } | null;
  return outcome(result, undefined, final?.id ?? agentRef, run.timeoutMs);
}
