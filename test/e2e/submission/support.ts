/**
 * Helpers shared by the submission e2e files: read-only access to the runtime's DynamoDB Local
 * (to assert stored state and privacy), the local clock control, and hand-built protobuf bodies.
 */
import { BatchGetCommand, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../../../lambdas/adapters/aws-clients';
import { submissionKeys } from '../../../lambdas/adapters/dynamo-submission';
import { covidshield } from '../../../proto';
import { getJson, fetchInfo } from '../../support/runtime';

export const UploadError = covidshield.EncryptedUploadResponse.ErrorCode;
export const ClaimError = covidshield.KeyClaimResponse.ErrorCode;
export const ReportType = covidshield.TemporaryExposureKey.ReportType;

export const PROTOBUF = 'application/x-protobuf';
export const TEXT_PLAIN = 'text/plain; charset=utf-8';

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;

export type Item = Record<string, unknown>;

/** Read-only view of the stored state of one runtime. */
export interface Store {
  readonly tables: { submission: string; diagnosisKeys: string };
  /** The diagnosis key item for this key data, if stored. */
  key(keyData: Uint8Array): Promise<Item | undefined>;
  /** The stored diagnosis key items among these key data. */
  keys(keyData: readonly Uint8Array[]): Promise<Item[]>;
  /** The key pair item of a server public key. */
  keyPair(serverPublicKey: Uint8Array): Promise<Item | undefined>;
  /** Every item of a table. */
  scan(table: string): Promise<Item[]>;
  close(): void;
}

export async function openStore(baseUrl: string): Promise<Store> {
  const info = await fetchInfo(baseUrl);
  const db = documentClient({
    endpoint: info.dynamodb.endpoint,
    region: info.dynamodb.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const tables = { submission: info.dynamodb.tables.submission, diagnosisKeys: info.dynamodb.tables.diagnosisKeys };
  const store: Store = {
    tables,
    async key(keyData) {
      const out = await db.send(new GetCommand({ TableName: tables.diagnosisKeys, Key: { keyData }, ConsistentRead: true }));
      return out.Item;
    },
    async keys(keyData) {
      const found: Item[] = [];
      for (let i = 0; i < keyData.length; i += 100) {
        let pending: Item[] = keyData.slice(i, i + 100).map((k) => ({ keyData: k }));
        while (pending.length) {
          const out = await db.send(new BatchGetCommand({ RequestItems: { [tables.diagnosisKeys]: { Keys: pending, ConsistentRead: true } } }));
          found.push(...(out.Responses?.[tables.diagnosisKeys] ?? []));
          pending = (out.UnprocessedKeys?.[tables.diagnosisKeys]?.Keys as Item[] | undefined) ?? [];
        }
      }
      return found;
    },
    async keyPair(serverPublicKey) {
      const out = await db.send(
        new GetCommand({ TableName: tables.submission, Key: { pk: submissionKeys.keyPair(serverPublicKey) }, ConsistentRead: true }),
      );
      return out.Item;
    },
    async scan(table) {
      const items: Item[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const out = await db.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }));
        items.push(...(out.Items ?? []));
        start = out.LastEvaluatedKey;
      } while (start);
      return items;
    },
    close: () => db.destroy(),
  };
  return store;
}

/**
 * Every item as text for privacy checks: strings as they are, binary attributes both as base64
 * and as raw latin1 characters (so a secret stored as bytes would show too).
 */
export function textOf(items: readonly Item[]): string {
  return JSON.stringify(items, (_key, value: unknown) =>
    value instanceof Uint8Array ? `${Buffer.from(value).toString('base64')}|${Buffer.from(value).toString('latin1')}` : value,
  );
}

/** Sets the absolute clock offset of a runtime; returns the server time it reports (ms). */
export async function setClock(baseUrl: string, offsetSeconds: number): Promise<number> {
  const state = await getJson<{ offsetSeconds: number; now: string }>(`${baseUrl}/_local/clock`, {
    method: 'POST',
    body: JSON.stringify({ offsetSeconds }),
  });
  if (state.offsetSeconds !== offsetSeconds) throw new Error(`clock refused offset ${offsetSeconds}`);
  return Date.parse(state.now);
}

/** The offset (s) that puts the server clock at `targetMs` now. */
export const offsetFor = (targetMs: number) => Math.round((targetMs - Date.now()) / 1000);

/** UTC midnight (ms) of the day containing `ms`. */
export const midnightMs = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;

/** A protobuf varint. */
export function varint(value: number): Buffer {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

/** A length-delimited field: tag, length, bytes. */
export const lengthDelimited = (field: number, bytes: Uint8Array) => Buffer.concat([varint((field << 3) | 2), varint(bytes.length), bytes]);

/**
 * Appends an unknown length-delimited field (number 15) so the message is exactly `total` bytes.
 * Parsers skip unknown fields, so the message means the same; only its size changes.
 */
export function padTo(message: Uint8Array, total: number): Buffer {
  for (let data = total - message.length - 2; data >= 0; data -= 1) {
    const padded = Buffer.concat([message, lengthDelimited(15, Buffer.alloc(data, 0x20))]);
    if (padded.length === total) return padded;
  }
  throw new Error(`cannot pad ${message.length} bytes to ${total}`);
}

/** An Upload built by hand from already-encoded TEKs (to send values the encoder would not). */
export function rawUpload(timestampSeconds: number, encodedKeys: readonly Uint8Array[]): Buffer {
  const timestamp = covidshield.Upload.encode({ timestamp: { seconds: timestampSeconds } }).finish();
  return Buffer.concat([timestamp, ...encodedKeys.map((k) => lengthDelimited(2, k))]);
}

export const encodeTek = (key: covidshield.TemporaryExposureKey.$Properties) => covidshield.TemporaryExposureKey.encode(key).finish();

/** Decoded EncryptedUploadResponse of a raw body. */
export const uploadErrorOf = (bytes: Uint8Array) => covidshield.EncryptedUploadResponse.decode(bytes).error;
