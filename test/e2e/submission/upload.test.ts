/**
 * /upload over HTTP: upstream upload_test.rb (UP1–UP35) and deviations 1 (binding), 2 (2048-byte
 * cap), 3 (per-key window), 4 (report type and days since onset), 10 (methods) and 11 (no
 * 400 → 401 flip). Cases that succeed use a fresh key set, as upstream; cases refused before
 * the store step share one.
 */
import { randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { covidshield } from '../../../proto';
import {
  AppClient,
  loopbackFor,
  midnightInterval,
  sealUpload,
  tek,
  TOKEN_1,
  uploadOf,
  type ClaimedKeySet,
} from '../../support/app-client';
import { runtimeUrl } from '../../support/runtime';
import { encodeTek, openStore, padTo, PROTOBUF, rawUpload, ReportType, TEXT_PLAIN, UploadError, varint, type Store } from './support';

type Tek = covidshield.TemporaryExposureKey.$Properties;

const client = new AppClient(runtimeUrl(), loopbackFor(__filename));
const keySet = () => client.newKeySet();
/**
 * One key set for the cases that are refused before anything is stored: a refused upload leaves
 * its key set untouched (asserted where it matters), so these need not pay for a fresh one.
 */
let rejecting: Promise<ClaimedKeySet> | undefined;
const rejectingSet = () => (rejecting ??= keySet());
const teks = (n: number, overrides: Partial<Tek> = {}) => Array.from({ length: n }, () => tek(overrides));
const today = () => midnightInterval(Date.now());
const nowSeconds = () => Math.floor(Date.now() / 1000);
const randomPeriod = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));
const remainingKeys = async (set: ClaimedKeySet) => (await store.keyPair(set.serverPublicKey))?.remainingKeys;

let store: Store;
beforeAll(async () => {
  store = await openStore(runtimeUrl());
});
afterAll(() => store.close());

/** Asserts an upload outcome: status, content type and error code. */
function expectOutcome(response: { status: number; contentType: string | null; error: number }, status: number, error: number) {
  expect({ status: response.status, contentType: response.contentType, error: UploadError[response.error] }).toEqual({
    status,
    contentType: PROTOBUF,
    error: UploadError[error],
  });
}

