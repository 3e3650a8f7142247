/**
 * DynamoDB implementation of CodeStore, BanStore and KeyPairStore.
 *
 * Submission table, one item type per `pk` prefix (every item carries `expiresAt`, the TTL
 * attribute, and every read ignores items whose `expiresAt` has passed — TTL deletes lazily):
 *   code#<HMAC(code)>        unclaimed one-time code → server public key (24 h)
 *   keypair#<b64url(spk)>    server key pair, quota, bound app key (24 h unclaimed; claimed:
 *                            UTC midnight of the issue day + 15 days)
 *   appkey#<b64url(apk)>     uniqueness of app public keys across live key pairs
 *   hashid#<HMAC(hashId)>    the code currently issued for a hashId, and whether it was claimed
 *   ban#<HMAC(ip)>           consecutive claim failures of one client (1 h after the last one)
 * Diagnosis keys table: one item per key data (global dedupe), GSI byRegionDay.
 *
 * Atomicity: every multi-item change is one TransactWriteItems with conditions, so no
 * interleaving of requests can claim a code twice, bind two app keys or overdraw a quota.
 * SDK errors never reach the domain: expected ones become outcomes, the rest StorageError.
 */
import {
  BatchGetCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type {
  BanRecord,
  BanStore,
  ClaimOutcome,
  CodeStore,
  InsertCodeOutcome,
  KeyPairRecord,
  KeyPairStore,
  NewCode,
  PendingCode,
  StoreKeysOutcome,
  StoredKey,
} from '../ports';
import { StorageError } from '../domain/settings';

export interface SubmissionTables {
  readonly submission: string;
  readonly diagnosisKeys: string;
}

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const bytes = (value: unknown): Uint8Array => (value instanceof Uint8Array ? value : new Uint8Array(0));
const nowSeconds = (nowMs: number) => Math.floor(nowMs / 1000);

export const submissionKeys = {
  code: (codeHash: string) => `code#${codeHash}`,
  keyPair: (serverPublicKey: Uint8Array) => `keypair#${b64url(serverPublicKey)}`,
  appKey: (appPublicKey: Uint8Array) => `appkey#${b64url(appPublicKey)}`,
  hashId: (hashIdHash: string) => `hashid#${hashIdHash}`,
  ban: (ipHash: string) => `ban#${ipHash}`,
};

export const MAX_CONTENTION_RETRIES = 8;

/** Full-jitter exponential backoff between retries of a contended write (10 ms … ~1.3 s). */
const backoff = (attempt: number) => new Promise((r) => setTimeout(r, Math.random() * 10 * 2 ** Math.min(attempt, 7)));

/** Cancellation codes of a TransactionCanceledException, by action index. */
function cancellationCodes(error: unknown): string[] | undefined {
  if (!(error instanceof TransactionCanceledException)) return undefined;
  return (error.CancellationReasons ?? []).map((r) => r.Code ?? 'None');
}

async function guard<T>(what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof StorageError) throw error;
    throw new StorageError(`${what} failed: ${(error as Error)?.name ?? 'unknown error'}`, { cause: error });
  }
}

/** Shared plumbing of the three stores: reads that ignore expired items. */
abstract class SubmissionTable {
  constructor(
    protected readonly db: DynamoDBDocumentClient,
    protected readonly tables: SubmissionTables,
  ) {}

  protected live(item: Record<string, unknown> | undefined, nowMs: number) {
    return item && typeof item.expiresAt === 'number' && item.expiresAt > nowSeconds(nowMs) ? item : undefined;
  }

  protected async getItem(pk: string, nowMs: number) {
    const out = await this.db.send(new GetCommand({ TableName: this.tables.submission, Key: { pk }, ConsistentRead: true }));
    return this.live(out.Item, nowMs);
  }
}

