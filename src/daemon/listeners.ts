// The listeners of one event, for the transport and the client alike.
import { log } from "../log.js";

/**
 * Listeners called in the order they were added; one that throws is logged and does not stop the
 * others. Fixed arity (two arguments at most): no rest-argument arrays on the hot path.
 */
export class Listeners<A = undefined, B = undefined> {
  private fns: Array<(a: A, b: B) => void> = [];

  /** `owner` names who calls them in the log line of a listener that throws. */
  constructor(private readonly owner: string) {}

  /** Adds a listener; returns the function that removes it. */
  add(fn: (a: A, b: B) => void): () => void {
    // Copy on write: a listener added or removed during emit() takes effect from the next event.
    this.fns = [...this.fns, fn];
    return () => {
      this.fns = this.fns.filter((f) => f !== fn);
    };
  }

  emit(a: A, b?: B): void {
    const fns = this.fns;
    for (let i = 0; i < fns.length; i += 1) {
      try {
        (fns[i] as (a: A, b: B) => void)(a, b as B);
      } catch (error) {
        log.error({ err: error }, `a ${this.owner} listener threw`);
      }
    }
  }
}