describe('upload_test.rb test_upload_test', () => {
  test('UP1 a body of 2000 bytes of "a" is 400 UNKNOWN (under the 2048-byte cap of deviation 2, but unparsable)', async () => {
    // Act
    const response = await client.uploadRaw(Buffer.alloc(2000, 'a'));

    // Assess
    expectOutcome(response, 400, UploadError.UNKNOWN);
  });

  test('UP1 deviation 2: a valid upload padded to 2048 bytes is 200; the same padded to 2049 bytes is 400 UNKNOWN', async () => {
    // Prepare
    const set = await keySet();
    const atCap = padTo(sealUpload(set, uploadOf(teks(1))), 2048);
    const overCap = padTo(sealUpload(set, uploadOf(teks(1))), 2049);

    // Act
    const over = await client.uploadRaw(overCap);
    const at = await client.uploadRaw(atCap);

    // Assess
    expect(atCap.length).toBe(2048);
    expect(overCap.length).toBe(2049);
    expectOutcome(over, 400, UploadError.UNKNOWN);
    expectOutcome(at, 200, UploadError.NONE);
  });

  test('UP2 a body of 100 bytes of "a" is 400 UNKNOWN', async () => {
    // Act
    const response = await client.uploadRaw(Buffer.alloc(100, 'a'));

    // Assess
    expectOutcome(response, 400, UploadError.UNKNOWN);
  });

  test('UP3 a valid single-key upload is 200 NONE (bytes 08 00); the stored originator is an opaque id, not the token (deviation 6)', async () => {
    // Prepare
    const set = await keySet();
    const key = tek();

    // Act
    const response = await client.upload(set, uploadOf([key]));

    // Assess
    expectOutcome(response, 200, UploadError.NONE);
    expect(response.bytes.toString('hex')).toBe('0800');
    const stored = await store.key(key.keyData!);
    const keyPair = await store.keyPair(set.serverPublicKey);
    expect(stored?.originator).toEqual(expect.any(String));
    expect(stored?.originator).toBe(keyPair?.originator);
    expect(String(stored?.originator)).not.toContain(TOKEN_1);
  });

  test('UP4 a timestamp 59 minutes old is 200 NONE', async () => {
    // Prepare
    const set = await keySet();

    // Act
    const response = await client.upload(set, { timestamp: { seconds: nowSeconds() - 59 * 60 }, keys: teks(1) });

    // Assess
    expectOutcome(response, 200, UploadError.NONE);
  });

  test('UP5 a timestamp exactly 3600 s old is 400 INVALID_TIMESTAMP (the server counts its sub-second time)', async () => {
    // Prepare
    const set = await rejectingSet();

    // Act
    const response = await client.upload(set, { timestamp: { seconds: nowSeconds() - 3600 }, keys: teks(1) });

    // Assess
    expectOutcome(response, 400, UploadError.INVALID_TIMESTAMP);
  });

  test.each([
    ['UP6', 50],
    ['UP7', 4],
  ])('%s an app_public_key of %i bytes is 400 INVALID_CRYPTO_PARAMETERS', async (_id, length) => {
    // Prepare
    const set = await rejectingSet();

    // Act
    const response = await client.upload(set, uploadOf(teks(1)), { appPublicKey: randomBytes(length) });

    // Assess
    expectOutcome(response, 400, UploadError.INVALID_CRYPTO_PARAMETERS);
  });

  test.each([
    ['UP8', 4],
    ['UP9', 50],
    ['an empty', 0],
  ])('%s server_public_key of %i bytes is 400 INVALID_CRYPTO_PARAMETERS', async (_id, length) => {
    // Prepare
    const set = await rejectingSet();

    // Act
    const response = await client.upload(set, uploadOf(teks(1)), { serverPublicKey: randomBytes(length) });

    // Assess
    expectOutcome(response, 400, UploadError.INVALID_CRYPTO_PARAMETERS);
  });

  test('UP10 a server_public_key of 32 unknown bytes is 401 INVALID_KEYPAIR', async () => {
    // Prepare
    const set = await rejectingSet();

    // Act
    const response = await client.upload(set, uploadOf(teks(1)), { serverPublicKey: randomBytes(32) });

    // Assess
    expectOutcome(response, 401, UploadError.INVALID_KEYPAIR);
  });

  test.each([
    ['UP11', 23],
    ['UP12', 32],
    ['an empty', 0],
  ])('%s nonce of %i bytes is 400 INVALID_CRYPTO_PARAMETERS', async (_id, length) => {
    // Prepare
    const set = await rejectingSet();

    // Act
    const response = await client.upload(set, uploadOf(teks(1)), { nonce: randomBytes(length) });

    // Assess
    expectOutcome(response, 400, UploadError.INVALID_CRYPTO_PARAMETERS);
  });

  test('UP13 a payload of 64 bytes of "a" is 400 DECRYPTION_FAILED', async () => {
    // Prepare
    const set = await rejectingSet();

    // Act
    const response = await client.upload(set, uploadOf(teks(1)), { payload: Buffer.alloc(64, 'a') });

    // Assess
    expectOutcome(response, 400, UploadError.DECRYPTION_FAILED);
  });

  test('UP14 a valid box around the plaintext "aaaaaaaaaa" is 400 INVALID_PAYLOAD (truncated fixed64)', async () => {
    // Prepare
    const set = await rejectingSet();

    // Act
    const response = await client.upload(set, Buffer.from('aaaaaaaaaa'));

    // Assess
    expectOutcome(response, 400, UploadError.INVALID_PAYLOAD);
  });

  test('UP15 28 keys (14 RSINs twice, random rolling periods, one key data) are 200 NONE, stored and charged once', async () => {
    // Prepare
    const set = await keySet();
    const keyData = randomBytes(16);
    const keys = Array.from({ length: 28 }, (_, i) =>
      tek({ keyData, rollingStartIntervalNumber: today() - 144 * (i % 14), rollingPeriod: randomPeriod(1, 143) }),
    );

    // Act
    const response = await client.upload(set, uploadOf(keys));

    // Assess
    expectOutcome(response, 200, UploadError.NONE);
    expect(await store.key(keyData)).toBeDefined();
    expect(await remainingKeys(set)).toBe(42);
  });

  test('UP16 no keys is 400 NO_KEYS_IN_PAYLOAD', async () => {
    // Prepare
    const set = await rejectingSet();

    // Act
    const response = await client.upload(set, uploadOf([]));

    // Assess
    expectOutcome(response, 400, UploadError.NO_KEYS_IN_PAYLOAD);
  });

  test('UP17 29 keys is 400 TOO_MANY_KEYS and none is stored', async () => {
    // Prepare
    const set = await rejectingSet();
    const keys = teks(29);

    // Act
    const response = await client.upload(set, uploadOf(keys));

    // Assess
    expectOutcome(response, 400, UploadError.TOO_MANY_KEYS);
    expect(await store.keys(keys.map((k) => k.keyData!))).toEqual([]);
  });

  test.each([0, 145, -1])('UP18 rolling_period %i is 400 INVALID_ROLLING_PERIOD', async (rollingPeriod) => {
    // Prepare
    const set = await rejectingSet();

    // Act
    const response = await client.upload(set, uploadOf([tek({ rollingPeriod })]));

    // Assess
    expectOutcome(response, 400, UploadError.INVALID_ROLLING_PERIOD);
  });

  test.each([9, -1])('UP19 transmission_risk_level %i is 400 INVALID_TRANSMISSION_RISK_LEVEL', async (transmissionRiskLevel) => {
    // Prepare
    const set = await rejectingSet();

    // Act
    const response = await client.upload(set, uploadOf([tek({ transmissionRiskLevel })]));

    // Assess
    expectOutcome(response, 400, UploadError.INVALID_TRANSMISSION_RISK_LEVEL);
  });

  test.each([
    ['absent', undefined],
    ['15 bytes', randomBytes(15)],
    ['17 bytes', randomBytes(17)],
  ])('UP20 key_data %s is 400 INVALID_KEY_DATA', async (_name, keyData) => {
    // Prepare
    const set = await rejectingSet();

    // Act
    const response = await client.upload(set, uploadOf([tek({ keyData })]));

    // Assess
    expectOutcome(response, 400, UploadError.INVALID_KEY_DATA);
  });

  test.each([
    ['0', 0],
    ['absent', undefined],
  ])('UP21 rolling_start_interval_number %s is 400 INVALID_ROLLING_START_INTERVAL_NUMBER', async (_name, rollingStartIntervalNumber) => {
    // Prepare
    const set = await rejectingSet();

    // Act
    const response = await client.upload(set, uploadOf([tek({ rollingStartIntervalNumber })]));

    // Assess
    expectOutcome(response, 400, UploadError.INVALID_ROLLING_START_INTERVAL_NUMBER);
  });

  test('TRL 0 and 8, absent TRL and absent rolling_period (default 144) are accepted', async () => {
    // Prepare
    const set = await keySet();
    const keys = [tek({ transmissionRiskLevel: 0 }), tek({ transmissionRiskLevel: 8 }), tek({ transmissionRiskLevel: undefined }), tek({ rollingPeriod: undefined })];

    // Act
    const response = await client.upload(set, uploadOf(keys));

    // Assess
    expectOutcome(response, 200, UploadError.NONE);
    expect((await store.key(keys[2].keyData!))?.transmissionRiskLevel).toBe(0);
    expect((await store.key(keys[3].keyData!))?.rollingPeriod).toBe(144);
  });
});

