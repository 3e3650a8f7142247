/**
 * One-time codes (reference §3): 10 characters in groups of 3, 3 and 4; a fair coin per group
 * picks letters of AEFHJKLQRSUWXYZ or digits of 2456789, then each character is uniform in the
 * chosen set. About 7.33 × 10^11 codes.
 */
import type { Random } from '../ports';

export const CODE_LETTERS = 'AEFHJKLQRSUWXYZ';
export const CODE_DIGITS = '2456789';
export const CODE_GROUPS = [3, 3, 4] as const;
export const CODE_LENGTH = 10;

/** Uniform integer in [0, n) by rejection sampling (no modulo bias). */
export function uniform(random: Random, n: number): number {
  const limit = 256 - (256 % n);
  for (;;) {
    const [byte] = random.bytes(1);
    if (byte < limit) return byte % n;
  }
}

export function generateCode(random: Random): string {
  let code = '';
  for (const size of CODE_GROUPS) {
    const alphabet = uniform(random, 2) === 0 ? CODE_LETTERS : CODE_DIGITS;
    for (let i = 0; i < size; i += 1) code += alphabet[uniform(random, alphabet.length)];
  }
  return code;
}

/**
 * Explicit normalisation (deviation 8): remove spaces and dashes, upper-case. Upstream matched
 * case-insensitively only by accident of a MySQL collation.
 */
export function normaliseCode(raw: string): string {
  return raw.replace(/[ -]/g, '').toUpperCase();
}

const GROUP_PATTERN = new RegExp(
  `^${CODE_GROUPS.map((n) => `(?:[${CODE_LETTERS}]{${n}}|[${CODE_DIGITS}]{${n}})`).join('')}$`,
);

/** True when a normalised code could have been issued (cheap pre-check before any lookup). */
export function isWellFormedCode(code: string): boolean {
  return GROUP_PATTERN.test(code);
}
