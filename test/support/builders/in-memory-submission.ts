/**
 * In-memory fakes of the submission ports, following the contracts of lambdas/ports.ts and the
 * behaviour of the DynamoDB adapter (lambdas/adapters/dynamo-submission.ts): the same item types
 * per `pk`, the same conditions, every read ignores items whose `expiresAt` (epoch seconds) has
 * passed, and every multi-item change is all-or-nothing.
 *
 * Fault injection: `failWith('bans.clear')` makes that method reject (a StorageError by default)
 * until `heal`. `calls` lists every port call in order, for processing-order assertions.
 */
import { StorageError } from '../../../lambdas/domain/settings';
import type {
  BanRecord,
  BanStore,
  ClaimOutcome,
  CodeStore,
  Events,
  InsertCodeOutcome,
  KeyPairRecord,
  KeyPairStore,
  NewCode,
  PendingCode,
  ServerEvent,
  StoreKeysOutcome,
} from '../../../lambdas/ports';

export type FakeMethod =
  | 'codes.insertCode'
  | 'codes.findCode'
  | 'codes.isAppKeyInUse'
  | 'codes.claim'
  | 'bans.get'
  | 'bans.recordFailure'
  | 'bans.clear'
  | 'keyPairs.get'
  | 'keyPairs.storeKeys';

type Item = Record<string, unknown> & { expiresAt: number };

/** A stored diagnosis key, with the attributes the DynamoDB adapter writes. */
export interface DiagnosisKeyItem {
  readonly keyData: Uint8Array;
  readonly region: string;
  readonly regionDay: string;
  readonly submissionHour: number;
  readonly rollingStartIntervalNumber: number;
  readonly rollingPeriod: number;
  readonly transmissionRiskLevel: number;
  readonly reportType?: number;
  readonly daysSinceOnsetOfSymptoms?: number;
  readonly originator: string;
  readonly expiresAt: number;
}

const seconds = (nowMs: number) => Math.floor(nowMs / 1000);
const id = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const same = (a: unknown, b: Uint8Array) => a instanceof Uint8Array && Buffer.from(a).equals(Buffer.from(b));

export const fakeKeys = {
  code: (codeHash: string) => `code#${codeHash}`,
  keyPair: (serverPublicKey: Uint8Array) => `keypair#${id(serverPublicKey)}`,
  appKey: (appPublicKey: Uint8Array) => `appkey#${id(appPublicKey)}`,
  hashId: (hashIdHash: string) => `hashid#${hashIdHash}`,
  ban: (ipHash: string) => `ban#${ipHash}`,
};

export class InMemorySubmission {
  /** The submission table: pk → item. */
  readonly table = new Map<string, Item>();
  /** The diagnosis keys table: base64url(keyData) → item. */
  readonly diagnosisKeys = new Map<string, DiagnosisKeyItem>();
  /** Every port call, in order. */
  readonly calls: FakeMethod[] = [];
  private readonly faults = new Map<FakeMethod, unknown>();

  constructor(private readonly banSeconds = 3600) {}

  failWith(method: FakeMethod, error: unknown = new StorageError(`${method} failed`)): void {
    this.faults.set(method, error);
  }

  heal(method: FakeMethod): void {
    this.faults.delete(method);
  }

  callsTo(method: FakeMethod): number {
    return this.calls.filter((c) => c === method).length;
  }

  private enter(method: FakeMethod): void {
    this.calls.push(method);
    if (this.faults.has(method)) throw this.faults.get(method);
  }

  private live(pk: string, nowMs: number): Item | undefined {
    const item = this.table.get(pk);
    return item && item.expiresAt > seconds(nowMs) ? item : undefined;
  }