describe('upload_test.rb test_invalid_sequencing', () => {
  const daily = (days: number, shape: (rsin: number) => Partial<Tek> = () => ({})) =>
    Array.from({ length: days }, (_, i) => tek({ rollingStartIntervalNumber: today() - 144 * i, ...shape(today() - 144 * i) }));

  test('UP22 14 daily-consecutive keys are 200', async () => {
    // Prepare
    const set = await keySet();

    // Act
    const response = await client.upload(set, uploadOf(daily(14)));

    // Assess
    expectOutcome(response, 200, UploadError.NONE);
  });

  test('UP23 the same set with one day missing is 200', async () => {
    // Prepare
    const set = await keySet();
    const keys = daily(14);
    keys.splice(6, 1);

    // Act
    const response = await client.upload(set, uploadOf(keys));

    // Assess
    expectOutcome(response, 200, UploadError.NONE);
  });

  test('UP24 every RSIN + 1 (off midnight) is 200', async () => {
    // Prepare
    const set = await keySet();

    // Act
    const response = await client.upload(set, uploadOf(daily(14, (rsin) => ({ rollingStartIntervalNumber: rsin + 1 }))));

    // Assess
    expectOutcome(response, 200, UploadError.NONE);
  });

  test('UP25 every rolling_period random in 100..143 is 200', async () => {
    // Prepare
    const set = await keySet();

    // Act
    const response = await client.upload(set, uploadOf(daily(14, () => ({ rollingPeriod: randomPeriod(100, 143) }))));

    // Assess
    expectOutcome(response, 200, UploadError.NONE);
  });

  test('an RSIN span of exactly 14 days (max - min = 2016) is 200; 2017 is 400 INVALID_ROLLING_START_INTERVAL_NUMBER', async () => {
    // Prepare
    const set = await keySet();
    const newest = today() - 144;
    const span = (extra: number) => [tek({ rollingStartIntervalNumber: newest }), tek({ rollingStartIntervalNumber: newest - 2016 - extra })];

    // Act
    const tooWide = await client.upload(set, uploadOf(span(1)));
    const widest = await client.upload(set, uploadOf(span(0)));

    // Assess
    expectOutcome(tooWide, 400, UploadError.INVALID_ROLLING_START_INTERVAL_NUMBER);
    expectOutcome(widest, 200, UploadError.NONE);
  });
});

