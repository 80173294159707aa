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
export { DaemonError, DaemonRpcError, DaemonCloseError, closeError, type DaemonErrorCode } from "./errors.js";
export { UrlPolicy, isLoopbackHost, allowPatternsFromEnv, type UrlPolicyOptions, type UrlDecision } from "./url-policy.js";
export {
  decidePermission,
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
