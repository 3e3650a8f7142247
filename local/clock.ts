import type { Clock } from '../lambdas/ports';

/**
 * The clock of the local runtime: real time plus an offset set through `POST /_local/clock`.
 * Every handler, the edge function and the scheduler read this one instance, so moving it moves
 * the whole system (expiry, bans, retention, bundle windows).
 */
export class OffsetClock implements Clock {
  private offsetMs = 0;

  constructor(private readonly base: () => number = Date.now) {}

  nowMs(): number {
    return this.base() + this.offsetMs;
  }

  /** Absolute, not cumulative. */
  setOffsetSeconds(seconds: number): void {
    this.offsetMs = Math.round(seconds * 1000);
  }

  get offsetSeconds(): number {
    return this.offsetMs / 1000;
  }
}