describe('upload_test.rb test_invalid_timestamp', () => {
  test.each([
    ['UP26', 0, 200, UploadError.NONE],
    ['UP27', -3595, 200, UploadError.NONE],
    ['UP28', -3605, 400, UploadError.INVALID_TIMESTAMP],
    ['UP29', 3595, 200, UploadError.NONE],
    ['UP30', 3605, 400, UploadError.INVALID_TIMESTAMP],
    ['exactly +3600 s passes:', 3600, 200, UploadError.NONE],
  ])('%s timestamp now + (%i s) is %i', async (_id, delta, status, error) => {
    // Prepare
    const set = await keySet();

    // Act
    const response = await client.upload(set, { timestamp: { seconds: nowSeconds() + delta }, keys: teks(1) });

    // Assess
    expectOutcome(response, status, error);
  });

  test.each([
    [-3601, 400, UploadError.INVALID_TIMESTAMP],
    [3600, 200, UploadError.NONE],
  ])('timestamp nanos are ignored: now + (%i s) with 999999999 nanos is %i', async (delta, status, error) => {
    // Prepare
    const set = await keySet();

    // Act
    const response = await client.upload(set, { timestamp: { seconds: nowSeconds() + delta, nanos: 999_999_999 }, keys: teks(1) });

    // Assess
    expectOutcome(response, status, error);
  });

  test('an absent timestamp is 400 INVALID_TIMESTAMP', async () => {
    // Prepare
    const set = await rejectingSet();

    // Act
    const response = await client.upload(set, { keys: teks(1) });

    // Assess
    expectOutcome(response, 400, UploadError.INVALID_TIMESTAMP);
  });
});

describe('upload_test.rb test_variable_limits (one key set, quota 43, in order)', () => {
  let set: ClaimedKeySet;
  const keys = teks(50);
  beforeAll(async () => {
    set = await keySet();
  });

  test('UP31 15 keys are 200', async () => {
    // Act
    const response = await client.upload(set, uploadOf(keys.slice(0, 15)));

    // Assess
    expectOutcome(response, 200, UploadError.NONE);
  });

  test('UP32 27 more are 200 (42 used)', async () => {
    // Act
    const response = await client.upload(set, uploadOf(keys.slice(15, 42)));

    // Assess
    expectOutcome(response, 200, UploadError.NONE);
    expect(await remainingKeys(set)).toBe(1);
  });

  test('UP33 2 more are 400 TOO_MANY_KEYS and neither is stored', async () => {
    // Act
    const response = await client.upload(set, uploadOf(keys.slice(42, 44)));

    // Assess
    expectOutcome(response, 400, UploadError.TOO_MANY_KEYS);
    expect(await store.keys(keys.slice(42, 44).map((k) => k.keyData!))).toEqual([]);
  });

  test('UP34 1 more is 200 (43 used)', async () => {
    // Act
    const response = await client.upload(set, uploadOf(keys.slice(44, 45)));

    // Assess
    expectOutcome(response, 200, UploadError.NONE);
    expect(await remainingKeys(set)).toBe(0);
  });

  test('UP35 1 more is 400 INVALID_KEYPAIR (no 401 flip, deviation 11)', async () => {
    // Act
    const response = await client.upload(set, uploadOf(keys.slice(45, 46)));

    // Assess
    expectOutcome(response, 400, UploadError.INVALID_KEYPAIR);
  });

  test('deviation 11: further uploads, of new or already stored keys, stay 400 INVALID_KEYPAIR', async () => {
    // Act
    const responses = [
      await client.upload(set, uploadOf(keys.slice(46, 47))),
      await client.upload(set, uploadOf(keys.slice(0, 2))),
      await client.upload(set, uploadOf(keys.slice(47, 50))),
    ];

    // Assess
    for (const response of responses) expectOutcome(response, 400, UploadError.INVALID_KEYPAIR);
    expect(await store.keys(keys.slice(45).map((k) => k.keyData!))).toEqual([]);
  });
});