export class DynamoCodeStore extends SubmissionTable implements CodeStore {
  insertCode(code: NewCode, nowMs: number): Promise<InsertCodeOutcome> {
    return guard('insertCode', async () => {
      const table = this.tables.submission;
      const now = nowSeconds(nowMs);
      const kp = code.keyPair;
      const actions: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']> = [
        {
          Put: {
            TableName: table,
            Item: {
              pk: submissionKeys.code(code.codeHash),
              serverPublicKey: kp.serverPublicKey,
              source: kp.source,
              createdAtMs: kp.createdAtMs,
              expiresAt: kp.expiresAt,
              ...(code.hashIdHash ? { hashIdHash: code.hashIdHash } : {}),
            },
            ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
            ExpressionAttributeValues: { ':now': now },
          },
        },
        {
          Put: {
            TableName: table,
            Item: {
              pk: submissionKeys.keyPair(kp.serverPublicKey),
              serverPublicKey: kp.serverPublicKey,
              serverPrivateKey: kp.serverPrivateKey,
              remainingKeys: kp.remainingKeys,
              initialRemainingKeys: kp.remainingKeys,
              originator: kp.originator,
              source: kp.source,
              createdAtMs: kp.createdAtMs,
              expiresAt: kp.expiresAt,
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
      ];
      if (code.hashIdHash) {
        const hashIdItem = {
          pk: submissionKeys.hashId(code.hashIdHash),
          codeHash: code.codeHash,
          serverPublicKey: kp.serverPublicKey,
          claimed: false,
          expiresAt: kp.expiresAt,
        };
        if (code.replacing) {
          actions.push(
            {
              Put: {
                TableName: table,
                Item: hashIdItem,
                ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now OR (codeHash = :previous AND claimed = :false)',
                ExpressionAttributeValues: { ':now': now, ':previous': code.replacing.codeHash, ':false': false },
              },
            },
            { Delete: { TableName: table, Key: { pk: submissionKeys.code(code.replacing.codeHash) } } },
            {
              Delete: {
                TableName: table,
                Key: { pk: submissionKeys.keyPair(code.replacing.serverPublicKey) },
                ConditionExpression: 'attribute_not_exists(appPublicKey)',
              },
            },
          );
        } else {
          actions.push({
            Put: {
              TableName: table,
              Item: hashIdItem,
              ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
              ExpressionAttributeValues: { ':now': now },
            },
          });
        }
      }
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: actions }));
        return { kind: 'inserted' };
      } catch (error) {
        const codes = cancellationCodes(error);
        if (!codes) throw error;
        const hashIdFailed = codes.slice(2).some((c) => c === 'ConditionalCheckFailed');
        if (hashIdFailed && code.hashIdHash) return this.classifyHashId(code.hashIdHash, nowMs);
        return { kind: 'retry' };
      }
    });
  }

  private async classifyHashId(hashIdHash: string, nowMs: number): Promise<InsertCodeOutcome> {
    const item = await this.getItem(submissionKeys.hashId(hashIdHash), nowMs);
    if (!item) return { kind: 'retry' };
    if (item.claimed === true) return { kind: 'hash-id-claimed' };
    return { kind: 'hash-id-unclaimed', current: { codeHash: String(item.codeHash), serverPublicKey: bytes(item.serverPublicKey) } };
  }

  findCode(codeHash: string, nowMs: number): Promise<PendingCode | undefined> {
    return guard('findCode', async () => {
      const item = await this.getItem(submissionKeys.code(codeHash), nowMs);
      if (!item) return undefined;
      return {
        serverPublicKey: bytes(item.serverPublicKey),
        source: String(item.source ?? ''),
        createdAtMs: Number(item.createdAtMs),
        expiresAt: Number(item.expiresAt),
        ...(typeof item.hashIdHash === 'string' ? { hashIdHash: item.hashIdHash } : {}),
      };
    });
  }

  isAppKeyInUse(appPublicKey: Uint8Array, nowMs: number): Promise<boolean> {
    return guard('isAppKeyInUse', async () => Boolean(await this.getItem(submissionKeys.appKey(appPublicKey), nowMs)));
  }

  claim(
    input: { codeHash: string; code: PendingCode; appPublicKey: Uint8Array; keyPairExpiresAt: number },
    nowMs: number,
  ): Promise<ClaimOutcome> {
    return guard('claim', async () => {
      const table = this.tables.submission;
      const now = nowSeconds(nowMs);
      const { code } = input;
      const actions: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']> = [
        {
          Delete: {
            TableName: table,
            Key: { pk: submissionKeys.code(input.codeHash) },
            ConditionExpression: 'attribute_exists(pk) AND expiresAt > :now',
            ExpressionAttributeValues: { ':now': now },
          },
        },
        {
          Update: {
            TableName: table,
            Key: { pk: submissionKeys.keyPair(code.serverPublicKey) },
            UpdateExpression: 'SET appPublicKey = :apk, expiresAt = :expires',
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(appPublicKey)',
            ExpressionAttributeValues: { ':apk': input.appPublicKey, ':expires': input.keyPairExpiresAt },
          },
        },
        {
          Put: {
            TableName: table,
            Item: { pk: submissionKeys.appKey(input.appPublicKey), serverPublicKey: code.serverPublicKey, expiresAt: input.keyPairExpiresAt },
            ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
            ExpressionAttributeValues: { ':now': now },
          },
        },
      ];
      if (code.hashIdHash) {
        actions.push({
          Update: {
            TableName: table,
            Key: { pk: submissionKeys.hashId(code.hashIdHash) },
            UpdateExpression: 'SET claimed = :true, expiresAt = :expires',
            ConditionExpression: 'codeHash = :code',
            ExpressionAttributeValues: { ':true': true, ':expires': input.keyPairExpiresAt, ':code': input.codeHash },
          },
        });
      }
      for (let attempt = 0; ; attempt += 1) {
        try {
          await this.db.send(new TransactWriteCommand({ TransactItems: actions }));
          return { kind: 'claimed', serverPublicKey: code.serverPublicKey, source: code.source };
        } catch (error) {
          const codes = cancellationCodes(error);
          if (!codes) throw error;
          if (codes[2] === 'ConditionalCheckFailed') return { kind: 'app-key-in-use' };
          if (codes.includes('ConditionalCheckFailed')) return { kind: 'code-invalid' };
          // TransactionConflict: another request touched the same items. Retry while the code
          // still exists; once it is gone, the other request won.
          if (attempt >= MAX_CONTENTION_RETRIES) throw error;
          if (!(await this.getItem(submissionKeys.code(input.codeHash), nowMs))) return { kind: 'code-invalid' };
          await backoff(attempt);
        }
      }
    });
  }

}

