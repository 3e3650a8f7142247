/**
 * Builders for export tests: deterministic P-256 signing keys, stored keys, an in-memory
 * ExportKeyReader that honours the hour range and expiry like the DynamoDB one, an in-memory
 * BlobStore, and a minimal independent reader of a zip's central directory.
 */
import { createECDH, createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { BlobStore, ExportKeyReader, StoredKey } from '../../../lambdas/ports';
import { INTERVALS_PER_DAY, SECONDS_PER_DAY, SECONDS_PER_HOUR } from '../../../lambdas/domain/time';

/** A P-256 private key derived from a seed: the same seed gives the same key on every machine. */
export function testSigningKey(seed: string): KeyObject {
  const d = createHash('sha256').update(`export-signing-key:${seed}`).digest();
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  const point = ecdh.getPublicKey();
  const b64 = (bytes: Buffer) => bytes.toString('base64url');
  return createPrivateKey({
    key: { kty: 'EC', crv: 'P-256', d: b64(d), x: b64(point.subarray(1, 33)), y: b64(point.subarray(33, 65)) },
    format: 'jwk',
  });
}

export const publicKeyPem = (privateKey: KeyObject): string =>
  createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString();

/** 16 bytes all equal to `fill` (the upstream tests' `1`×16, `2`×16 … keys). */
export const keyData = (fill: number): Uint8Array => new Uint8Array(16).fill(fill);

export function aStoredKey(overrides: Partial<StoredKey> & { keyData: Uint8Array }): StoredKey {
  return { rollingStartIntervalNumber: 2_800_000, rollingPeriod: 144, transmissionRiskLevel: 4, ...overrides };
}

/** Hour number of a UTC time given as (day number, hours, minutes, seconds). */
export const hourOf = (day: number, h: number, m = 0, s = 0): number =>
  Math.floor((day * SECONDS_PER_DAY + h * SECONDS_PER_HOUR + m * 60 + s) / SECONDS_PER_HOUR);

/** RSIN of the UTC midnight of a day (plus intervals). */
export const rsinOf = (day: number, plusIntervals = 0): number => day * INTERVALS_PER_DAY + plusIntervals;

export interface ReaderItem {
  readonly key: StoredKey;
  readonly region: string;
  readonly submissionHour: number;
  /** Epoch seconds. */
  readonly expiresAt: number;
}

/** ExportKeyReader over a list, with the DynamoDB reader's contract: range, region, expiry, pages. */
export class InMemoryExportReader implements ExportKeyReader {
  readonly items: ReaderItem[] = [];
  readonly calls: { region: string; startHour: number; endHour: number }[] = [];

  constructor(private readonly pageSize = 2) {}

  add(item: Omit<ReaderItem, 'region' | 'expiresAt'> & Partial<Pick<ReaderItem, 'region' | 'expiresAt'>>): this {
    this.items.push({
      region: '302',
      // Upstream's retention: kept until the end of the UTC day 15 days after submission (its
      // worker deleted hours < (today−15)×24), so all of today−15 is still in `00000`.
      expiresAt: (Math.floor(item.submissionHour / 24) + 16) * SECONDS_PER_DAY,
      ...item,
    });
    return this;
  }

  async *keysSubmitted(region: string, startHour: number, endHour: number, nowMs: number): AsyncIterable<readonly StoredKey[]> {
    this.calls.push({ region, startHour, endHour });
    const now = Math.floor(nowMs / 1000);
    const matching = this.items
      .filter((i) => i.region === region && i.submissionHour >= startHour && i.submissionHour < endHour && i.expiresAt > now)
      .map((i) => i.key);
    for (let i = 0; i < matching.length; i += this.pageSize) yield matching.slice(i, i + this.pageSize);
  }
}

export interface StoredBlob {
  readonly body: Uint8Array;
  readonly contentType: string;
  readonly cacheControl?: string;
}

export class InMemoryBlobStore implements BlobStore {
  readonly blobs = new Map<string, StoredBlob>();

  async put(key: string, body: Uint8Array, meta: { readonly contentType: string; readonly cacheControl?: string }): Promise<void> {
    this.blobs.set(key, { body: Uint8Array.from(body), ...meta });
  }
}

export interface ZipDirectoryEntry {
  readonly name: string;
  /** 0 stored, 8 deflated. */
  readonly method: number;
  readonly dosTime: number;
  readonly dosDate: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

/**
 * The central directory of a zip, read by hand from the end-of-central-directory record (APPNOTE
 * 4.3.12/4.3.16), independently of the zip library under test.
 */
export function zipDirectory(zip: Uint8Array): ZipDirectoryEntry[] {
  const buf = Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength);
  let eocd = -1;
  for (let i = buf.length - 22; i >= 0; i -= 1) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('no end of central directory record');
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const entries: ZipDirectoryEntry[] = [];
  for (let n = 0; n < count; n += 1) {
    if (buf.readUInt32LE(at) !== 0x02014b50) throw new Error('bad central directory header');
    const nameLength = buf.readUInt16LE(at + 28);
    const extraLength = buf.readUInt16LE(at + 30);
    const commentLength = buf.readUInt16LE(at + 32);
    entries.push({
      method: buf.readUInt16LE(at + 10),
      dosTime: buf.readUInt16LE(at + 12),
      dosDate: buf.readUInt16LE(at + 14),
      crc32: buf.readUInt32LE(at + 16),
      compressedSize: buf.readUInt32LE(at + 20),
      size: buf.readUInt32LE(at + 24),
      localHeaderOffset: buf.readUInt32LE(at + 42),
      name: buf.subarray(at + 46, at + 46 + nameLength).toString('utf8'),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** DOS date of 1980-01-01: year 0, month 1, day 1. */
export const DOS_DATE_1980_01_01 = (0 << 9) | (1 << 5) | 1;

