/**
 * /upload (reference §5, deviations 1–4 and 11): open the NaCl box, validate the TEKs in the
 * upstream order, drop keys outside the per-key window, store the new ones and charge the quota.
 */
import nacl from 'tweetnacl';
import { covidshield, int64ToNumber, readerKeepingUnknowns, unknownFieldNumbers } from '../../proto';
import type { Clock, Events, KeyPairStore, StoredKey } from '../ports';
import { StorageError, type SubmissionSettings } from './settings';
import { INTERVALS_PER_DAY, SECONDS_PER_DAY, SECONDS_PER_HOUR, SECONDS_PER_INTERVAL, hourNumber } from './time';

export interface UploadKeysDeps {
  readonly keyPairs: KeyPairStore;
  readonly clock: Clock;
  readonly events: Events;
  readonly settings: SubmissionSettings;
}

export type UploadRequest =
  | { readonly kind: 'too-large' | 'malformed' }
  | {
      readonly kind: 'upload';
      readonly serverPublicKey: Uint8Array;
      readonly appPublicKey: Uint8Array;
      readonly nonce: Uint8Array;
      readonly payload: Uint8Array;
    };

/** Error names equal the EncryptedUploadResponse.ErrorCode enum names. */
export type UploadError =
  | 'UNKNOWN'
  | 'INVALID_KEYPAIR'
  | 'DECRYPTION_FAILED'
  | 'INVALID_PAYLOAD'
  | 'SERVER_ERROR'
  | 'INVALID_CRYPTO_PARAMETERS'
  | 'TOO_MANY_KEYS'
  | 'INVALID_TIMESTAMP'
  | 'INVALID_ROLLING_PERIOD'
  | 'INVALID_KEY_DATA'
  | 'INVALID_ROLLING_START_INTERVAL_NUMBER'
  | 'INVALID_TRANSMISSION_RISK_LEVEL'
  | 'NO_KEYS_IN_PAYLOAD';

/** Outcome of an upload: NONE on success; `status` is the HTTP status of an error. */
export type UploadResult =
  | { readonly kind: 'NONE'; readonly stored: number; readonly duplicates: number; readonly dropped: number }
  | { readonly kind: UploadError; readonly status: 400 | 401 | 500 };

export const MAX_KEYS_PER_UPLOAD = 28;
export const TIMESTAMP_TOLERANCE_SECONDS = 3600;
/** (max RSIN + 144) − min RSIN may be at most 144 × 15 (reference §5 row 14). */
export const MAX_RSIN_SPAN = INTERVALS_PER_DAY * 15;
export const KEY_DATA_LENGTH = 16;
export const MAX_TRANSMISSION_RISK_LEVEL = 8;
export const MAX_DAYS_SINCE_ONSET = 14;
/** Deviation 3: keys that ended more than 15 days ago or start more than 1 day ahead are dropped. */
export const WINDOW_PAST_SECONDS = 15 * SECONDS_PER_DAY;
export const WINDOW_FUTURE_SECONDS = SECONDS_PER_DAY;

const KEPT_REPORT_TYPES = new Set<number>([
  covidshield.TemporaryExposureKey.ReportType.CONFIRMED_TEST,
  covidshield.TemporaryExposureKey.ReportType.CONFIRMED_CLINICAL_DIAGNOSIS,
  covidshield.TemporaryExposureKey.ReportType.SELF_REPORT,
]);
const REPORT_TYPE_FIELD = 5;

const fail = (kind: UploadError, status: 400 | 401 | 500 = 400): UploadResult => ({ kind, status });
const has = (message: object, name: string) => Object.prototype.hasOwnProperty.call(message, name);

type KeyMessage = covidshield.TemporaryExposureKey.$Properties & { $unknowns?: Uint8Array[] };

/** A field the sender actually set (decoded messages keep proto2 defaults on the prototype). */
function field<K extends keyof covidshield.TemporaryExposureKey.$Properties>(key: KeyMessage, name: K) {
  const value = has(key, name) ? key[name] : undefined;
  return (value ?? undefined) as NonNullable<covidshield.TemporaryExposureKey.$Properties[K]> | undefined;
}

