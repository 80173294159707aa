// A reader that stops early (`deskless ... | head`) makes writes to stdout fail with EPIPE. The
// commands take that as "stop writing" and end quietly, like a Unix tool under SIGPIPE.

/** True for the error of writing to a pipe whose reader has gone. */
export function isBrokenPipe(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "EPIPE";
}

/**
 * Calls `onGone` when writing to `stream` fails because its reader has gone, and `onOther` for any
 * other write error. Returns the function that stops listening.
 */
export function onBrokenPipe(stream: NodeJS.EventEmitter, onGone: () => void, onOther: (error: Error) => void = () => undefined): () => void {
  const listener = (error: Error) => (isBrokenPipe(error) ? onGone() : onOther(error));
  stream.on("error", listener);
  return () => stream.off("error", listener);
}