describe('validation order', () => {
  test('row 11 before row 13: 29 keys with an invalid one are TOO_MANY_KEYS', async () => {
    // Prepare
    const set = await rejectingSet();

    // Act
    const response = await client.upload(set, uploadOf([tek({ transmissionRiskLevel: 9 }), ...teks(28)]));

    // Assess
    expectOutcome(response, 400, UploadError.TOO_MANY_KEYS);
  });

  test('row 12 before row 13: a stale timestamp with an invalid key is INVALID_TIMESTAMP', async () => {
    // Prepare
    const set = await keySet();

    // Act
    const response = await client.upload(set, { timestamp: { seconds: nowSeconds() - 7200 }, keys: [tek({ keyData: randomBytes(3) })] });

    // Assess
    expectOutcome(response, 400, UploadError.INVALID_TIMESTAMP);
  });

  test('row 13 a–d per key: rolling period before key data before RSIN before TRL', async () => {
    // Prepare
    const set = await rejectingSet();
    const bad = { rollingPeriod: 0, keyData: randomBytes(3), rollingStartIntervalNumber: 0, transmissionRiskLevel: 9 };

    // Act
    const responses = [
      await client.upload(set, uploadOf([tek(bad)])),
      await client.upload(set, uploadOf([tek({ ...bad, rollingPeriod: 144 })])),
      await client.upload(set, uploadOf([tek({ ...bad, rollingPeriod: 144, keyData: randomBytes(16) })])),
    ];

    // Assess
    expect(responses.map((r) => UploadError[r.error])).toEqual([
      'INVALID_ROLLING_PERIOD',
      'INVALID_KEY_DATA',
      'INVALID_ROLLING_START_INTERVAL_NUMBER',
    ]);
  });

  test('row 13 runs in list order: the first bad key decides', async () => {
    // Prepare
    const set = await rejectingSet();

    // Act
    const response = await client.upload(set, uploadOf([tek(), tek({ transmissionRiskLevel: 9 }), tek({ rollingPeriod: 0 })]));

    // Assess
    expectOutcome(response, 400, UploadError.INVALID_TRANSMISSION_RISK_LEVEL);
  });

  test('row 4 before row 5: an unknown server key with a bad nonce is 401 INVALID_KEYPAIR', async () => {
    // Prepare
    const set = await rejectingSet();

    // Act
    const response = await client.upload(set, uploadOf(teks(1)), { serverPublicKey: randomBytes(32), nonce: randomBytes(3) });

    // Assess
    expectOutcome(response, 401, UploadError.INVALID_KEYPAIR);
  });
});

