// Tailing one agent: its agent_stream messages as they come (in seq order, gaps filled after a
// resume), until a turn ends if asked.
import { AgentFollower, turnEnd, type TurnEnd } from "./agent-follower.js";
import type { DaemonClient } from "./client.js";
import { DaemonError } from "./errors.js";
import { pushPayload, type DaemonMessage } from "./protocol.js";

export interface TailOptions {
  /** Each agent_stream message of the agent; `frame` is as for DaemonClient.onMessage. */
  onMessage: (message: DaemonMessage, frame: string | undefined) => void;
  /** Stop delivering after the next turn_completed, turn_failed or turn_canceled. */
  untilTurnEnds?: boolean;
}

export interface AgentTail {
  agentId: string;
  /** Resolves with how the next turn ended. */
  turnEnded: Promise<TurnEnd>;
  stop(): void;
}

/** Resolves the agent (id, unique prefix or title) and streams its events; a FAILED error when none matches. */
export async function tailAgent(client: DaemonClient, agentRef: string, options: TailOptions): Promise<AgentTail> {
  // Listen before asking: events can arrive in the same read as the reply.
  const follower = new AgentFollower(client);
  let ended: TurnEnd | undefined;
  let resolveEnded!: (end: TurnEnd) => void;
  const turnEnded = new Promise<TurnEnd>((resolve) => (resolveEnded = resolve));
  follower.onMessage((message, frame) => {
    const stream = pushPayload(message, "agent_stream");
    if (!stream || (ended && options.untilTurnEnds)) return;
    options.onMessage(message, frame);
    const end = ended ? undefined : turnEnd(stream.event.type);
    if (end === undefined) return;
    ended = end;
    resolveEnded(end);
  });
  let agentId: string | undefined;
  try {
    agentId = (await client.request({ type: "fetch_agent_request", agentId: agentRef })).payload.agent?.id;
  } catch (error) {
    follower.stop();
    throw error;
  }
  if (!agentId) {
    follower.stop();
    throw new DaemonError(`no agent matches "${agentRef}"`, "FAILED");
  }
  follower.follow(agentId);
  return { agentId, turnEnded, stop: () => follower.stop() };
}