export class DynamoBanStore extends SubmissionTable implements BanStore {
  constructor(db: DynamoDBDocumentClient, tables: SubmissionTables, private readonly banSeconds: number) {
    super(db, tables);
  }

  get(ipHash: string, nowMs: number): Promise<BanRecord | undefined> {
    return guard('getBan', async () => {
      const item = await this.getItem(submissionKeys.ban(ipHash), nowMs);
      if (!item || Number(item.lastFailureMs) + this.banSeconds * 1000 <= nowMs) return undefined;
      return { failures: Number(item.failures), lastFailureMs: Number(item.lastFailureMs) };
    });
  }

  recordFailure(ipHash: string, nowMs: number): Promise<BanRecord> {
    return guard('recordFailure', async () => {
      const pk = submissionKeys.ban(ipHash);
      const cutoff = nowMs - this.banSeconds * 1000;
      const expiresAt = Math.ceil((nowMs + this.banSeconds * 1000) / 1000);
      for (let attempt = 0; attempt <= MAX_CONTENTION_RETRIES; attempt += 1) {
        try {
          const out = await this.db.send(
            new UpdateCommand({
              TableName: this.tables.submission,
              Key: { pk },
              UpdateExpression: 'ADD failures :one SET lastFailureMs = :now, expiresAt = :expires',
              ConditionExpression: 'attribute_exists(pk) AND lastFailureMs > :cutoff',
              ExpressionAttributeValues: { ':one': 1, ':now': nowMs, ':expires': expiresAt, ':cutoff': cutoff },
              ReturnValues: 'ALL_NEW',
            }),
          );
          return { failures: Number(out.Attributes?.failures), lastFailureMs: nowMs };
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
        // No live counter: start one at 1 (deviation 7: an expired ban restarts at once).
        try {
          await this.db.send(
            new PutCommand({
              TableName: this.tables.submission,
              Item: { pk, failures: 1, lastFailureMs: nowMs, expiresAt },
              ConditionExpression: 'attribute_not_exists(pk) OR lastFailureMs <= :cutoff',
              ExpressionAttributeValues: { ':cutoff': cutoff },
            }),
          );
          return { failures: 1, lastFailureMs: nowMs };
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
          // A concurrent failure created a live counter in between: add to it.
        }
        await backoff(attempt);
      }
      throw new StorageError('recordFailure: too much contention');
    });
  }

  clear(ipHash: string): Promise<void> {
    return guard('clearBan', async () => {
      await this.db.send(new DeleteCommand({ TableName: this.tables.submission, Key: { pk: submissionKeys.ban(ipHash) } }));
    });
  }

}

export class DynamoKeyPairStore extends SubmissionTable implements KeyPairStore {
  get(serverPublicKey: Uint8Array, nowMs: number): Promise<(KeyPairRecord & { initialRemainingKeys: number }) | undefined> {
    return guard('getKeyPair', async () => {
      const item = await this.getItem(submissionKeys.keyPair(serverPublicKey), nowMs);
      return item ? toKeyPair(item) : undefined;
    });
  }