/**
 * Rows 13a–d of the upstream table plus deviation 4 (report type, days since onset) for one key.
 * Returns the key as stored, or the error code.
 */
export function validateKey(key: KeyMessage): StoredKey | UploadError {
  const rollingPeriod = field(key, 'rollingPeriod') ?? INTERVALS_PER_DAY;
  if (rollingPeriod < 1 || rollingPeriod > INTERVALS_PER_DAY) return 'INVALID_ROLLING_PERIOD';
  const keyData = field(key, 'keyData') ?? new Uint8Array(0);
  if (keyData.length !== KEY_DATA_LENGTH) return 'INVALID_KEY_DATA';
  const rsin = field(key, 'rollingStartIntervalNumber') ?? 0;
  if (rsin === 0) return 'INVALID_ROLLING_START_INTERVAL_NUMBER';
  const trl = field(key, 'transmissionRiskLevel') ?? 0;
  if (trl < 0 || trl > MAX_TRANSMISSION_RISK_LEVEL) return 'INVALID_TRANSMISSION_RISK_LEVEL';

  // proto2 enums are closed: an unknown report_type value arrives as an unknown field 5.
  if (unknownFieldNumbers(key).includes(REPORT_TYPE_FIELD)) return 'INVALID_PAYLOAD';
  const reportType = Number(field(key, 'reportType') ?? 0);
  if (reportType !== 0 && !KEPT_REPORT_TYPES.has(reportType)) return 'INVALID_PAYLOAD';
  const dso = field(key, 'daysSinceOnsetOfSymptoms');
  if (dso !== undefined && Math.abs(dso) > MAX_DAYS_SINCE_ONSET) return 'INVALID_PAYLOAD';

  return {
    keyData,
    rollingStartIntervalNumber: rsin,
    rollingPeriod,
    transmissionRiskLevel: trl,
    ...(reportType !== 0 ? { reportType } : {}),
    ...(dso !== undefined ? { daysSinceOnsetOfSymptoms: dso } : {}),
  };
}

/** Deviation 3: is the key's interval [rsin, rsin + rolling period) inside the window? */
export function insideWindow(key: StoredKey, nowMs: number): boolean {
  const nowSeconds = nowMs / 1000;
  const start = key.rollingStartIntervalNumber * SECONDS_PER_INTERVAL;
  const end = (key.rollingStartIntervalNumber + key.rollingPeriod) * SECONDS_PER_INTERVAL;
  return end >= nowSeconds - WINDOW_PAST_SECONDS && start <= nowSeconds + WINDOW_FUTURE_SECONDS;
}

/**
 * When stored keys expire: `keyRetentionDays` (15) after the submission day ends, i.e. at the
 * start of UTC day D + 16 for a key submitted on day D. The `00000` bundle covers today−15, so a
 * key must outlive its submission hour by up to one more day (upstream's worker kept it just as
 * long); the total stays under 16 days, inside the 21-day limit.
 */
export function keysExpireAt(nowMs: number, settings: Pick<SubmissionSettings, 'keyRetentionDays'>): number {
  const submissionDay = Math.floor((hourNumber(nowMs) * SECONDS_PER_HOUR) / SECONDS_PER_DAY);
  return (submissionDay + 1 + settings.keyRetentionDays) * SECONDS_PER_DAY;
}

