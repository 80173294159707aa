// The live line a terminal shows during `deskless test`: passed, failed, running, elapsed. It is
// redrawn in place on stderr and erased before the results are printed.
import type { TestEvent } from "./run-tests.js";

export class ProgressLine {
  private passed = 0;
  private failed = 0;
  private running = 0;
  private readonly started = performance.now();
  private readonly ticker: NodeJS.Timeout;

  constructor(
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    // Elapsed time moves while a slow test runs; redraw it twice a second.
    this.ticker = setInterval(() => this.draw(), 500);
    this.ticker.unref();
    this.draw();
  }

  update(event: TestEvent): void {
    if (event.kind === "started") this.running += 1;
    else {
      this.running = Math.max(0, this.running - 1);
      if (event.disposition === "passed") this.passed += 1;
      else if (event.disposition !== "cancelled") this.failed += 1;
    }
    this.draw();
  }

  private draw(): void {
    const done = this.passed + this.failed;
    const elapsed = ((performance.now() - this.started) / 1000).toFixed(1);
    const text = `[${done}/${this.total}] ${this.passed} passed, ${this.failed} failed, ${this.running} running, ${elapsed} s`;
    this.stream.write(`\r\x1b[2K${text}`);
  }

  /** Erases the line. */
  stop(): void {
    clearInterval(this.ticker);
    this.stream.write("\r\x1b[2K");
  }
}