  storeKeys(
    input: Parameters<KeyPairStore['storeKeys']>[0],
    nowMs: number,
  ): Promise<StoreKeysOutcome> {
    return guard('storeKeys', async () => {
      const now = nowSeconds(nowMs);
      for (let attempt = 0; attempt <= MAX_CONTENTION_RETRIES; attempt += 1) {
        const known = await this.liveKeyData(input.keys, nowMs);
        const fresh = input.keys.filter((k) => !known.has(b64url(k.keyData)));
        const keyPair = await this.get(input.serverPublicKey, nowMs);
        if (!keyPair || !keyPair.appPublicKey || !Buffer.from(keyPair.appPublicKey).equals(Buffer.from(input.appPublicKey))) {
          return { kind: 'key-pair-invalid' };
        }
        if (keyPair.remainingKeys <= 0) return { kind: 'quota-exhausted' };
        if (fresh.length > keyPair.remainingKeys) return { kind: 'over-quota' };
        const firstUpload = keyPair.remainingKeys === keyPair.initialRemainingKeys;
        const duplicates = input.keys.length - fresh.length;
        if (fresh.length === 0) return { kind: 'stored', inserted: 0, duplicates, firstUpload };
        try {
          await this.db.send(
            new TransactWriteCommand({
              TransactItems: [
                {
                  Update: {
                    TableName: this.tables.submission,
                    Key: { pk: submissionKeys.keyPair(input.serverPublicKey) },
                    UpdateExpression: 'ADD remainingKeys :minus',
                    ConditionExpression: 'remainingKeys >= :n AND appPublicKey = :apk AND expiresAt > :now',
                    ExpressionAttributeValues: { ':minus': -fresh.length, ':n': fresh.length, ':apk': input.appPublicKey, ':now': now },
                  },
                },
                ...fresh.map((key) => ({
                  Put: {
                    TableName: this.tables.diagnosisKeys,
                    Item: keyItem(key, input),
                    ConditionExpression: 'attribute_not_exists(keyData) OR expiresAt <= :now',
                    ExpressionAttributeValues: { ':now': now },
                  },
                })),
              ],
            }),
          );
          return { kind: 'stored', inserted: fresh.length, duplicates, firstUpload };
        } catch (error) {
          if (!cancellationCodes(error)) throw error;
          // A concurrent upload changed the quota or stored one of these keys: re-read, retry.
          await backoff(attempt);
        }
      }
      throw new StorageError('storeKeys: too much contention');
    });
  }

  /** Key data (base64url) of the given keys that are already stored and live. */
  private async liveKeyData(keys: readonly StoredKey[], nowMs: number): Promise<Set<string>> {
    const found = new Set<string>();
    let pending: Record<string, unknown>[] = keys.map((k) => ({ keyData: k.keyData }));
    for (let round = 0; pending.length > 0; round += 1) {
      if (round > 10) throw new StorageError('liveKeyData: unprocessed keys keep coming back');
      const out = await this.db.send(
        new BatchGetCommand({
          RequestItems: { [this.tables.diagnosisKeys]: { Keys: pending, ConsistentRead: true, ProjectionExpression: 'keyData, expiresAt' } },
        }),
      );
      for (const item of out.Responses?.[this.tables.diagnosisKeys] ?? []) {
        if (this.live(item, nowMs)) found.add(b64url(bytes(item.keyData)));
      }
      pending = (out.UnprocessedKeys?.[this.tables.diagnosisKeys]?.Keys as Record<string, unknown>[] | undefined) ?? [];
      if (pending.length) await new Promise((r) => setTimeout(r, 20 * (round + 1)));
    }
    return found;
  }
}

function toKeyPair(item: Record<string, unknown>): KeyPairRecord & { initialRemainingKeys: number } {
  return {
    serverPublicKey: bytes(item.serverPublicKey),
    serverPrivateKey: bytes(item.serverPrivateKey),
    ...(item.appPublicKey ? { appPublicKey: bytes(item.appPublicKey) } : {}),
    remainingKeys: Number(item.remainingKeys),
    initialRemainingKeys: Number(item.initialRemainingKeys ?? item.remainingKeys),
    originator: String(item.originator ?? ''),
    source: String(item.source ?? ''),
    createdAtMs: Number(item.createdAtMs),
    expiresAt: Number(item.expiresAt),
  };
}

function keyItem(key: StoredKey, input: Parameters<KeyPairStore['storeKeys']>[0]) {
  return {
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
  };
}
