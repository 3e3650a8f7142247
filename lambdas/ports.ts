/**
 * Narrow interfaces the domain needs from the outside world. Adapters in `lambdas/adapters/`
 * implement them; tests inject fakes (fixed clock, seeded randomness). Later features add their
 * stores here (CodeStore, KeyStore, BlobStore, Signer …), each a handful of methods.
 */

/** The time source of every handler, job and the edge function. Never call Date.now() directly. */
export interface Clock {
  /** Current time in epoch milliseconds. */
  nowMs(): number;
}

/** Cryptographically secure randomness. */
export interface Random {
  bytes(length: number): Uint8Array;
}