describe('deviation 1: an upload is bound to its key pair', () => {
  test('a box from an app key that is not bound to the key pair is 401 INVALID_KEYPAIR', async () => {
    // Prepare
    const set = await keySet();
    const stranger = { ...set, app: nacl.box.keyPair() };
    const key = tek();

    // Act
    const response = await client.upload(stranger, uploadOf([key]));

    // Assess
    expectOutcome(response, 401, UploadError.INVALID_KEYPAIR);
    expect(await store.key(key.keyData!)).toBeUndefined();
    expect(await remainingKeys(set)).toBe(43);
  });

  test("another key set's app key cannot upload through this key pair (401, no quota charged anywhere)", async () => {
    // Prepare
    const mine = await keySet();
    const theirs = await keySet();
    const key = tek();

    // Act
    const response = await client.upload({ ...mine, app: theirs.app }, uploadOf([key]));

    // Assess
    expectOutcome(response, 401, UploadError.INVALID_KEYPAIR);
    expect(await store.key(key.keyData!)).toBeUndefined();
    expect([await remainingKeys(mine), await remainingKeys(theirs)]).toEqual([43, 43]);
  });

  test('an unclaimed key pair is 401 INVALID_KEYPAIR, never 500', async () => {
    // Prepare: an issued, unclaimed code; its server key is only known to the server (read it from the table).
    await client.newCode();
    const unclaimed = (await store.scan(store.tables.submission)).filter(
      (item) => String(item.pk).startsWith('keypair#') && item.appPublicKey === undefined,
    );
    expect(unclaimed.length).toBeGreaterThan(0);
    const app = nacl.box.keyPair();

    // Act
    const responses = await Promise.all(
      unclaimed.slice(0, 3).map((item) =>
        client.upload({ code: '', app, serverPublicKey: item.serverPublicKey as Uint8Array }, uploadOf(teks(1))),
      ),
    );

    // Assess
    for (const response of responses) expectOutcome(response, 401, UploadError.INVALID_KEYPAIR);
  });

  test('the length checks of rows 5–6 come before the binding check', async () => {
    // Prepare
    const set = await rejectingSet();
    const stranger = { ...set, app: nacl.box.keyPair() };

    // Act
    const badNonce = await client.upload(stranger, uploadOf(teks(1)), { nonce: randomBytes(23) });
    const badAppKey = await client.upload(set, uploadOf(teks(1)), { appPublicKey: randomBytes(31) });

    // Assess
    expectOutcome(badNonce, 400, UploadError.INVALID_CRYPTO_PARAMETERS);
    expectOutcome(badAppKey, 400, UploadError.INVALID_CRYPTO_PARAMETERS);
  });

  test('the binding check comes before decryption: an unbound app key with a garbage payload is 401', async () => {
    // Prepare
    const set = await rejectingSet();

    // Act
    const response = await client.upload({ ...set, app: nacl.box.keyPair() }, uploadOf(teks(1)), { payload: Buffer.alloc(64, 'a') });

    // Assess
    expectOutcome(response, 401, UploadError.INVALID_KEYPAIR);
  });

  test('the bound app key with a box sealed by another secret key is 400 DECRYPTION_FAILED', async () => {
    // Prepare
    const set = await rejectingSet();
    const other = nacl.box.keyPair();

    // Act
    const response = await client.upload({ ...set, app: { publicKey: set.app.publicKey, secretKey: other.secretKey } }, uploadOf(teks(1)));

    // Assess
    expectOutcome(response, 400, UploadError.DECRYPTION_FAILED);
  });
});

describe('deviation 2: upload body cap 2048 bytes', () => {
  test('28 keys with all six fields (a body over 1024 bytes) are 200 NONE and all stored', async () => {
    // Prepare
    const set = await keySet();
    const keys = Array.from({ length: 28 }, (_, i) =>
      tek({ rollingStartIntervalNumber: today() - 144 * (i % 14), reportType: ReportType.CONFIRMED_CLINICAL_DIAGNOSIS, daysSinceOnsetOfSymptoms: -14 + i }),
    );
    const body = sealUpload(set, uploadOf(keys));

    // Act
    const response = await client.uploadRaw(body);

    // Assess
    expect(body.length).toBeGreaterThan(1024);
    expectOutcome(response, 200, UploadError.NONE);
    expect(await store.keys(keys.map((k) => k.keyData!))).toHaveLength(28);
  });
});

