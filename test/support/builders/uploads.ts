/**
 * Builders for /upload tests: TEKs, the plaintext `Upload` (through the generated code, or by hand
 * with the protobuf wire format when the generated code cannot express it), and sealed requests.
 */
import { createHash } from 'node:crypto';
import nacl from 'tweetnacl';
import { covidshield } from '../../../proto';
import type { UploadRequest } from '../../../lambdas/domain/upload-keys';
import { INTERVALS_PER_DAY, dayNumber } from '../../../lambdas/domain/time';

export type TekProperties = covidshield.TemporaryExposureKey.$Properties;

/** 16 bytes of key data derived from a label (deterministic, distinct per label). */
export const keyDataOf = (label: string | number): Uint8Array =>
  new Uint8Array(createHash('sha256').update(`key-data:${label}`).digest().subarray(0, 16));

/** The ENIN (10-minute interval number) containing nowMs. */
export const eninOf = (nowMs: number): number => Math.floor(nowMs / 600_000);

/** RSIN of the UTC midnight `daysAgo` days before the day of nowMs. */
export const midnightEnin = (nowMs: number, daysAgo: number): number => (dayNumber(nowMs) - daysAgo) * INTERVALS_PER_DAY;

let autoLabel = 0;

/**
 * A valid key of yesterday (RSIN at yesterday's midnight, rolling period 144, TRL 1). Pass
 * `undefined` for a field to leave it out of the encoding.
 */
export function aKey(nowMs: number, overrides: Partial<TekProperties> = {}): TekProperties {
  autoLabel += 1;
  return {
    keyData: keyDataOf(`auto-${autoLabel}`),
    rollingStartIntervalNumber: midnightEnin(nowMs, 1),
    rollingPeriod: INTERVALS_PER_DAY,
    transmissionRiskLevel: 1,
    ...overrides,
  };
}

/** `n` valid, distinct keys on consecutive days back from yesterday (span ≤ 14 days for n ≤ 15). */
export const someKeys = (nowMs: number, n: number, overrides: Partial<TekProperties> = {}): TekProperties[] =>
  Array.from({ length: n }, (_, i) => aKey(nowMs, { rollingStartIntervalNumber: midnightEnin(nowMs, 1 + (i % 14)), ...overrides }));

/** The plaintext Upload; `timestampSeconds: undefined` leaves the timestamp out. */
export function uploadPlaintext(options: { timestampSeconds: number | undefined; keys: readonly TekProperties[]; timestampNanos?: number }): Uint8Array {
  return covidshield.Upload.encode({
    ...(options.timestampSeconds !== undefined
      ? { timestamp: { seconds: options.timestampSeconds, ...(options.timestampNanos ? { nanos: options.timestampNanos } : {}) } }
      : {}),
    keys: [...options.keys],
  }).finish();
}

// ----- the protobuf wire format by hand ----------------------------------------------------

/** Base-128 varint of a non-negative integer, or of a negative int32 as its 10-byte int64 form. */
export function varint(value: number): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? byte | 0x80 : byte);
  } while (v);
  return out;
}

export const wire = {
  varint: (field: number, value: number): number[] => [...varint(field << 3), ...varint(value)],
  sint32: (field: number, value: number): number[] => [...varint(field << 3), ...varint(((value << 1) ^ (value >> 31)) >>> 0)],
  bytes: (field: number, value: Uint8Array | readonly number[]): number[] => [...varint((field << 3) | 2), ...varint(value.length), ...value],
};

/** A TemporaryExposureKey by hand: key data, RSIN, and any extra raw fields (e.g. report_type 9). */
export const handKey = (keyData: Uint8Array, rsin: number, ...extra: number[][]): number[] => [
  ...wire.bytes(1, keyData),
  ...wire.varint(3, rsin),
  ...extra.flat(),
];

/** An Upload by hand: timestamp seconds, then each key as field 2. */
export const handUpload = (timestampSeconds: number, ...keys: number[][]): Uint8Array =>
  Uint8Array.from([...wire.bytes(1, wire.varint(1, timestampSeconds)), ...keys.flatMap((k) => wire.bytes(2, k))]);

// ----- sealing -----------------------------------------------------------------------------

export const NONCE = new Uint8Array(nacl.box.nonceLength).fill(7);

/** The app's side of /upload: box the plaintext from the app key to the server key. */
export function sealedUpload(
  pair: { readonly server: { readonly publicKey: Uint8Array }; readonly app: nacl.BoxKeyPair },
  plaintext: Uint8Array,
  nonce: Uint8Array = NONCE,
): Extract<UploadRequest, { kind: 'upload' }> {
  return {
    kind: 'upload',
    serverPublicKey: pair.server.publicKey,
    appPublicKey: pair.app.publicKey,
    nonce,
    payload: nacl.box.after(plaintext, nonce, sharedKey(pair.server.publicKey, pair.app.secretKey)),
  };
}

const sharedKeys = new Map<string, Uint8Array>();
/** nacl.box.before, memoised: tweetnacl's scalar multiplication is slow under Jest's VM. */
function sharedKey(serverPublicKey: Uint8Array, appSecretKey: Uint8Array): Uint8Array {
  const id = `${Buffer.from(serverPublicKey).toString('hex')}:${Buffer.from(appSecretKey).toString('hex')}`;
  let key = sharedKeys.get(id);
  if (!key) {
    key = nacl.box.before(serverPublicKey, appSecretKey);
    sharedKeys.set(id, key);
  }
  return key;
}

/** The request body bytes of an upload. */
export const encodeUpload = (request: Extract<UploadRequest, { kind: 'upload' }>): Uint8Array =>
  covidshield.EncryptedUploadRequest.encode({
    serverPublicKey: request.serverPublicKey,
    appPublicKey: request.appPublicKey,
    nonce: request.nonce,
    payload: request.payload,
  }).finish();
