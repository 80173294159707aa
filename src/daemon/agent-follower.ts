// Following one agent: its messages in order, the outcome of its turns, and answers to its
// permission requests. Events are matched by agentId, never by order: the daemon sends an agent's
// first events before the reply that names it, so they are held until the id is known.
import { log } from "../log.js";
import type { DaemonClient } from "./client.js";
import { Listeners } from "./listeners.js";
import { decidePermission, type AskIo, type PermissionDecision, type PermissionMode } from "./permissions.js";
import { pushPayload, type DaemonMessage, type PermissionRequest } from "./protocol.js";

export type TurnEnd = "completed" | "failed" | "canceled";

const TURN_ENDS: Record<string, TurnEnd | undefined> = { turn_completed: "completed", turn_failed: "failed", turn_canceled: "canceled" };

/** How a turn ended, for the agent_stream event types that end one; undefined for the others. */
export function turnEnd(eventType: string): TurnEnd | undefined {
  return TURN_ENDS[eventType];
}

/** A permission request of the followed agent and the decision sent back for it. */
export interface PermissionAnswer extends PermissionDecision {
  agentId: string;
  request: PermissionRequest;
}

export interface AgentFollowerOptions {
  /** Answers the agent's permission requests; without it they are left to someone else. */
  permissions?: PermissionMode;
  /** Where `ask` prompts (default: stdin and stderr). */
  io?: AskIo;
}

const FOLLOWED_TYPES = new Set(["agent_stream", "agent_permission_request", "agent_permission_resolved"]);

/** Messages held before the agent's id is known; beyond this they are dropped. */
const HOLD_LIMIT = 10_000;

export class AgentFollower {
  private agentId: string | undefined;
  private held: Array<{ message: DaemonMessage; frame: string | undefined }> = [];
  private readonly off: () => void;
  /** How the last turn ended; undefined while a turn runs or before the first one ends. */
  lastTurn: TurnEnd | undefined;
  turnError: string | undefined;
  private readonly answering = new Set<string>();
  private readonly answered = new Set<string>();
  private inFlight: Promise<void>[] = [];
  private readonly messages = new Listeners<DaemonMessage, string | undefined>("agent follower");
  private readonly answers = new Listeners<PermissionAnswer>("agent follower");

  /** Starts listening at once, so nothing about the agent is missed before follow() names it. */
  constructor(
    private readonly client: DaemonClient,
    private readonly options: AgentFollowerOptions = {},
  ) {
    this.off = client.onMessage((message, frame) => this.take(message, frame));
  }

  /**
   * The followed agent's agent_stream, agent_permission_request and agent_permission_resolved
   * messages, in order. `frame` is as for DaemonClient.onMessage.
   */
  onMessage(fn: (message: DaemonMessage, frame: string | undefined) => void): () => void {
    return this.messages.add(fn);
  }

  /** Each permission decision, just before it is sent to the daemon. */
  onAnswer(fn: (answer: PermissionAnswer) => void): () => void {
    return this.answers.add(fn);
  }

  /** Starts delivering the messages of this agent, including those that arrived before its id was known. */
  follow(agentId: string): void {
    this.agentId = agentId;
    const held = this.held;
    this.held = [];
    for (const { message, frame } of held) this.take(message, frame);
  }

  stop(): void {
    this.off();
  }

  private take(message: DaemonMessage, frame: string | undefined): void {
    const agentId = message.payload?.agentId;
    if (!FOLLOWED_TYPES.has(message.type) || typeof agentId !== "string") return;
    if (this.agentId === undefined) {
      if (this.held.length < HOLD_LIMIT) this.held.push({ message, frame });
      return;
    }
    if (agentId !== this.agentId) return;
    this.messages.emit(message, frame);
    const stream = pushPayload(message, "agent_stream");
    if (stream) this.track(stream.event.type, stream.event.error);
    const asked = pushPayload(message, "agent_permission_request");
    if (asked) this.answer(asked.request);
  }

  private track(eventType: string, error: unknown): void {
    if (eventType === "turn_started") this.lastTurn = undefined;
    const end = turnEnd(eventType);
    if (end) this.lastTurn = end;
    if (end === "failed") this.turnError = typeof error === "string" ? error : "the turn failed";
  }

  /** True when the follower answers permission requests (it was given a permission mode). */
  get answersPermissions(): boolean {
    return this.options.permissions !== undefined;
  }

  /** Decides a permission request of the followed agent by the permission mode and sends the answer, once per request. */
  answer(request: PermissionRequest): void {
    const mode = this.options.permissions;
    if (!mode || this.answering.has(request.id) || this.answered.has(request.id)) return;
    this.answering.add(request.id);
    const agentId = this.agentId as string;
    const done = decidePermission(mode, agentId, request, this.options.io ?? { input: process.stdin, output: process.stderr })
      .then((decision) => {
        if (decision.response.behavior === "deny") {
          log.warn({ tool: request.name, kind: request.kind, source: decision.source }, `permission denied: ${decision.response.message ?? "denied"}`);
        } else {
          log.info({ tool: request.name, kind: request.kind, source: decision.source }, "permission allowed");
        }
        this.answers.emit({ agentId, request, ...decision });
        this.client.notify({ type: "agent_permission_response", agentId, requestId: request.id, response: decision.response });
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
