// The requests that start and finish an agent's turn, with their replies read: create an agent,
// send it a prompt, and wait for the turn to finish while its permissions are answered.
import { randomUUID } from "node:crypto";
import type { AgentFollower } from "./agent-follower.js";
import type { DaemonClient } from "./client.js";
import { DaemonError } from "./errors.js";
import type { ReplyTo, WaitForFinishReply } from "./protocol.js";

export interface AgentConfig {
  provider: string;
  cwd: string;
  title?: string;
  /** The provider's mode id. */
  mode?: string;
  model?: string;
}

export function createAgentRequest(prompt: string, options: AgentConfig) {
  const config: Record<string, unknown> = { provider: options.provider, cwd: options.cwd };
  if (options.title !== undefined) config.title = options.title;
  if (options.mode !== undefined) config.modeId = options.mode;
  if (options.model !== undefined) config.model = options.model;
  return { type: "create_agent_request" as const, config, initialPrompt: prompt, labels: {} };
}

/** The new agent's id from the reply to create_agent_request; a FAILED error for agent_create_failed or any other reply. */
export function createdAgentId(reply: ReplyTo<"create_agent_request">): string {
  const p = reply.payload;
  if (reply.type === "status" && p.status === "agent_created" && typeof p.agentId === "string") return p.agentId;
  throw new DaemonError(`agent create failed: ${p.error ?? `unexpected reply ${reply.type}${p.status ? ` (${p.status})` : ""}`}`, "FAILED");
}

/** `agentRef` is an agent id, a unique id prefix or a title. */
export function sendAgentMessageRequest(agentRef: string, text: string) {
  return { type: "send_agent_message_request" as const, agentId: agentRef, text, messageId: randomUUID() };
}

/** The agent's id from the reply to send_agent_message_request; a FAILED error when the agent did not accept the message. */
export function acceptedAgentId(reply: ReplyTo<"send_agent_message_request">, agentRef: string): string {
  const p = reply.payload;
  if (!p.accepted) throw new DaemonError(`the agent did not accept the message: ${p.error ?? "no reason given"}`, "FAILED");
  return p.agentId ?? agentRef;
}

function remaining(deadline: number | undefined): number | undefined {
  return deadline === undefined ? undefined : Math.max(1, deadline - Date.now());
}

/** The daemon answers wait_for_finish_request at its own time limit; this much later the request itself gives up. */
const WAIT_REPLY_GRACE_MS = 5_000;

/**
 * Waits for the agent's turn to finish (wait_for_finish_request). The request is asked again after
 * a resume, and, with a follower that answers permissions, after it answered those the agent waits on.
 * `deadline` is a Date.now() time; past it the result has status "timeout".
 */
export async function waitForFinish(client: DaemonClient, agentId: string, options: { deadline?: number; follower?: AgentFollower } = {}): Promise<WaitForFinishReply> {
  const { deadline, follower } = options;
  for (;;) {
    const left = remaining(deadline);
    let reply: ReplyTo<"wait_for_finish_request">;
    try {
      reply = await client.request({ type: "wait_for_finish_request", agentId, ...(left !== undefined ? { timeoutMs: left } : {}) }, { timeoutMs: left !== undefined ? left + WAIT_REPLY_GRACE_MS : 0 });
    } catch (error) {
      if (error instanceof DaemonError && error.code === "DISCONNECTED" && client.state === "reconnecting") {
        await client.whenConnected(remaining(deadline) ?? 0, "wait_for_finish_request");
        continue;
      }
      throw error;
    }
    const result = reply.payload;
    if (result.status !== "permission" || !follower?.answersPermissions) return result;
    await follower.settled();
    const pending = (result.final?.pendingPermissions ?? []).filter((p) => !follower.hasAnswered(p.id));
    for (const request of pending) follower.answer(request);
    await follower.settled();
    if (deadline !== undefined && Date.now() >= deadline) return { ...result, status: "timeout" };
  }
}
