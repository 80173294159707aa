// Listing agents, and watching the list: agent_update pushes after the listing, and after a
// resume the list again, as upserts (pushes sent while the socket was down are gone).
import type { DaemonClient } from "./client.js";
import { pushPayload, type AgentEntry, type AgentUpdatePayload } from "./protocol.js";

/** The daemon's agents; with `subscribe`, the session gets agent_update pushes from now on. */
export async function listAgents(client: DaemonClient, options: { subscribe?: boolean } = {}): Promise<AgentEntry[]> {
  const reply = await client.request({ type: "fetch_agents_request", ...(options.subscribe ? { subscribe: true } : {}) });
  return reply.payload.entries ?? [];
}

export interface AgentWatchHandlers {
  /** The listing, once, before any update. */
  onList: (entries: AgentEntry[]) => void;
  onUpdate: (update: AgentUpdatePayload) => void;
}

/** Lists the agents and streams the updates; resolves once the listing is delivered, with the function that stops watching. */
export async function watchAgents(client: DaemonClient, handlers: AgentWatchHandlers): Promise<() => void> {
  // Listen before asking: a push can arrive in the same read as the reply that subscribed to it.
  let held: AgentUpdatePayload[] | undefined = [];
  const offUpdates = client.onMessage((message) => {
    const update = pushPayload(message, "agent_update");
    if (!update) return;
    if (held) held.push(update);
    else handlers.onUpdate(update);
  });
  let entries: AgentEntry[];
  try {
    entries = await listAgents(client, { subscribe: true });
  } catch (error) {
    offUpdates();
    throw error;
  }
  handlers.onList(entries);
  for (const update of held) handlers.onUpdate(update);
  held = undefined;
  const offReconnect = client.onReconnect(() => {
    listAgents(client, { subscribe: true }).then(
      (fresh) => {
        for (const entry of fresh) handlers.onUpdate({ kind: "upsert", ...entry });
      },
      () => undefined,
    );
  });
  return () => {
    offUpdates();
    offReconnect();
  };
}
