import { createHmac } from 'node:crypto';
import type { Hasher } from '../ports';

/**
 * HMAC-SHA-256 with a server secret, domain-separated by purpose, base64url without padding.
 * A plain hash of a 37-bit code space or of an IPv4 address could be reversed by brute force.
 */
export class HmacHasher implements Hasher {
  constructor(private readonly key: Uint8Array) {
    if (key.length < 32) throw new Error('HmacHasher: the key must be at least 32 bytes');
  }

  digest(purpose: 'code' | 'ip' | 'hash-id', value: string): string {
    return createHmac('sha256', this.key).update(`${purpose}\u0000${value}`, 'utf8').digest('base64url');
  }
}
