// Output of daemon messages with backpressure. A socket read carries hundreds of events: lines
// written in one turn of the event loop leave in one write. When the stream stops draining (a
// reader that does not read), the client stops reading from the daemon socket until it drains, so
// memory stays bounded and the backlog stays in the daemon and the kernel.
import type { Writable } from "node:stream";
import { onBrokenPipe } from "../broken-pipe.js";
import { log } from "../log.js";
import type { DaemonClient } from "./client.js";
import { sessionMessageText } from "./frames.js";

/** A batch this large is written at once instead of at the end of the event loop turn. */
const BATCH_BYTES = 64 * 1024;

export class DaemonOutput {
  private paused = false;
  private client: DaemonClient | undefined;
  private broken = false;
  private batch: string[] = [];
  private batchBytes = 0;
  private scheduled = false;
  private readonly flushSoon = () => {
    this.scheduled = false;
    this.flush();
  };

  constructor(private readonly stream: Writable = process.stdout) {
    onBrokenPipe(
      stream,
      () => {
        this.broken = true;
        log.debug("stdout closed by the reader");
      },
      (error) => log.error({ err: error.message }, "cannot write to stdout"),
    );
  }

  /** The client to pause while the stream does not drain. */
  attach(client: DaemonClient): void {
    this.client = client;
  }

  write(text: string): void {
    if (this.broken) return;
    this.batch.push(text);
    this.batchBytes += text.length;
    if (this.batchBytes >= BATCH_BYTES) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushSoon);
    }
  }

  private flush(): void {
    if (this.batch.length === 0 || this.broken) return;
    const chunk = this.batch.length === 1 ? (this.batch[0] as string) : this.batch.join("");
    this.batch = [];
    this.batchBytes = 0;
    if (!this.stream.write(chunk) && !this.paused) {
      this.paused = true;
      this.client?.pause();
      this.stream.once("drain", () => {
        this.paused = false;
        this.client?.resume();
      });
    }
  }

  line(text: string): void {
    this.write(`${text}\n`);
  }

  /** One JSON line. For a daemon message, pass the frame its listener got: its own text goes out as is. */
  ndjson(value: unknown, frame?: string): void {
    this.write(`${frame !== undefined ? sessionMessageText(frame) : JSON.stringify(value)}\n`);
  }

  /** Resolves once everything written so far has left the process. */
  flushed(): Promise<void> {
    this.flush();
    if (this.broken || this.stream.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => this.stream.write("", () => resolve()));
  }
}
