/**
 * Deterministic stand-ins for the Clock and Random ports (STYLE rule 2): a fixed clock that only
 * moves when a test moves it, a seeded byte stream, and a scripted byte source.
 */
import { createHash } from 'node:crypto';
import type { Clock, Random } from '../../../lambdas/ports';

/** A clock that stands still until the test sets or advances it. */
export class FixedClock implements Clock {
  constructor(private ms: number) {}

  nowMs(): number {
    return this.ms;
  }

  set(ms: number): void {
    this.ms = ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}

/** Seeded randomness: the SHA-256 counter stream SHA-256(`${seed}:${counter}`), 32 bytes per block. */
export class SeededRandom implements Random {
  private pending: Buffer = Buffer.alloc(0);
  private counter = 0;
  /** Number of bytes handed out so far. */
  consumed = 0;

  constructor(private readonly seed: string | number) {}

  bytes(length: number): Uint8Array {
    while (this.pending.length < length) {
      const block = createHash('sha256').update(`${this.seed}:${this.counter}`).digest();
      this.counter += 1;
      this.pending = Buffer.concat([this.pending, block]);
    }
    const out = new Uint8Array(this.pending.subarray(0, length));
    this.pending = this.pending.subarray(length);
    this.consumed += length;
    return out;
  }
}

/** Hands out exactly the scripted bytes, in order; running dry is a test failure. */
export class ScriptedRandom implements Random {
  private position = 0;

  constructor(private readonly script: readonly number[]) {}

  get consumed(): number {
    return this.position;
  }

  bytes(length: number): Uint8Array {
    if (this.position + length > this.script.length) throw new Error('ScriptedRandom: script exhausted');
    const out = Uint8Array.from(this.script.slice(this.position, this.position + length));
    this.position += length;
    return out;
  }
}

/** Epoch ms of a UTC calendar time (month 1-based), for readable fixed clocks. */
export const utc = (year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): number =>
  Date.UTC(year, month - 1, day, hour, minute, second, ms);