  readonly codes: CodeStore = {
    insertCode: async (code: NewCode, nowMs: number): Promise<InsertCodeOutcome> => {
      this.enter('codes.insertCode');
      const kp = code.keyPair;
      const codeFree = !this.live(fakeKeys.code(code.codeHash), nowMs);
      const keyPairFree = !this.table.has(fakeKeys.keyPair(kp.serverPublicKey));
      let hashIdFree = true;
      if (code.hashIdHash) {
        const current = this.live(fakeKeys.hashId(code.hashIdHash), nowMs);
        if (code.replacing) {
          const replaced = this.table.get(fakeKeys.keyPair(code.replacing.serverPublicKey));
          hashIdFree =
            (!current || (current.codeHash === code.replacing.codeHash && current.claimed === false)) &&
            !(replaced && replaced.appPublicKey !== undefined);
        } else {
          hashIdFree = !current;
        }
      }
      if (!hashIdFree && code.hashIdHash) {
        const current = this.live(fakeKeys.hashId(code.hashIdHash), nowMs);
        if (!current) return { kind: 'retry' };
        if (current.claimed === true) return { kind: 'hash-id-claimed' };
        return {
          kind: 'hash-id-unclaimed',
          current: { codeHash: String(current.codeHash), serverPublicKey: current.serverPublicKey as Uint8Array },
        };
      }
      if (!codeFree || !keyPairFree) return { kind: 'retry' };

      this.table.set(fakeKeys.code(code.codeHash), {
        serverPublicKey: kp.serverPublicKey,
        source: kp.source,
        createdAtMs: kp.createdAtMs,
        expiresAt: kp.expiresAt,
        ...(code.hashIdHash ? { hashIdHash: code.hashIdHash } : {}),
      });
      this.table.set(fakeKeys.keyPair(kp.serverPublicKey), {
        serverPublicKey: kp.serverPublicKey,
        serverPrivateKey: kp.serverPrivateKey,
        remainingKeys: kp.remainingKeys,
        initialRemainingKeys: kp.remainingKeys,
        originator: kp.originator,
        source: kp.source,
        createdAtMs: kp.createdAtMs,
        expiresAt: kp.expiresAt,
      });
      if (code.hashIdHash) {
        this.table.set(fakeKeys.hashId(code.hashIdHash), {
          codeHash: code.codeHash,
          serverPublicKey: kp.serverPublicKey,
          claimed: false,
          expiresAt: kp.expiresAt,
        });
        if (code.replacing) {
          this.table.delete(fakeKeys.code(code.replacing.codeHash));
          this.table.delete(fakeKeys.keyPair(code.replacing.serverPublicKey));
        }
      }
      return { kind: 'inserted' };
    },

    findCode: async (codeHash: string, nowMs: number): Promise<PendingCode | undefined> => {
      this.enter('codes.findCode');
      const item = this.live(fakeKeys.code(codeHash), nowMs);
      if (!item) return undefined;
      return {
        serverPublicKey: item.serverPublicKey as Uint8Array,
        source: String(item.source),
        createdAtMs: Number(item.createdAtMs),
        expiresAt: item.expiresAt,
        ...(typeof item.hashIdHash === 'string' ? { hashIdHash: item.hashIdHash } : {}),
      };
    },

    isAppKeyInUse: async (appPublicKey: Uint8Array, nowMs: number): Promise<boolean> => {
      this.enter('codes.isAppKeyInUse');
      return Boolean(this.live(fakeKeys.appKey(appPublicKey), nowMs));
    },

    claim: async (
      input: { codeHash: string; code: PendingCode; appPublicKey: Uint8Array; keyPairExpiresAt: number },
      nowMs: number,
    ): Promise<ClaimOutcome> => {
      this.enter('codes.claim');
      const { code } = input;
      const keyPair = this.table.get(fakeKeys.keyPair(code.serverPublicKey));
      const hashId = code.hashIdHash ? this.table.get(fakeKeys.hashId(code.hashIdHash)) : undefined;
      if (this.live(fakeKeys.appKey(input.appPublicKey), nowMs)) return { kind: 'app-key-in-use' };
      const codeLive = Boolean(this.live(fakeKeys.code(input.codeHash), nowMs));
      const keyPairFree = Boolean(keyPair) && keyPair?.appPublicKey === undefined;
      const hashIdMatches = !code.hashIdHash || hashId?.codeHash === input.codeHash;
      if (!codeLive || !keyPairFree || !hashIdMatches || !keyPair) return { kind: 'code-invalid' };

      this.table.delete(fakeKeys.code(input.codeHash));
      keyPair.appPublicKey = input.appPublicKey;
      keyPair.expiresAt = input.keyPairExpiresAt;
      this.table.set(fakeKeys.appKey(input.appPublicKey), { serverPublicKey: code.serverPublicKey, expiresAt: input.keyPairExpiresAt });
      if (hashId) {
        hashId.claimed = true;
        hashId.expiresAt = input.keyPairExpiresAt;
      }
      return { kind: 'claimed', serverPublicKey: code.serverPublicKey, source: code.source };
    },
  };

