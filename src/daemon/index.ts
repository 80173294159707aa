// Public face of the daemon bridge.
export {
  createDaemonTransportFactory,
  TRANSPORT_DEFAULTS,
  type DaemonCloseEvent,
  type DaemonMessageHandler,
  type DaemonTransport,
  type DaemonTransportFactory,
  type DaemonTransportOptions,
  type TransportFactoryOptions,
} from "./transport.js";
export { DaemonClient, processClientId, sessionMessageText, type ClientState, type DaemonClientOptions, type DisconnectInfo, type ReconnectOptions } from "./client.js";
export { AgentFollower, turnEnd, type AgentFollowerOptions, type PermissionAnswer, type TurnEnd } from "./agent-follower.js";
export { acceptedAgentId, createAgentRequest, createdAgentId, sendAgentMessageRequest, waitForFinish, type AgentConfig } from "./agent-requests.js";
export { tailAgent, type AgentTail, type TailOptions } from "./agent-tail.js";
export { listAgents, watchAgents, type AgentWatchHandlers } from "./agent-list.js";
export { DaemonOutput } from "./output.js";
export { DaemonError, DaemonRpcError, DaemonCloseError, closeError, type DaemonErrorCode } from "./errors.js";
export { UrlPolicy, isLoopbackHost, allowPatternsFromEnv, type UrlPolicyOptions, type UrlDecision } from "./url-policy.js";
export {
  decidePermission,
  type AskIo,
  matchRule,
  parsePermissionMode,
  parsePermissionRules,
  type PermissionBehavior,
  type PermissionDecision,
  type PermissionMode,
  type PermissionRule,
  type PermissionRules,
} from "./permissions.js";
export * from "./protocol.js";
