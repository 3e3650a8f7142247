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

/**
 * Keyed one-way hashing (HMAC-SHA-256 with a server secret) of low-entropy or personal values:
 * one-time codes, client IPs, hashIds. Never store those in clear (deviations 6–8).
 */
export interface Hasher {
  digest(purpose: 'code' | 'ip' | 'hash-id', value: string): string;
}

/** Server events (upstream OTK* counters), as metrics without personal data. */
export interface Events {
  /** `source` is the token's region label (e.g. 302, ON), never the token. */
  record(name: ServerEvent, count: number, source: string): void;
}

export type ServerEvent =
  | 'OTKGenerated'
  | 'OTKRegenerated'
  | 'OTKClaimed'
  | 'ClaimFailed'
  | 'ClaimBanned'
  | 'Upload'
  | 'FirstUpload'
  | 'KeysStored'
  | 'KeysDuplicate'
  | 'KeysOutsideWindow';

// ----- submission -------------------------------------------------------------------------

/** A server key pair as issued with a one-time code, before and after its claim. */
export interface KeyPairRecord {
  readonly serverPublicKey: Uint8Array;
  readonly serverPrivateKey: Uint8Array;
  /** Set on claim; the upload must come from exactly this app key. */
  readonly appPublicKey?: Uint8Array;
  readonly remainingKeys: number;
  /** Opaque originator id derived from the issuing token (never the token). */
  readonly originator: string;
  /** Region label of the issuing token, for statistics. */
  readonly source: string;
  readonly createdAtMs: number;
  /** Epoch seconds; after it the key pair (or the unclaimed code) is invalid. */
  readonly expiresAt: number;
}

export interface NewCode {
  readonly codeHash: string;
  readonly keyPair: KeyPairRecord;
  readonly hashIdHash?: string;
  /** When regenerating for a hashId: the unclaimed code being replaced. */
  readonly replacing?: { readonly codeHash: string; readonly serverPublicKey: Uint8Array };
}

export type InsertCodeOutcome =
  | { readonly kind: 'inserted' }
  | { readonly kind: 'retry' }
  | { readonly kind: 'hash-id-claimed' }
  | { readonly kind: 'hash-id-unclaimed'; readonly current: { readonly codeHash: string; readonly serverPublicKey: Uint8Array } };

export interface PendingCode {
  readonly serverPublicKey: Uint8Array;
  /** Region label of the issuing token, for statistics. */
  readonly source: string;
  readonly createdAtMs: number;
  readonly expiresAt: number;
  readonly hashIdHash?: string;
}

export type ClaimOutcome =
  | { readonly kind: 'claimed'; readonly serverPublicKey: Uint8Array; readonly source: string }
  | { readonly kind: 'app-key-in-use' }
  | { readonly kind: 'code-invalid' };

/** One-time codes and their claim (submission table). */
export interface CodeStore {
  insertCode(code: NewCode, nowMs: number): Promise<InsertCodeOutcome>;
  findCode(codeHash: string, nowMs: number): Promise<PendingCode | undefined>;
  isAppKeyInUse(appPublicKey: Uint8Array, nowMs: number): Promise<boolean>;
  /** Atomically: destroy the code, bind the app key, set the key pair's validity. */
  claim(input: { codeHash: string; code: PendingCode; appPublicKey: Uint8Array; keyPairExpiresAt: number }, nowMs: number): Promise<ClaimOutcome>;
}

export interface BanRecord {
  readonly failures: number;
  readonly lastFailureMs: number;
}

/** Claim-failure counters keyed by the HMAC of the client IP (submission table, 1 h TTL). */
export interface BanStore {
  /** The live record (last failure less than the ban duration ago), if any. */
  get(ipHash: string, nowMs: number): Promise<BanRecord | undefined>;
  /** Adds one failure (restarting an expired counter at 1) and returns the new record. */
  recordFailure(ipHash: string, nowMs: number): Promise<BanRecord>;
  clear(ipHash: string): Promise<void>;
}

export interface StoredKey {
  readonly keyData: Uint8Array;
  readonly rollingStartIntervalNumber: number;
  readonly rollingPeriod: number;
  readonly transmissionRiskLevel: number;
  /** Absent when the app did not send one (exported as CONFIRMED_TEST). */
  readonly reportType?: number;
  /** Absent when the app did not send one (exported as 0). */
  readonly daysSinceOnsetOfSymptoms?: number;
}

export type StoreKeysOutcome =
  | { readonly kind: 'stored'; readonly inserted: number; readonly duplicates: number; readonly firstUpload: boolean }
  | { readonly kind: 'quota-exhausted' }
  | { readonly kind: 'over-quota' }
  | { readonly kind: 'key-pair-invalid' };

/** Server key pairs and diagnosis keys (submission + diagnosis keys tables). */
export interface KeyPairStore {
  get(serverPublicKey: Uint8Array, nowMs: number): Promise<KeyPairRecord | undefined>;
  /**
   * Atomically: store the keys not yet known (global dedupe by key data) and charge only those
   * to the key pair's quota, which must stay ≥ 0 and stay bound to `appPublicKey`.
   */
  storeKeys(
    input: {
      serverPublicKey: Uint8Array;
      appPublicKey: Uint8Array;
      keys: readonly StoredKey[];
      region: string;
      submissionHour: number;
      originator: string;
      /** Epoch seconds after which the stored keys are gone (TTL and read filter). */
      keysExpireAt: number;
    },
    nowMs: number,
  ): Promise<StoreKeysOutcome>;
}