  readonly bans: BanStore = {
    get: async (ipHash: string, nowMs: number): Promise<BanRecord | undefined> => {
      this.enter('bans.get');
      const item = this.live(fakeKeys.ban(ipHash), nowMs);
      if (!item || Number(item.lastFailureMs) + this.banSeconds * 1000 <= nowMs) return undefined;
      return { failures: Number(item.failures), lastFailureMs: Number(item.lastFailureMs) };
    },

    recordFailure: async (ipHash: string, nowMs: number): Promise<BanRecord> => {
      this.enter('bans.recordFailure');
      const pk = fakeKeys.ban(ipHash);
      const item = this.table.get(pk);
      const expiresAt = Math.ceil((nowMs + this.banSeconds * 1000) / 1000);
      const counting = item !== undefined && Number(item.lastFailureMs) > nowMs - this.banSeconds * 1000;
      const failures = counting ? Number(item.failures) + 1 : 1;
      this.table.set(pk, { failures, lastFailureMs: nowMs, expiresAt });
      return { failures, lastFailureMs: nowMs };
    },

    clear: async (ipHash: string): Promise<void> => {
      this.enter('bans.clear');
      this.table.delete(fakeKeys.ban(ipHash));
    },
  };

  readonly keyPairs: KeyPairStore = {
    get: async (serverPublicKey: Uint8Array, nowMs: number): Promise<KeyPairRecord | undefined> => {
      this.enter('keyPairs.get');
      const item = this.live(fakeKeys.keyPair(serverPublicKey), nowMs);
      return item ? toKeyPair(item) : undefined;
    },

    storeKeys: async (input, nowMs): Promise<StoreKeysOutcome> => {
      this.enter('keyPairs.storeKeys');
      const now = seconds(nowMs);
      const fresh = input.keys.filter((k) => {
        const known = this.diagnosisKeys.get(id(k.keyData));
        return !known || known.expiresAt <= now;
      });
      const item = this.live(fakeKeys.keyPair(input.serverPublicKey), nowMs);
      if (!item || !same(item.appPublicKey, input.appPublicKey)) return { kind: 'key-pair-invalid' };
      const remaining = Number(item.remainingKeys);
      if (remaining <= 0) return { kind: 'quota-exhausted' };
      if (fresh.length > remaining) return { kind: 'over-quota' };
      const firstUpload = remaining === Number(item.initialRemainingKeys);
      const duplicates = input.keys.length - fresh.length;
      for (const key of fresh) {
        this.diagnosisKeys.set(id(key.keyData), {
          keyData: key.keyData,
          region: input.region,
          regionDay: `${input.region}#${Math.floor(input.submissionHour / 24)}`,
          submissionHour: input.submissionHour,
          rollingStartIntervalNumber: key.rollingStartIntervalNumber,
          rollingPeriod: key.rollingPeriod,
          transmissionRiskLevel: key.transmissionRiskLevel,
          ...(key.reportType !== undefined ? { reportType: key.reportType } : {}),
          ...(key.daysSinceOnsetOfSymptoms !== undefined ? { daysSinceOnsetOfSymptoms: key.daysSinceOnsetOfSymptoms } : {}),
          originator: input.originator,
          expiresAt: input.keysExpireAt,
        });
      }
      item.remainingKeys = remaining - fresh.length;
      return { kind: 'stored', inserted: fresh.length, duplicates, firstUpload };
    },
  };

  /** The key pair item as stored (for assertions), live or not. */
  keyPairItem(serverPublicKey: Uint8Array): Readonly<Item> | undefined {
    return this.table.get(fakeKeys.keyPair(serverPublicKey));
  }

  /** Base64url ids of every stored diagnosis key. */
  storedKeyIds(): string[] {
    return [...this.diagnosisKeys.keys()];
  }
}

function toKeyPair(item: Item): KeyPairRecord {
  return {
    serverPublicKey: item.serverPublicKey as Uint8Array,
    serverPrivateKey: item.serverPrivateKey as Uint8Array,
    ...(item.appPublicKey !== undefined ? { appPublicKey: item.appPublicKey as Uint8Array } : {}),
    remainingKeys: Number(item.remainingKeys),
    originator: String(item.originator),
    source: String(item.source),
    createdAtMs: Number(item.createdAtMs),
    expiresAt: item.expiresAt,
  };
}

export interface RecordedEvent {
  readonly name: ServerEvent;
  readonly count: number;
  readonly source: string;
}

/** Events port that remembers what was recorded. */
export class RecordingEvents implements Events {
  readonly recorded: RecordedEvent[] = [];

  record(name: ServerEvent, count: number, source: string): void {
    this.recorded.push({ name, count, source });
  }

  named(name: ServerEvent): RecordedEvent[] {
    return this.recorded.filter((e) => e.name === name);
  }
}
