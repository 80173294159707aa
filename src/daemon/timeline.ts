// Timeline ordering and gap fill. agent_stream events carry `seq` and `epoch`; the daemon does not
// replay what it sent while the socket was down, so after a gap (a jump in seq, or a resume) the
// missing events are fetched with fetch_agent_timeline_request and delivered, marked `replayed`,
// before any later event of that agent.
import { log } from "../log.js";
import { pushPayload, type AgentStreamPayload, type DaemonMessage, type ReplyTo, type SessionRequest } from "./protocol.js";

interface Held {
  message: DaemonMessage;
  frame: string | undefined;
}

interface Cursor {
  epoch: string;
  seq: number;
  filling: boolean;
  held: Held[];
}

export interface TimelineOrderHooks {
  /** Receives each event once, in seq order per agent (other messages pass straight through). */
  deliver: (message: DaemonMessage, frame: string | undefined) => void;
  /** Sends the request that fetches the missing events. */
  fetch: (request: SessionRequest & { type: "fetch_agent_timeline_request" }) => Promise<ReplyTo<"fetch_agent_timeline_request">>;
}

export class TimelineOrder {
  private readonly cursors = new Map<string, Cursor>();

  constructor(private readonly hooks: TimelineOrderHooks) {}

  /** Takes one agent_stream message from the socket. */
  accept(message: DaemonMessage, frame: string | undefined): void {
    this.order(message, frame, false);
  }

  /** Fills the gap of every agent seen so far (after a resume: the socket was down for a while). */
  fillAll(): void {
    for (const agentId of this.cursors.keys()) void this.fill(agentId);
  }

  private order(message: DaemonMessage, frame: string | undefined, afterFill: boolean): void {
    const p = pushPayload(message, "agent_stream");
    if (!p || typeof p.agentId !== "string" || typeof p.seq !== "number" || typeof p.epoch !== "string") {
      this.hooks.deliver(message, frame);
      return;
    }
    const cursor = this.cursors.get(p.agentId);
    if (!cursor || cursor.epoch !== p.epoch) {
      this.cursors.set(p.agentId, { epoch: p.epoch, seq: p.seq, filling: false, held: [] });
      this.hooks.deliver(message, frame);
      return;
    }
    if (cursor.filling) {
      cursor.held.push({ message, frame });
      return;
    }
    if (p.seq <= cursor.seq) {
      log.debug({ agentId: p.agentId, seq: p.seq }, "dropping a timeline event already delivered");
      return;
    }
    if (p.seq > cursor.seq + 1 && !afterFill) {
      cursor.held.push({ message, frame });
      void this.fill(p.agentId);
      return;
    }
    if (p.seq > cursor.seq + 1) log.warn({ agentId: p.agentId, from: cursor.seq + 1, to: p.seq - 1 }, "timeline events lost: the daemon no longer has them");
    cursor.seq = p.seq;
    this.hooks.deliver(message, frame);
  }

  /** Fetches the events after the last seq seen for an agent and delivers them marked `replayed`. */
  private async fill(agentId: string): Promise<void> {
    const cursor = this.cursors.get(agentId);
    if (!cursor || cursor.filling) return;
    cursor.filling = true;
    try {
      const reply = await this.hooks.fetch({
        type: "fetch_agent_timeline_request",
        agentId,
        direction: "after",
        cursor: { epoch: cursor.epoch, seq: cursor.seq },
        limit: 0,
        projection: "canonical",
      });
      const r = reply.payload;
      if (r.epoch && r.epoch !== cursor.epoch) {
        log.warn({ agentId }, "the agent's timeline was reset while disconnected; continuing from the new epoch");
        cursor.epoch = r.epoch;
        cursor.seq = 0;
      }
      const entries = [...(r.entries ?? [])].sort((a, b) => a.seqStart - b.seqStart);
      for (const entry of entries) {
        if (entry.seqEnd <= cursor.seq) continue;
        cursor.seq = entry.seqEnd;
        const payload: AgentStreamPayload = {
          agentId,
          event: { type: "timeline", provider: entry.provider, item: entry.item },
          timestamp: entry.timestamp,
          seq: entry.seqEnd,
          epoch: cursor.epoch,
          replayed: true,
        };
        this.hooks.deliver({ type: "agent_stream", payload }, undefined);
      }
    } catch (error) {
      log.warn({ agentId, err: (error as Error).message }, "could not fill a timeline gap");
    } finally {
      cursor.filling = false;
      const held = cursor.held.splice(0);
      for (const { message, frame } of held) this.order(message, frame, true);
    }
  }
}
