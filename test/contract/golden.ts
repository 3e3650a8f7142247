/**
 * Helpers for the wire contract tests: hand-written hex and golden binary fixtures.
 *
 * Golden files live in test/contract/fixtures/ and are committed. Tests compare against them;
 * they are rewritten only when asked explicitly:
 *   UPDATE_GOLDEN=1 npx jest --selectProjects contract
 * and a rewrite is a wire change to review byte by byte (`xxd` the old and new file).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const FIXTURES_DIR = path.join(__dirname, 'fixtures');

/**
 * Bytes from hex written for humans: whitespace is ignored and `//` starts a comment to the end
 * of the line, so each field can be annotated with its tag and length.
 */
export function hex(text: string): Buffer {
  const digits = text
    .split('\n')
    .map((line) => line.replace(/\/\/.*$/, ''))
    .join('')
    .replace(/\s+/g, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(digits)) {
    throw new Error(`hex(): not an even run of hex digits: ${digits}`);
  }
  return Buffer.from(digits, 'hex');
}

/** Space-separated lower-case hex, for readable byte diffs in failures. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').replace(/(..)(?!$)/g, '$1 ');
}

/** Bytes 1, 2, 3 … `length` (mod 256): recognisable, deterministic test data. */
export function counting(length: number, start = 1): Buffer {
  return Buffer.from(Array.from({ length }, (_, i) => (start + i) & 0xff));
}

/** The committed golden bytes of `name`; with UPDATE_GOLDEN=1 first (re)writes them from `actual`. */
export function golden(name: string, actual: Uint8Array): Buffer {
  const file = path.join(FIXTURES_DIR, name);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, actual);
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(
      `golden fixture ${name} is missing; create it with UPDATE_GOLDEN=1 npx jest --selectProjects contract`,
      { cause: err },
    );
  }
}

/** The part of a generated static message class the golden round trip needs. */
export interface MessageType<P, M> {
  encode(message: P): { finish(): Uint8Array };
  decode(bytes: Uint8Array): M;
  toObject(message: M, options?: { longs?: NumberConstructor }): { [k: string]: unknown };
}

/** One golden round trip: `input` encodes to the bytes of fixtures/`fixture` and back. */
export interface GoldenCase {
  readonly fixture: string;
  readonly input: object;
  encode(): Uint8Array;
  /** Decodes and converts to a plain object (64-bit integers as numbers, only fields present). */
  decodeToPlain(bytes: Uint8Array): object;
}

export function goldenCase<P extends object, M>(fixture: string, type: MessageType<P, M>, input: P): GoldenCase {
  return {
    fixture,
    input,
    encode: () => type.encode(input).finish(),
    decodeToPlain: (bytes) => type.toObject(type.decode(bytes), { longs: Number }),
  };
}