/** Validates a decrypted Upload (rows 9–14); returns the valid keys or the error. */
export function validatePayload(plaintext: Uint8Array, nowMs: number): StoredKey[] | UploadError {
  let upload: covidshield.Upload;
  try {
    upload = covidshield.Upload.decode(readerKeepingUnknowns(plaintext));
  } catch {
    return 'INVALID_PAYLOAD';
  }
  const keys = upload.keys ?? [];
  if (keys.length === 0) return 'NO_KEYS_IN_PAYLOAD';
  if (keys.length > MAX_KEYS_PER_UPLOAD) return 'TOO_MANY_KEYS';
  if (!has(upload, 'timestamp') || !upload.timestamp) return 'INVALID_TIMESTAMP';
  const sentSeconds = int64ToNumber(upload.timestamp.seconds ?? 0);
  if (Math.abs(nowMs / 1000 - sentSeconds) > TIMESTAMP_TOLERANCE_SECONDS) return 'INVALID_TIMESTAMP';

  const valid: StoredKey[] = [];
  for (const key of keys) {
    const checked = validateKey(key);
    if (typeof checked === 'string') return checked;
    valid.push(checked);
  }
  const starts = valid.map((k) => k.rollingStartIntervalNumber);
  if (Math.max(...starts) + INTERVALS_PER_DAY - Math.min(...starts) > MAX_RSIN_SPAN) {
    return 'INVALID_ROLLING_START_INTERVAL_NUMBER';
  }
  return valid;
}

/** Keeps the first occurrence of each key data within one upload. */
function distinctByKeyData(keys: readonly StoredKey[]): StoredKey[] {
  const seen = new Set<string>();
  return keys.filter((k) => {
    const id = Buffer.from(k.keyData).toString('base64');
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

export async function uploadKeys(deps: UploadKeysDeps, request: UploadRequest): Promise<UploadResult> {
  const { keyPairs, clock, events, settings } = deps;
  if (request.kind !== 'upload') return fail('UNKNOWN');
  if (request.serverPublicKey.length !== nacl.box.publicKeyLength) return fail('INVALID_CRYPTO_PARAMETERS');
  const nowMs = clock.nowMs();
  try {
    const keyPair = await keyPairs.get(request.serverPublicKey, nowMs);
    if (!keyPair || !keyPair.appPublicKey) return fail('INVALID_KEYPAIR', 401);
    if (request.nonce.length !== nacl.box.nonceLength) return fail('INVALID_CRYPTO_PARAMETERS');
    if (request.appPublicKey.length !== nacl.box.publicKeyLength) return fail('INVALID_CRYPTO_PARAMETERS');
    if (!Buffer.from(keyPair.appPublicKey).equals(Buffer.from(request.appPublicKey))) return fail('INVALID_KEYPAIR', 401);
    if (keyPair.serverPrivateKey.length !== nacl.box.secretKeyLength) return fail('SERVER_ERROR', 500);

    const plaintext = nacl.box.open(request.payload, request.nonce, request.appPublicKey, keyPair.serverPrivateKey);
    if (!plaintext) return fail('DECRYPTION_FAILED');
    const validated = validatePayload(plaintext, nowMs);
    if (typeof validated === 'string') return fail(validated);

    const distinct = distinctByKeyData(validated);
    const inWindow = distinct.filter((k) => insideWindow(k, nowMs));
    const outcome = await keyPairs.storeKeys(
      {
        serverPublicKey: request.serverPublicKey,
        appPublicKey: request.appPublicKey,
        keys: inWindow,
        region: settings.regionCode,
        submissionHour: hourNumber(nowMs),
        originator: keyPair.originator,
        keysExpireAt: keysExpireAt(nowMs, settings),
      },
      nowMs,
    );
    switch (outcome.kind) {
      case 'quota-exhausted':
        return fail('INVALID_KEYPAIR');
      case 'over-quota':
        return fail('TOO_MANY_KEYS');
      case 'key-pair-invalid':
        return fail('INVALID_KEYPAIR', 401);
      case 'stored': {
        const dropped = distinct.length - inWindow.length;
        const duplicates = outcome.duplicates + (validated.length - distinct.length);
        events.record('Upload', 1, keyPair.source);
        if (outcome.firstUpload) events.record('FirstUpload', 1, keyPair.source);
        events.record('KeysStored', outcome.inserted, keyPair.source);
        if (duplicates) events.record('KeysDuplicate', duplicates, keyPair.source);
        if (dropped) events.record('KeysOutsideWindow', dropped, keyPair.source);
        return { kind: 'NONE', stored: outcome.inserted, duplicates, dropped };
      }
    }
  } catch (error) {
    if (error instanceof StorageError) return fail('SERVER_ERROR', 500);
    throw error;
  }
}
