// `deskless daemon run`, `send` and `wait`: the follower and the requests of src/daemon/, their
// output on stdout and their outcome as an exit code.
import { log } from "../log.js";
import { AgentFollower, turnEnd } from "../daemon/agent-follower.js";
import { acceptedAgentId, createAgentRequest, createdAgentId, sendAgentMessageRequest, waitForFinish, type AgentConfig } from "../daemon/agent-requests.js";
import type { DaemonOutput } from "../daemon/output.js";
import type { PermissionMode } from "../daemon/permissions.js";
import { pushPayload, type DaemonMessage, type WaitForFinishReply } from "../daemon/protocol.js";
import type { DaemonRun } from "./daemon-context.js";
import { CliError, ExitCode, type ExitCodeValue } from "./exit-codes.js";

/** Human output of a followed agent: the assistant's text as it streams; tool calls go to the log. */
class AgentTextPrinter {
  private openText = false;

  constructor(private readonly out: DaemonOutput) {}

  print(message: DaemonMessage): void {
    const event = pushPayload(message, "agent_stream")?.event;
    if (!event) return;
    const item = event.item;
    if (event.type === "timeline" && item?.type === "assistant_message" && typeof item.text === "string") {
      this.out.write(item.text);
      this.openText = !item.text.endsWith("\n");
      return;
    }
    if (turnEnd(event.type)) this.end();
    if (event.type === "timeline" && item?.type === "tool_call") log.info({ tool: item.name, status: item.status }, "agent tool call");
    else log.debug({ event: event.type }, "agent event");
  }

  /** Ends a line of assistant text left open. */
  end(): void {
    if (this.openText) this.out.write("\n");
    this.openText = false;
  }
}

/** A follower whose messages and permission answers go to stdout: as NDJSON with --json, else as text. */
class PrintedFollower extends AgentFollower {
  private readonly printer: AgentTextPrinter | undefined;

  constructor(run: DaemonRun, permissions: PermissionMode) {
    super(run.client, { permissions });
    const { out } = run;
    if (run.json) {
      this.onMessage((message, frame) => out.ndjson(message, frame));
      this.onAnswer(({ agentId, request, response, source }) =>
        out.ndjson({ type: "deskless.permission_decision", payload: { agentId, requestId: request.id, name: request.name, kind: request.kind, response, source } }),
      );
    } else {
      const printer = new AgentTextPrinter(out);
      this.onMessage((message) => printer.print(message));
      this.printer = printer;
    }
  }

  override stop(): void {
    super.stop();
    this.printer?.end();
  }
}

/** Exit code for a finished wait; failures are thrown as CliErrors that say what happened. */
function outcome(result: WaitForFinishReply, follower: AgentFollower | undefined, agentId: string, timeoutMs: number | undefined): ExitCodeValue {
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

function deadlineOf(run: DaemonRun): number | undefined {
  return run.timeoutMs !== undefined ? Date.now() + run.timeoutMs : undefined;
}

async function followToEnd(run: DaemonRun, follower: PrintedFollower, agentId: string): Promise<ExitCodeValue> {
  follower.follow(agentId);
  const result = await waitForFinish(run.client, agentId, { deadline: deadlineOf(run), follower });
  follower.stop();
  if (run.json) run.out.ndjson({ type: "deskless.result", payload: { agentId, status: result.status, lastTurn: follower.lastTurn ?? null, error: result.error ?? follower.turnError ?? null, lastMessage: result.lastMessage } });
  return outcome(result, follower, agentId, run.timeoutMs);
}

export async function runAgent(run: DaemonRun, prompt: string, options: AgentConfig & { permissions: PermissionMode }): Promise<ExitCodeValue> {
  const follower = new PrintedFollower(run, options.permissions);
  try {
    const reply = await run.client.request(createAgentRequest(prompt, options), { timeoutMs: 30_000 });
    if (run.json) run.out.ndjson(reply);
    const agentId = createdAgentId(reply);
    log.info({ agentId }, "agent created");
    return await followToEnd(run, follower, agentId);
  } finally {
    follower.stop();
  }
}

export async function sendToAgent(run: DaemonRun, agentRef: string, text: string, options: { wait: boolean; permissions: PermissionMode }): Promise<ExitCodeValue> {
  const follower = options.wait ? new PrintedFollower(run, options.permissions) : undefined;
  try {
    const reply = await run.client.request(sendAgentMessageRequest(agentRef, text), { timeoutMs: 30_000 });
    if (run.json) run.out.ndjson(reply);
    const agentId = acceptedAgentId(reply, agentRef);
    if (!follower) {
      if (!run.json) run.out.line(`sent to ${agentId}`);
      return ExitCode.ok;
    }
    return await followToEnd(run, follower, agentId);
  } finally {
    follower?.stop();
  }
}

export async function waitAgent(run: DaemonRun, agentRef: string): Promise<ExitCodeValue> {
  const result = await waitForFinish(run.client, agentRef, { deadline: deadlineOf(run) });
  if (run.json) run.out.ndjson({ type: "wait_for_finish_response", payload: result });
  else {
    run.out.line(`status: ${result.status}`);
    if (result.lastMessage) run.out.line(`last message: ${result.lastMessage}`);
    if (result.error) run.out.line(`error: ${result.error}`);
  }
  return outcome(result, undefined, result.final?.id ?? agentRef, run.timeoutMs);
}