describe('deviation 3: keys outside the per-key window are dropped silently', () => {
  // Ended more than 15 days ago: starts 16 days before today's midnight, ends before the 15th.
  const expired = () => tek({ rollingStartIntervalNumber: today() - 16 * 144, rollingPeriod: 143 });
  // Starts more than a day ahead: the midnight after tomorrow.
  const future = () => tek({ rollingStartIntervalNumber: today() + 2 * 144 });
  const recent = () => tek({ rollingStartIntervalNumber: today() - 2 * 144 });

  test('dropped keys are neither stored nor charged: 1 kept + 3 dropped, then 2 future only, then 42 more still fit the quota of 43', async () => {
    // Prepare
    const set = await keySet();
    const kept = recent();
    const dropped = [expired(), expired(), expired(), future(), future()];
    const more = teks(42);

    // Act
    const mixed = await client.upload(set, uploadOf([kept, ...dropped.slice(0, 3)]));
    const allFuture = await client.upload(set, uploadOf(dropped.slice(3)));
    const fill = [await client.upload(set, uploadOf(more.slice(0, 28))), await client.upload(set, uploadOf(more.slice(28)))];
    const beyond = await client.upload(set, uploadOf(teks(1)));

    // Assess
    expectOutcome(mixed, 200, UploadError.NONE);
    expectOutcome(allFuture, 200, UploadError.NONE);
    for (const response of fill) expectOutcome(response, 200, UploadError.NONE);
    expectOutcome(beyond, 400, UploadError.INVALID_KEYPAIR);
    expect(await store.key(kept.keyData!)).toBeDefined();
    expect(await store.keys(dropped.map((k) => k.keyData!))).toEqual([]);
  });

  test('an upload whose keys are all dropped is 200 NONE and stores and charges nothing', async () => {
    // Prepare
    const set = await keySet();
    const keys = [expired(), expired()];

    // Act
    const response = await client.upload(set, uploadOf(keys));

    // Assess
    expectOutcome(response, 200, UploadError.NONE);
    expect(response.bytes.toString('hex')).toBe('0800');
    expect(await store.keys(keys.map((k) => k.keyData!))).toEqual([]);
    expect(await remainingKeys(set)).toBe(43);
  });

  test('keys just inside the window are kept: ending less than 15 days ago, starting within a day', async () => {
    // Prepare
    const set = await keySet();
    const old = tek({ rollingStartIntervalNumber: today() - 15 * 144, rollingPeriod: 144 });
    const tomorrow = tek({ rollingStartIntervalNumber: today() + 144 });

    // Act
    const first = await client.upload(set, uploadOf([old]));
    const second = await client.upload(set, uploadOf([tomorrow]));

    // Assess
    expectOutcome(first, 200, UploadError.NONE);
    expectOutcome(second, 200, UploadError.NONE);
    expect(await store.keys([old.keyData!, tomorrow.keyData!])).toHaveLength(2);
    expect(await remainingKeys(set)).toBe(41);
  });

  test.each([
    ['INVALID_TRANSMISSION_RISK_LEVEL', () => ({ ...expired(), transmissionRiskLevel: 9 })],
    ['INVALID_KEY_DATA', () => ({ ...future(), keyData: randomBytes(15) })],
    ['INVALID_ROLLING_PERIOD', () => ({ ...expired(), rollingPeriod: 145 })],
  ])('a malformed out-of-window key still fails the whole upload with %s, nothing stored', async (error, badKey) => {
    // Prepare
    const set = await rejectingSet();
    const good = recent();

    // Act
    const response = await client.upload(set, uploadOf([good, badKey()]));

    // Assess
    expectOutcome(response, 400, UploadError[error as keyof typeof UploadError]);
    expect(await store.key(good.keyData!)).toBeUndefined();
  });

  test('the 14-day span check counts keys that would be dropped: 400 INVALID_ROLLING_START_INTERVAL_NUMBER', async () => {
    // Prepare
    const set = await rejectingSet();
    const good = tek({ rollingStartIntervalNumber: today() });

    // Act
    const response = await client.upload(set, uploadOf([good, expired()]));

    // Assess
    expectOutcome(response, 400, UploadError.INVALID_ROLLING_START_INTERVAL_NUMBER);
    expect(await store.key(good.keyData!)).toBeUndefined();
  });
});

