// The library's agent pieces (imported from the package entry, as a library user would) against
// the daemon double: following an agent and answering its permissions, tailing, watching the list,
// and waiting for a connection to come back.
import { describe, expect, it } from "vitest";
import {
  AgentFollower,
  DaemonClient,
  createAgentRequest,
  createdAgentId,
  tailAgent,
  waitForFinish,
  watchAgents,
  type AgentEntry,
  type AgentUpdatePayload,
  type DaemonMessage,
  type PermissionAnswer,
} from "../../src/index.js";
import { double, onCleanup, rejection } from "./helpers.js";
import type { DaemonDouble } from "../fixtures/daemon-double/server.js";

async function connected(d: DaemonDouble, options: { reconnect?: { initialDelayMs: number } } = {}): Promise<DaemonClient> {
  const c = new DaemonClient({ url: d.url, ...options });
  onCleanup(() => c.close());
  await c.connect();
  return c;
}

function eventTypes(messages: DaemonMessage[]): string[] {
  return messages.map((m) => String((m.payload?.event as { type?: string } | undefined)?.type ?? m.type));
}

describe("AgentFollower and waitForFinish", () => {
  it("delivers the agent's events from the first one, answers its permission request by the mode, and knows how the turn ended", async () => {
    const c = await connected(await double());
    const follower = new AgentFollower(c, { permissions: { mode: "allow" } });
    const messages: DaemonMessage[] = [];
    const answers: PermissionAnswer[] = [];
    follower.onMessage((message) => messages.push(message));
    follower.onAnswer((answer) => answers.push(answer));
    const agentId = createdAgentId(await c.request(createAgentRequest("list [permission]", { provider: "fake", cwd: "/tmp" })));
    follower.follow(agentId);
    const result = await waitForFinish(c, agentId, { follower });
    follower.stop();
    expect(result.status).toBe("idle");
    expect(follower.lastTurn).toBe("completed");
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({ agentId, request: { name: "Bash", kind: "execute" }, response: { behavior: "allow" }, source: "allow" });
    // The user_message event arrives before the agent_created status that names the agent: held, then delivered first.
    expect((messages[0]?.payload?.event as { item?: { type?: string } }).item?.type).toBe("user_message");
    const types = eventTypes(messages);
    expect(types).toContain("agent_permission_request");
    expect(types).toContain("agent_permission_resolved");
    expect(types.indexOf("agent_permission_request")).toBeLessThan(types.indexOf("turn_completed"));
    expect(messages.every((m) => m.payload?.agentId === agentId)).toBe(true);
  });

  it("without a permission mode leaves the request unanswered, and the wait reports it", async () => {
    const d = await double();
    const c = await connected(d);
    const follower = new AgentFollower(c);
    const agentId = createdAgentId(await c.request(createAgentRequest("needs [permission]", { provider: "fake", cwd: "/tmp" })));
    follower.follow(agentId);
    const result = await waitForFinish(c, agentId, { follower });
    follower.stop();
    expect(result.status).toBe("permission");
    expect(d.agents.get(agentId)?.pendingPermission).toBeDefined();
  });

  it("createdAgentId turns agent_create_failed into a FAILED error with the daemon's reason", async () => {
    const c = await connected(await double());
    const error = await rejection(c.request(createAgentRequest("hi", { provider: "nope", cwd: "/tmp" })).then(createdAgentId));
    expect(error.code).toBe("FAILED");
    expect(error.message).toBe("agent create failed: Unknown provider: nope");
  });
});

describe("tailAgent", () => {
  it("streams one agent's agent_stream messages until the turn ends, and refuses an agent that does not exist", async () => {
    const d = await double();
    const c = await connected(d);
    const agentId = createdAgentId(await c.request(createAgentRequest("first", { provider: "fake", cwd: "/tmp" })));
    await waitForFinish(c, agentId);
    const seen: DaemonMessage[] = [];
    const tail = await tailAgent(c, agentId, { onMessage: (message) => seen.push(message), untilTurnEnds: true });
    expect(tail.agentId).toBe(agentId);
    // Another agent streams at the same time: the tail shows none of it.
    const other = createdAgentId(await c.request(createAgentRequest("other [hold]", { provider: "fake", cwd: "/tmp" })));
    await c.request({ type: "send_agent_message_request", agentId, text: "again" });
    expect(await tail.turnEnded).toBe("completed");
    await waitForFinish(c, agentId);
    tail.stop();
    expect(seen.every((m) => m.type === "agent_stream" && m.payload?.agentId === agentId)).toBe(true);
    expect(eventTypes(seen).at(-1)).toBe("turn_completed");
    d.release(other);
    const missing = await rejection(tailAgent(c, "no-such-agent", { onMessage: () => undefined }));
    expect(missing.code).toBe("FAILED");
    expect(missing.message).toBe('no agent matches "no-such-agent"');
  });
});

describe("watchAgents", () => {
  it("delivers the listing first, then agent_update pushes", async () => {
    const c = await connected(await double());
    const before = createdAgentId(await c.request(createAgentRequest("x", { provider: "fake", cwd: "/tmp" })));
    await waitForFinish(c, before);
    const lists: AgentEntry[][] = [];
    const updates: AgentUpdatePayload[] = [];
    let sawWatched!: () => void;
    const watched = new Promise<void>((resolve) => (sawWatched = resolve));
    const stop = await watchAgents(c, {
      onList: (entries) => lists.push(entries),
      onUpdate: (update) => {
        updates.push(update);
        if (update.agent?.title === "watched") sawWatched();
      },
    });
    expect(lists).toHaveLength(1);
    expect(lists[0]?.map((e) => e.agent.id)).toContain(before);
    expect(updates.filter((u) => u.agent?.title === "watched")).toEqual([]);
    const created = createdAgentId(await c.request(createAgentRequest("hi", { provider: "fake", cwd: "/tmp", title: "watched" })));
    await watched;
    stop();
    expect(updates.find((u) => u.agent?.title === "watched")).toMatchObject({ kind: "upsert", agent: { id: created } });
  });
});

describe("DaemonClient.whenConnected", () => {
  it("resolves at once when connected, and times out while the connection does not come back", async () => {
    const d = await double();
    const c = await connected(d, { reconnect: { initialDelayMs: 60_000 } });
    await c.whenConnected(50, "ping");
    const reconnecting = new Promise<void>((resolve) => c.onState((s) => s === "reconnecting" && resolve()));
    d.drop();
    await reconnecting;
    const error = await rejection(c.whenConnected(50, "wait_for_finish_request"));
    expect(error.code).toBe("TIMEOUT");
    expect(error.message).toBe("wait_for_finish_request timed out after 50 ms waiting for the daemon connection to come back");
  });
});
