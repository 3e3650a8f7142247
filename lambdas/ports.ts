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

// ----- exports ----------------------------------------------------------------------------

/** One export signing key: DER ECDSA P-256 over SHA-256 (AWS KMS in AWS, a local key offline). */
export interface Signer {
  /** SignatureInfo.verification_key_id (the MCC, e.g. 302). */
  readonly keyId: string;
  /** SignatureInfo.verification_key_version (e.g. v1). */
  readonly keyVersion: string;
  /** ASN.1 DER `SEQUENCE { r, s }` over SHA-256(data). */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** Reads diagnosis keys for export (diagnosis keys table, GSI byRegionDay). */
export interface ExportKeyReader {
  /** Live keys of `region` submitted in hours [startHour, endHour), one page at a time. */
  keysSubmitted(region: string, startHour: number, endHour: number, nowMs: number): AsyncIterable<readonly StoredKey[]>;
}

/** Object storage (S3 in AWS, the embedded S3 server offline). */
export interface BlobStore {
  put(key: string, body: Uint8Array, meta: { readonly contentType: string; readonly cacheControl?: string }): Promise<void>;
}

// ----- metrics ----------------------------------------------------------------------------

/** One raw_metrics item: an accepted /save-metrics body (or one chunk of it). */
export interface RawMetricsItem {
  /** Random v4 UUID. */
  readonly id: string;
  /** The JSON text of the envelope (or chunk). */
  readonly raw: string;
  /** Epoch seconds (TTL): receive time + 24 h. */
  readonly expiresAt: number;
}

/** The raw_metrics table, written by save-metrics. */
export interface RawMetricsStore {
  /** Writes every item or none (one transaction); throws StorageError when storage fails. */
  putAll(items: readonly RawMetricsItem[]): Promise<void>;
}

/** Key of one aggregate_metrics counter: pk = region, sk = the 17-part upstream key. */
export interface AggregateKey {
  readonly pk: string;
  readonly sk: string;
}

/** Descriptive attributes SET on an aggregate counter (upstream §3 step 5; missing values ''). */
export interface AggregateAttributes {
  readonly identifier: string;
  /** UTC `YYYY-MM-DD` of the payload item's timestamp. */
  readonly date: string;
  readonly region: string;
  readonly appos: string;
  readonly osversion: string;
  readonly appversion: string;
  readonly manufacturer: string;
  readonly model: string;
  readonly androidreleaseversion: string;
  readonly pushnotification: string;
  readonly frameworkenabled: string;
  readonly state: string;
  /** Not part of the key (upstream): the first item's value within one increment wins. */
  readonly status: string;
  readonly hoursSinceExposureDetectedAt: string;
  /** Check-count bucket (`0`, `1-6`, `7-12`, `13-30`, `30+`) or the value as sent. */
  readonly count: string;
  /** Duration bucket of `durationInSeconds`. */
  readonly duration: string;
  readonly withDate: string;
  readonly isUserExposed: string;
  /** Upstream METRIC_VERSION (6). */
  readonly version: number;
}

/** Payload items to count once under one aggregate key: metricCount += itemIds.length. */
export interface AggregateIncrement {
  readonly key: AggregateKey;
  readonly attributes: AggregateAttributes;
  /** Ledger ids (identity hashes) of the payload items this increment counts; distinct. */
  readonly itemIds: readonly string[];
}

export type CountOutcome =
  /** Every ledger entry written and every counter moved, atomically. */
  | { readonly kind: 'counted' }
  /** Nothing written: these items were counted already (live ledger entries). */
  | { readonly kind: 'already-counted'; readonly itemIds: readonly string[] }
  /** Nothing written: concurrent transactions kept conflicting; retry later. */
  | { readonly kind: 'contention' };

/** aggregate_metrics + metrics_ledger, written by aggregate-metrics. */
export interface AggregateStore {
  /**
   * One transaction (≤ 100 actions, distinct keys): per item id a ledger entry that must not be
   * live yet, per increment `ADD metricCount` + SET of the attributes. Throws StorageError when
   * storage fails (throttling, validation).
   */
  countOnce(increments: readonly AggregateIncrement[], ledgerExpiresAt: number, nowMs: number): Promise<CountOutcome>;
}

/** App-reported error events (identifiers starting with `error`), as metrics. */
export interface ClientErrorEvents {
  record(identifier: string, count: number): void;
}