describe('deviation 4: report_type and days_since_onset_of_symptoms', () => {
  test.each([
    ['RECURSIVE', ReportType.RECURSIVE],
    ['REVOKED', ReportType.REVOKED],
  ])('report_type %s is 400 INVALID_PAYLOAD', async (_name, reportType) => {
    // Prepare
    const set = await rejectingSet();

    // Act
    const response = await client.upload(set, uploadOf([tek(), tek({ reportType })]));

    // Assess
    expectOutcome(response, 400, UploadError.INVALID_PAYLOAD);
  });

  test.each([6, 9, 1000])('report_type %i (unknown enum value, encoded by hand) is 400 INVALID_PAYLOAD', async (value) => {
    // Prepare
    const set = await rejectingSet();
    const key = tek({ reportType: undefined });
    const encoded = Buffer.concat([encodeTek(key), Buffer.from([0x28]), varint(value)]);
    expect(covidshield.TemporaryExposureKey.decode(encoded).reportType).toBe(0);

    // Act
    const response = await client.upload(set, rawUpload(nowSeconds(), [encodeTek(tek()), encoded]));

    // Assess
    expectOutcome(response, 400, UploadError.INVALID_PAYLOAD);
    expect(await store.key(key.keyData!)).toBeUndefined();
  });

  test.each([15, -15, 100])('days_since_onset_of_symptoms %i is 400 INVALID_PAYLOAD', async (daysSinceOnsetOfSymptoms) => {
    // Prepare
    const set = await rejectingSet();

    // Act
    const response = await client.upload(set, uploadOf([tek({ daysSinceOnsetOfSymptoms })]));

    // Assess
    expectOutcome(response, 400, UploadError.INVALID_PAYLOAD);
  });

  test('days since onset 14, -14, 0 and absent, and report types 1–3, 0 and absent are accepted and kept as sent', async () => {
    // Prepare
    const set = await keySet();
    const keys = [
      tek({ daysSinceOnsetOfSymptoms: 14, reportType: ReportType.CONFIRMED_TEST }),
      tek({ daysSinceOnsetOfSymptoms: -14, reportType: ReportType.CONFIRMED_CLINICAL_DIAGNOSIS }),
      tek({ daysSinceOnsetOfSymptoms: 0, reportType: ReportType.SELF_REPORT }),
      tek({ daysSinceOnsetOfSymptoms: undefined, reportType: ReportType.UNKNOWN }),
      tek({ daysSinceOnsetOfSymptoms: 3, reportType: undefined }),
    ];

    // Act
    const response = await client.upload(set, uploadOf(keys));

    // Assess
    expectOutcome(response, 200, UploadError.NONE);
    const stored = await Promise.all(keys.map((k) => store.key(k.keyData!)));
    expect(stored.map((item) => [item?.reportType, item?.daysSinceOnsetOfSymptoms])).toEqual([
      [1, 14],
      [2, -14],
      [3, 0],
      [undefined, undefined],
      [undefined, 3],
    ]);
  });

  test('the deviation-4 checks run after row 13d: TRL 9 with REVOKED is INVALID_TRANSMISSION_RISK_LEVEL', async () => {
    // Prepare
    const set = await rejectingSet();

    // Act
    const response = await client.upload(set, uploadOf([tek({ transmissionRiskLevel: 9, reportType: ReportType.REVOKED })]));

    // Assess
    expectOutcome(response, 400, UploadError.INVALID_TRANSMISSION_RISK_LEVEL);
  });

  test('the checks run per key in list order: REVOKED on key 1 wins over TRL 9 on key 2', async () => {
    // Prepare
    const set = await rejectingSet();

    // Act
    const response = await client.upload(set, uploadOf([tek({ reportType: ReportType.REVOKED }), tek({ transmissionRiskLevel: 9 })]));

    // Assess
    expectOutcome(response, 400, UploadError.INVALID_PAYLOAD);
  });
});

describe('deviation 10: /upload answers 405 to anything but POST', () => {
  test.each(['GET', 'PUT', 'DELETE', 'PATCH'])('%s /upload is 405 method not allowed', async (method) => {
    // Act
    const response = await client.send('/upload', { method });

    // Assess
    expect(response.status).toBe(405);
    expect(response.headers['content-type']).toBe(TEXT_PLAIN);
    expect(response.text()).toBe('method not allowed\n');
  });
});

test('refused uploads charged nothing: the key set they shared still has its whole quota of 43', async () => {
  // Act
  const remaining = await remainingKeys(await rejectingSet());

  // Assess
  expect(remaining).toBe(43);
});
