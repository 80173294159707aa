// The wasm runtime reaches the network only through JavaScript globals: webread and friends make a
// synchronous XMLHttpRequest, and the web glue knows fetch and WebSocket. On the worker thread
// those globals follow --allow-net like the direct engine's kernel rule. A refusal is thrown as a
// plain string, so the runtime's error message carries one line rather than a stack.

export const NETWORK_OFF = "network is off for this script: pass --allow-net";
/** Node has no synchronous XMLHttpRequest, so the runtime's web builtins cannot work on it. */
export const NO_SYNC_HTTP = "the wasm engine has no synchronous XMLHttpRequest under Node, which RunMat's web builtins need: use the direct engine (--engine direct) for webread";

function refusing(reason: string): new () => object {
  return class {
    constructor() {
      throw reason;
    }
  };
}

/** Sets the worker's network globals by the script's network rule. Call after the runtime has loaded. */
export function guardNetwork(allowNet: boolean): void {
  const scope = globalThis as Record<string, unknown>;
  if (!allowNet) {
    scope.fetch = () => Promise.reject(NETWORK_OFF);
    scope.WebSocket = refusing(NETWORK_OFF);
    scope.XMLHttpRequest = refusing(NETWORK_OFF);
  } else if (scope.XMLHttpRequest === undefined) {
    scope.XMLHttpRequest = refusing(NO_SYNC_HTTP);
  }
}
