import nacl from 'tweetnacl';
import { StorageError } from '../../../lambdas/domain/settings';
import { uploadKeys, type UploadRequest } from '../../../lambdas/domain/upload-keys';
import type { StoreKeysOutcome } from '../../../lambdas/ports';
import { covidshield } from '../../../proto';
import {
  fakeSubmission,
  NOW,
  seedClaimedKeyPair,
  seedCode,
  type ClaimedKeyPair,
  type FakeSubmission,
} from '../../support/builders/submission';
import {
  aKey,
  eninOf,
  handKey,
  handUpload,
  keyDataOf,
  midnightEnin,
  sealedUpload,
  someKeys,
  uploadPlaintext,
  wire,
  type TekProperties,
} from '../../support/builders/uploads';

const ReportType = covidshield.TemporaryExposureKey.ReportType;
const NOW_S = NOW / 1000;
const NOW_ENIN = eninOf(NOW);
const DAY_INTERVALS = 144;

async function setUp(options: { nowMs?: number; remainingKeys?: number } = {}) {
  const sub = fakeSubmission({ nowMs: options.nowMs ?? NOW });
  const pair = await seedClaimedKeyPair(sub, { createdAtMs: NOW - 3_600_000, source: 'ON', originator: 'o-abcdef0123456789', remainingKeys: options.remainingKeys });
  return { sub, pair };
}

/** `timestampSeconds: null` leaves the timestamp out. */
const plain = (keys: readonly TekProperties[], timestampSeconds: number | null = NOW_S) =>
  uploadPlaintext({ timestampSeconds: timestampSeconds ?? undefined, keys });
const send = (sub: FakeSubmission, pair: ClaimedKeyPair, plaintext: Uint8Array) => uploadKeys(sub, sealedUpload(pair, plaintext));
const remaining = async (sub: FakeSubmission, pair: ClaimedKeyPair) => (await sub.keyPairs.get(pair.server.publicKey, sub.clock.nowMs()))?.remainingKeys;
const storedValues = (sub: FakeSubmission) => [...sub.fake.diagnosisKeys.values()];

describe('uploadKeys: success', () => {
  test('stores valid keys, charges them to the quota and answers NONE', async () => {
    // Prepare
    const { sub, pair } = await setUp();

    // Act
    const result = await send(sub, pair, plain(someKeys(NOW, 3)));

    // Assess
    expect(result).toEqual({ kind: 'NONE', stored: 3, duplicates: 0, dropped: 0 });
    expect(await remaining(sub, pair)).toBe(40);
    expect(sub.fake.diagnosisKeys.size).toBe(3);
  });

  test('stored keys carry region, truncated submission hour, retention and the key pair originator', async () => {
    // Prepare: 10:59:59 UTC, the last second of the hour
    const nowMs = NOW + 2_399_000;
    const { sub, pair } = await setUp({ nowMs });
    const key = aKey(nowMs, { keyData: keyDataOf('attrs'), rollingStartIntervalNumber: midnightEnin(nowMs, 2), rollingPeriod: 100, transmissionRiskLevel: 6 });

    // Act
    const result = await send(sub, pair, plain([key], nowMs / 1000));

    // Assess
    const hour = Math.floor(NOW / 3_600_000);
    expect(result.kind).toBe('NONE');
    expect(storedValues(sub)).toEqual([
      {
        keyData: keyDataOf('attrs'),
        region: '302',
        regionDay: `302#${Math.floor(hour / 24)}`,
        submissionHour: hour,
        rollingStartIntervalNumber: midnightEnin(nowMs, 2),
        rollingPeriod: 100,
        transmissionRiskLevel: 6,
        originator: 'o-abcdef0123456789',
        expiresAt: (Math.floor(hour / 24) + 16) * 86_400, // start of UTC day D + 16
      },
    ]);
  });

  test('an absent rolling_period counts as 144', async () => {
    // Prepare
    const { sub, pair } = await setUp();

    // Act
    const result = await send(sub, pair, plain([aKey(NOW, { rollingPeriod: undefined })]));

    // Assess
    expect(result.kind).toBe('NONE');
    expect(storedValues(sub)[0].rollingPeriod).toBe(144);
  });

  test('records Upload, FirstUpload (first time only) and KeysStored with the key pair source', async () => {
    // Prepare
    const { sub, pair } = await setUp();

    // Act
    await send(sub, pair, plain(someKeys(NOW, 2)));
    await send(sub, pair, plain(someKeys(NOW, 1)));

    // Assess
    expect(sub.events.recorded).toEqual([
      { name: 'Upload', count: 1, source: 'ON' },
      { name: 'FirstUpload', count: 1, source: 'ON' },
      { name: 'KeysStored', count: 2, source: 'ON' },
      { name: 'Upload', count: 1, source: 'ON' },
      { name: 'KeysStored', count: 1, source: 'ON' },
    ]);
  });
});

describe('uploadKeys: validation order (reference §5 rows 3–14, deviation 1)', () => {
  test('row 1–2: a too-large or malformed body is 400 UNKNOWN', async () => {
    // Prepare
    const { sub } = await setUp();

    // Act
    const results = await Promise.all([uploadKeys(sub, { kind: 'too-large' }), uploadKeys(sub, { kind: 'malformed' })]);

    // Assess
    expect(results).toEqual([
      { kind: 'UNKNOWN', status: 400 },
      { kind: 'UNKNOWN', status: 400 },
    ]);
  });

  test('row 3: a server key that is not 32 bytes is 400 INVALID_CRYPTO_PARAMETERS, before any lookup', async () => {
    // Prepare
    const { sub, pair } = await setUp();
    sub.fake.calls.length = 0;
    const request = { ...sealedUpload(pair, plain(someKeys(NOW, 1))), serverPublicKey: new Uint8Array(31), nonce: new Uint8Array(3) };

    // Act
    const result = await uploadKeys(sub, request);

    // Assess
    expect(result).toEqual({ kind: 'INVALID_CRYPTO_PARAMETERS', status: 400 });
    expect(sub.fake.calls).toEqual([]);
  });

  test('row 4: an unknown key pair is 401 INVALID_KEYPAIR, before the nonce length (row 5)', async () => {
    // Prepare
    const { sub, pair } = await setUp();
    const request = { ...sealedUpload(pair, plain(someKeys(NOW, 1))), serverPublicKey: new Uint8Array(32).fill(1), nonce: new Uint8Array(23) };

    // Act
    const result = await uploadKeys(sub, request);

    // Assess
    expect(result).toEqual({ kind: 'INVALID_KEYPAIR', status: 401 });
  });

  test('row 4 / deviation 1: an unclaimed key pair is 401 INVALID_KEYPAIR (never 500)', async () => {
    // Prepare
    const sub = fakeSubmission();
    const seeded = await seedCode(sub, { createdAtMs: NOW });
    const app = nacl.box.keyPair.fromSecretKey(new Uint8Array(32).fill(3));

    // Act
    const result = await uploadKeys(sub, sealedUpload({ server: seeded.server, app }, plain(someKeys(NOW, 1))));

    // Assess
    expect(result).toEqual({ kind: 'INVALID_KEYPAIR', status: 401 });
  });

  test('row 4: an expired key pair (UTC midnight of issue day + 15 days) is 401 INVALID_KEYPAIR', async () => {
    // Prepare: issued 2024-03-14 09:20, valid until 2024-03-29 00:00 UTC
    const { sub, pair } = await setUp();
    const expiry = Date.UTC(2024, 2, 29);
    sub.clock.set(expiry - 1000);
    const lastSecond = await send(sub, pair, plain(someKeys(expiry - 1000, 1), expiry / 1000 - 1));
    sub.clock.set(expiry);

    // Act
    const expired = await send(sub, pair, plain(someKeys(expiry, 1), expiry / 1000));

    // Assess
    expect(lastSecond.kind).toBe('NONE');
    expect(expired).toEqual({ kind: 'INVALID_KEYPAIR', status: 401 });
  });

  test('row 5: a nonce that is not 24 bytes is 400 INVALID_CRYPTO_PARAMETERS, before the key binding', async () => {
    // Prepare
    const { sub, pair } = await setUp();
    const request = { ...sealedUpload(pair, plain(someKeys(NOW, 1))), nonce: new Uint8Array(23), appPublicKey: new Uint8Array(32).fill(8) };

    // Act
    const result = await uploadKeys(sub, request);

    // Assess
    expect(result).toEqual({ kind: 'INVALID_CRYPTO_PARAMETERS', status: 400 });
  });

  test('row 6: an app key that is not 32 bytes is 400 INVALID_CRYPTO_PARAMETERS, before the key binding', async () => {
    // Prepare
    const { sub, pair } = await setUp();
    const request = { ...sealedUpload(pair, plain(someKeys(NOW, 1))), appPublicKey: new Uint8Array(31) };

    // Act
    const result = await uploadKeys(sub, request);

    // Assess
    expect(result).toEqual({ kind: 'INVALID_CRYPTO_PARAMETERS', status: 400 });
  });

  test('deviation 1: another app key is 401 INVALID_KEYPAIR before decryption and before the private key check', async () => {
    // Prepare: a key pair whose stored private key is corrupt, and a box from a different app key
    const sub = fakeSubmission();
    const pair = await seedClaimedKeyPair(sub, { createdAtMs: NOW, storedPrivateKey: new Uint8Array(31) });
    const intruder = nacl.box.keyPair.fromSecretKey(new Uint8Array(32).fill(4));

    // Act
    const result = await uploadKeys(sub, { ...sealedUpload({ server: pair.server, app: intruder }, plain(someKeys(NOW, 1))), payload: new Uint8Array(5) });

    // Assess
    expect(result).toEqual({ kind: 'INVALID_KEYPAIR', status: 401 });
    expect(sub.fake.diagnosisKeys.size).toBe(0);
  });

  test('row 7: a stored private key that is not 32 bytes is 500 SERVER_ERROR, before decryption', async () => {
    // Prepare
    const sub = fakeSubmission();
    const pair = await seedClaimedKeyPair(sub, { createdAtMs: NOW, storedPrivateKey: new Uint8Array(31) });

    // Act
    const result = await uploadKeys(sub, { ...sealedUpload(pair, plain(someKeys(NOW, 1))), payload: new Uint8Array(40) });

    // Assess
    expect(result).toEqual({ kind: 'SERVER_ERROR', status: 500 });
  });

  test.each<[string, (r: Extract<UploadRequest, { kind: 'upload' }>) => Extract<UploadRequest, { kind: 'upload' }>]>([
    ['garbage', (r) => ({ ...r, payload: new Uint8Array(64).fill(0x41) })],
    ['empty payload', (r) => ({ ...r, payload: new Uint8Array(0) })],
    ['one flipped bit', (r) => ({ ...r, payload: r.payload.map((b, i) => (i === 20 ? b ^ 1 : b)) })],
    ['another nonce', (r) => ({ ...r, nonce: new Uint8Array(24).fill(9) })],
  ])('row 8: a box that does not open (%s) is 400 DECRYPTION_FAILED', async (_why, tamper) => {
    // Prepare
    const { sub, pair } = await setUp();

    // Act
    const result = await uploadKeys(sub, tamper(sealedUpload(pair, plain(someKeys(NOW, 1)))));

    // Assess
    expect(result).toEqual({ kind: 'DECRYPTION_FAILED', status: 400 });
  });

  test.each([
    ['a truncated length-delimited field', [0x12, 0x40, 0x0a]],
    ['an invalid wire type', [0x0f]],
    ['a key that is not a message', [0x12, 0x02, 0xff, 0xff]],
  ])('row 9: a plaintext that is not an Upload (%s) is 400 INVALID_PAYLOAD', async (_why, bytes) => {
    // Prepare
    const { sub, pair } = await setUp();

    // Act
    const result = await send(sub, pair, Uint8Array.from(bytes));

    // Assess
    expect(result).toEqual({ kind: 'INVALID_PAYLOAD', status: 400 });
  });

  test('row 10: no keys is 400 NO_KEYS_IN_PAYLOAD, before the timestamp check', async () => {
    // Prepare
    const { sub, pair } = await setUp();

    // Act
    const result = await send(sub, pair, plain([], null));

    // Assess
    expect(result).toEqual({ kind: 'NO_KEYS_IN_PAYLOAD', status: 400 });
  });

  test('row 11: 29 keys is 400 TOO_MANY_KEYS, before the timestamp check; 28 keys are accepted', async () => {
    // Prepare
    const { sub, pair } = await setUp();

    // Act
    const tooMany = await send(sub, pair, plain(someKeys(NOW, 29), null));
    const most = await send(sub, pair, plain(someKeys(NOW, 28)));

    // Assess
    expect(tooMany).toEqual({ kind: 'TOO_MANY_KEYS', status: 400 });
    expect(most).toEqual({ kind: 'NONE', stored: 28, duplicates: 0, dropped: 0 });
  });

  describe('row 12: timestamp within ±3600 s of the server time, sub-second server time included', () => {
    // The server clock is 0.5 s past a whole second.
    const serverMs = NOW + 500;

    test.each([
      ['absent', 'INVALID_TIMESTAMP', null],
      ['zero', 'INVALID_TIMESTAMP', 0],
      ['exactly −3600 s (3600.5 s ago)', 'INVALID_TIMESTAMP', NOW_S - 3600],
      ['−3599 s', 'NONE', NOW_S - 3599],
      ['exactly +3600 s (3599.5 s ahead)', 'NONE', NOW_S + 3600],
      ['+3601 s', 'INVALID_TIMESTAMP', NOW_S + 3601],
    ])('%s → %s', async (_why, expected, timestampSeconds) => {
      // Prepare
      const { sub, pair } = await setUp({ nowMs: serverMs });

      // Act
      const result = await send(sub, pair, plain(someKeys(serverMs, 1), timestampSeconds));

      // Assess
      expect(result.kind).toBe(expected);
    });

    test('nanos are ignored', async () => {
      // Prepare
      const { sub, pair } = await setUp({ nowMs: serverMs });

      // Act
      const result = await send(sub, pair, uploadPlaintext({ timestampSeconds: NOW_S - 3600, timestampNanos: 999_999_999, keys: someKeys(serverMs, 1) }));

      // Assess
      expect(result).toEqual({ kind: 'INVALID_TIMESTAMP', status: 400 });
    });

    test('the timestamp is checked before the keys', async () => {
      // Prepare
      const { sub, pair } = await setUp();

      // Act
      const result = await send(sub, pair, plain([aKey(NOW, { rollingPeriod: 0 })], NOW_S - 7200));

      // Assess
      expect(result).toEqual({ kind: 'INVALID_TIMESTAMP', status: 400 });
    });
  });

  test.each<[string, string, Partial<TekProperties>]>([
    ['13a rolling period 0', 'INVALID_ROLLING_PERIOD', { rollingPeriod: 0 }],
    ['13a rolling period 145', 'INVALID_ROLLING_PERIOD', { rollingPeriod: 145 }],
    ['13a rolling period −1', 'INVALID_ROLLING_PERIOD', { rollingPeriod: -1 }],
    ['13a rolling period 1', 'NONE', { rollingPeriod: 1 }],
    ['13a rolling period 144', 'NONE', { rollingPeriod: 144 }],
    ['13a before 13b', 'INVALID_ROLLING_PERIOD', { rollingPeriod: 0, keyData: new Uint8Array(15) }],
    ['13b key data 15 bytes', 'INVALID_KEY_DATA', { keyData: new Uint8Array(15) }],
    ['13b key data 17 bytes', 'INVALID_KEY_DATA', { keyData: new Uint8Array(17) }],
    ['13b key data absent', 'INVALID_KEY_DATA', { keyData: undefined }],
    ['13b before 13c', 'INVALID_KEY_DATA', { keyData: new Uint8Array(15), rollingStartIntervalNumber: 0 }],
    ['13c RSIN 0', 'INVALID_ROLLING_START_INTERVAL_NUMBER', { rollingStartIntervalNumber: 0 }],
    ['13c RSIN absent', 'INVALID_ROLLING_START_INTERVAL_NUMBER', { rollingStartIntervalNumber: undefined }],
    ['13c before 13d', 'INVALID_ROLLING_START_INTERVAL_NUMBER', { rollingStartIntervalNumber: 0, transmissionRiskLevel: 9 }],
    ['13d TRL −1', 'INVALID_TRANSMISSION_RISK_LEVEL', { transmissionRiskLevel: -1 }],
    ['13d TRL 9', 'INVALID_TRANSMISSION_RISK_LEVEL', { transmissionRiskLevel: 9 }],
    ['13d TRL 0', 'NONE', { transmissionRiskLevel: 0 }],
    ['13d TRL absent', 'NONE', { transmissionRiskLevel: undefined }],
    ['13d TRL 8', 'NONE', { transmissionRiskLevel: 8 }],
    ['13d before deviation 4 (report type)', 'INVALID_TRANSMISSION_RISK_LEVEL', { transmissionRiskLevel: 9, reportType: ReportType.REVOKED }],
    ['13d before deviation 4 (days since onset)', 'INVALID_TRANSMISSION_RISK_LEVEL', { transmissionRiskLevel: 9, daysSinceOnsetOfSymptoms: 20 }],
  ])('row %s → %s', async (_row, expected, overrides) => {
    // Prepare
    const { sub, pair } = await setUp();

    // Act
    const result = await send(sub, pair, plain([aKey(NOW, overrides)]));

    // Assess
    expect(result.kind).toBe(expected);
    if (expected !== 'NONE') expect(result).toEqual({ kind: expected, status: 400 });
  });

  test('row 13: keys are checked in list order; the first failing key decides', async () => {
    // Prepare
    const { sub, pair } = await setUp();
    const keys = [aKey(NOW), aKey(NOW, { transmissionRiskLevel: 9 }), aKey(NOW, { rollingPeriod: 0 })];

    // Act
    const result = await send(sub, pair, plain(keys));

    // Assess
    expect(result).toEqual({ kind: 'INVALID_TRANSMISSION_RISK_LEVEL', status: 400 });
    expect(sub.fake.diagnosisKeys.size).toBe(0);
  });

  test('deviation 4 is a per-key check: a first key with days since onset 15 wins over a later bad TRL', async () => {
    // Prepare
    const { sub, pair } = await setUp();

    // Act
    const result = await send(sub, pair, plain([aKey(NOW, { daysSinceOnsetOfSymptoms: 15 }), aKey(NOW, { transmissionRiskLevel: 9 })]));

    // Assess
    expect(result).toEqual({ kind: 'INVALID_PAYLOAD', status: 400 });
  });

  test.each([
    ['max − min = 2016 (14 days)', 2016, 'NONE'],
    ['max − min = 2017', 2017, 'INVALID_ROLLING_START_INTERVAL_NUMBER'],
  ])('row 14: RSIN span %s → %s', async (_why, span, expected) => {
    // Prepare
    const { sub, pair } = await setUp();
    const max = NOW_ENIN - DAY_INTERVALS;

    // Act
    const result = await send(sub, pair, plain([aKey(NOW, { rollingStartIntervalNumber: max - span }), aKey(NOW, { rollingStartIntervalNumber: max })]));

    // Assess
    expect(result.kind).toBe(expected);
  });

  test('row 14 runs after every key passed row 13', async () => {
    // Prepare
    const { sub, pair } = await setUp();

    // Act
    const result = await send(sub, pair, plain([aKey(NOW, { rollingStartIntervalNumber: NOW_ENIN - 3000 }), aKey(NOW, { transmissionRiskLevel: 9 })]));

    // Assess
    expect(result).toEqual({ kind: 'INVALID_TRANSMISSION_RISK_LEVEL', status: 400 });
  });
});

describe('uploadKeys: per-key window (deviation 3)', () => {
  const fifteenDays = 15 * DAY_INTERVALS;

  test.each<[string, number, Partial<TekProperties>]>([
    ['ends exactly now − 15 d', 1, { rollingStartIntervalNumber: NOW_ENIN - fifteenDays - 144, rollingPeriod: 144 }],
    ['ends one interval earlier', 0, { rollingStartIntervalNumber: NOW_ENIN - fifteenDays - 145, rollingPeriod: 144 }],
    ['with rolling period 1 ends exactly now − 15 d', 1, { rollingStartIntervalNumber: NOW_ENIN - fifteenDays - 1, rollingPeriod: 1 }],
    ['with rolling period 1 ends one interval earlier', 0, { rollingStartIntervalNumber: NOW_ENIN - fifteenDays - 2, rollingPeriod: 1 }],
    ['starts exactly now + 1 d', 1, { rollingStartIntervalNumber: NOW_ENIN + 144 }],
    ['starts one interval later', 0, { rollingStartIntervalNumber: NOW_ENIN + 145 }],
    ['has a negative RSIN (not rejected: dropped)', 0, { rollingStartIntervalNumber: -5 }],
  ])('a key that %s → stored %i', async (_why, stored, overrides) => {
    // Prepare
    const { sub, pair } = await setUp();

    // Act
    const result = await send(sub, pair, plain([aKey(NOW, overrides)]));

    // Assess
    expect(result).toEqual({ kind: 'NONE', stored, duplicates: 0, dropped: 1 - stored });
    expect(sub.fake.diagnosisKeys.size).toBe(stored);
    expect(await remaining(sub, pair)).toBe(43 - stored);
  });

  test('dropped keys are neither stored nor charged; the rest is; KeysOutsideWindow counts them', async () => {
    // Prepare
    const { sub, pair } = await setUp();
    const keys = [aKey(NOW), aKey(NOW, { rollingStartIntervalNumber: NOW_ENIN + 200 }), aKey(NOW, { rollingStartIntervalNumber: NOW_ENIN + 300 })];

    // Act
    const result = await send(sub, pair, plain(keys));

    // Assess
    expect(result).toEqual({ kind: 'NONE', stored: 1, duplicates: 0, dropped: 2 });
    expect(await remaining(sub, pair)).toBe(42);
    expect(sub.events.named('KeysOutsideWindow')).toEqual([{ name: 'KeysOutsideWindow', count: 2, source: 'ON' }]);
  });

  test('an upload whose keys are all dropped succeeds and charges nothing', async () => {
    // Prepare
    const { sub, pair } = await setUp();

    // Act
    const result = await send(sub, pair, plain([aKey(NOW, { rollingStartIntervalNumber: NOW_ENIN + 145 })]));

    // Assess
    expect(result).toEqual({ kind: 'NONE', stored: 0, duplicates: 0, dropped: 1 });
    expect(sub.fake.diagnosisKeys.size).toBe(0);
    expect(await remaining(sub, pair)).toBe(43);
  });

  test('malformed keys fail the upload even when the window would drop them', async () => {
    // Prepare
    const { sub, pair } = await setUp();
    const old = NOW_ENIN - 20 * DAY_INTERVALS;

    // Act
    const badTrl = await send(sub, pair, plain([aKey(NOW, { rollingStartIntervalNumber: old, transmissionRiskLevel: 9 })]));
    const badSpan = await send(sub, pair, plain([aKey(NOW, { rollingStartIntervalNumber: old }), aKey(NOW)]));

    // Assess
    expect(badTrl).toEqual({ kind: 'INVALID_TRANSMISSION_RISK_LEVEL', status: 400 });
    expect(badSpan).toEqual({ kind: 'INVALID_ROLLING_START_INTERVAL_NUMBER', status: 400 });
  });
});

describe('uploadKeys: report type and days since onset (deviation 4)', () => {
  test.each([
    ['absent', undefined, undefined],
    ['UNKNOWN (0) counts as absent', undefined, ReportType.UNKNOWN],
    ['CONFIRMED_TEST', 1, ReportType.CONFIRMED_TEST],
    ['CONFIRMED_CLINICAL_DIAGNOSIS', 2, ReportType.CONFIRMED_CLINICAL_DIAGNOSIS],
    ['SELF_REPORT', 3, ReportType.SELF_REPORT],
  ])('report type %s is stored as %p', async (_why, stored, reportType) => {
    // Prepare
    const { sub, pair } = await setUp();

    // Act
    const result = await send(sub, pair, plain([aKey(NOW, { reportType })]));

    // Assess
    expect(result.kind).toBe('NONE');
    expect(storedValues(sub)[0].reportType).toBe(stored);
    expect('reportType' in storedValues(sub)[0]).toBe(stored !== undefined);
  });

  test.each([
    ['RECURSIVE (4)', 4],
    ['REVOKED (5)', 5],
    ['an unknown enum value (9)', 9],
    ['an unknown enum value (6)', 6],
  ])('report type %s is 400 INVALID_PAYLOAD (plaintext built by hand)', async (_why, value) => {
    // Prepare: field 5 as a varint, which the generated decoder keeps only as an unknown field when out of range
    const { sub, pair } = await setUp();
    const plaintext = handUpload(NOW_S, handKey(keyDataOf(`rt-${value}`), NOW_ENIN - DAY_INTERVALS, wire.varint(5, value)));

    // Act
    const result = await send(sub, pair, plaintext);

    // Assess
    expect(result).toEqual({ kind: 'INVALID_PAYLOAD', status: 400 });
    expect(sub.fake.diagnosisKeys.size).toBe(0);
  });

  test('the hand-built plaintext is accepted when report_type is a kept value (guards the builder)', async () => {
    // Prepare
    const { sub, pair } = await setUp();
    const plaintext = handUpload(NOW_S, handKey(keyDataOf('rt-ok'), NOW_ENIN - DAY_INTERVALS, wire.varint(5, 2), wire.sint32(6, -3)));

    // Act
    const result = await send(sub, pair, plaintext);

    // Assess
    expect(result.kind).toBe('NONE');
    expect(storedValues(sub)[0]).toMatchObject({ reportType: 2, daysSinceOnsetOfSymptoms: -3, rollingPeriod: 144, transmissionRiskLevel: 0 });
  });

  test('an unknown report type on a key with a bad key data is INVALID_KEY_DATA (13b first)', async () => {
    // Prepare
    const { sub, pair } = await setUp();
    const plaintext = handUpload(NOW_S, handKey(new Uint8Array(15), NOW_ENIN - DAY_INTERVALS, wire.varint(5, 9)));

    // Act
    const result = await send(sub, pair, plaintext);

    // Assess
    expect(result).toEqual({ kind: 'INVALID_KEY_DATA', status: 400 });
  });

  test.each([
    [-14, 'NONE'],
    [0, 'NONE'],
    [14, 'NONE'],
    [-15, 'INVALID_PAYLOAD'],
    [15, 'INVALID_PAYLOAD'],
  ])('days since onset %i → %s', async (dso, expected) => {
    // Prepare
    const { sub, pair } = await setUp();

    // Act
    const result = await send(sub, pair, plain([aKey(NOW, { daysSinceOnsetOfSymptoms: dso })]));

    // Assess
    expect(result.kind).toBe(expected);
    if (expected === 'NONE') expect(storedValues(sub)[0].daysSinceOnsetOfSymptoms).toBe(dso);
  });

  test('absent days since onset is stored absent, independently of the report type', async () => {
    // Prepare
    const { sub, pair } = await setUp();

    // Act
    await send(sub, pair, plain([aKey(NOW, { reportType: ReportType.SELF_REPORT })]));

    // Assess
    expect(storedValues(sub)[0]).toMatchObject({ reportType: 3 });
    expect('daysSinceOnsetOfSymptoms' in storedValues(sub)[0]).toBe(false);
  });
});

describe('uploadKeys: duplicates and quota', () => {
  test('the same key data twice in one upload is stored and charged once; the first occurrence wins', async () => {
    // Prepare
    const { sub, pair } = await setUp();
    const keyData = keyDataOf('twice');
    const keys = [aKey(NOW, { keyData, transmissionRiskLevel: 2 }), aKey(NOW, { keyData, transmissionRiskLevel: 5 })];

    // Act
    const result = await send(sub, pair, plain(keys));

    // Assess
    expect(result).toEqual({ kind: 'NONE', stored: 1, duplicates: 1, dropped: 0 });
    expect(await remaining(sub, pair)).toBe(42);
    expect(storedValues(sub).map((k) => k.transmissionRiskLevel)).toEqual([2]);
    expect(sub.events.named('KeysDuplicate')).toEqual([{ name: 'KeysDuplicate', count: 1, source: 'ON' }]);
  });

  test('a key already stored by an earlier upload is skipped and not charged', async () => {
    // Prepare
    const { sub, pair } = await setUp();
    const key = aKey(NOW);
    await send(sub, pair, plain([key]));

    // Act
    const result = await send(sub, pair, plain([key, aKey(NOW)]));

    // Assess
    expect(result).toEqual({ kind: 'NONE', stored: 1, duplicates: 1, dropped: 0 });
    expect(await remaining(sub, pair)).toBe(41);
  });

  test('quota 43: 15 + 27 accepted, 2 more TOO_MANY_KEYS, 1 more accepted, then 400 INVALID_KEYPAIR (deviation 11)', async () => {
    // Prepare
    const { sub, pair } = await setUp();

    // Act
    const first = await send(sub, pair, plain(someKeys(NOW, 15)));
    const second = await send(sub, pair, plain(someKeys(NOW, 27)));
    const overQuota = await send(sub, pair, plain(someKeys(NOW, 2)));
    const last = await send(sub, pair, plain(someKeys(NOW, 1)));
    const exhausted = await send(sub, pair, plain(someKeys(NOW, 1)));

    // Assess
    expect([first, second, overQuota, last, exhausted]).toEqual([
      { kind: 'NONE', stored: 15, duplicates: 0, dropped: 0 },
      { kind: 'NONE', stored: 27, duplicates: 0, dropped: 0 },
      { kind: 'TOO_MANY_KEYS', status: 400 },
      { kind: 'NONE', stored: 1, duplicates: 0, dropped: 0 },
      { kind: 'INVALID_KEYPAIR', status: 400 },
    ]);
    expect(sub.fake.diagnosisKeys.size).toBe(43);
    expect(await remaining(sub, pair)).toBe(0);
  });

  test.each<[StoreKeysOutcome, object]>([
    [{ kind: 'quota-exhausted' }, { kind: 'INVALID_KEYPAIR', status: 400 }],
    [{ kind: 'over-quota' }, { kind: 'TOO_MANY_KEYS', status: 400 }],
    [{ kind: 'key-pair-invalid' }, { kind: 'INVALID_KEYPAIR', status: 401 }],
  ])('store outcome %j → %j, with no Upload event', async (outcome, expected) => {
    // Prepare
    const { sub, pair } = await setUp();
    const keyPairs = { ...sub.keyPairs, storeKeys: async () => outcome };

    // Act
    const result = await uploadKeys({ ...sub, keyPairs }, sealedUpload(pair, plain(someKeys(NOW, 1))));

    // Assess
    expect(result).toEqual(expected);
    expect(sub.events.recorded).toEqual([]);
  });

  test.each(['keyPairs.get', 'keyPairs.storeKeys'] as const)('a StorageError in %s is 500 SERVER_ERROR', async (method) => {
    // Prepare
    const { sub, pair } = await setUp();
    sub.fake.failWith(method);

    // Act
    const result = await send(sub, pair, plain(someKeys(NOW, 1)));

    // Assess
    expect(result).toEqual({ kind: 'SERVER_ERROR', status: 500 });
  });

  test('an error that is not a StorageError is not swallowed', async () => {
    // Prepare
    const { sub, pair } = await setUp();
    sub.fake.failWith('keyPairs.storeKeys', new RangeError('bug'));

    // Act / Assess
    await expect(send(sub, pair, plain(someKeys(NOW, 1)))).rejects.toBeInstanceOf(RangeError);
  });

  test('the store receives the region, hour, originator and retention of the upload', async () => {
    // Prepare
    const { sub, pair } = await setUp();
    const received: unknown[] = [];
    const keyPairs = { ...sub.keyPairs, storeKeys: async (input: unknown, nowMs: number) => (received.push({ input, nowMs }), sub.keyPairs.storeKeys(input as never, nowMs)) };

    // Act
    await uploadKeys({ ...sub, keyPairs }, sealedUpload(pair, plain(someKeys(NOW, 1))));

    // Assess
    const hour = Math.floor(NOW / 3_600_000);
    expect(received).toEqual([
      {
        nowMs: NOW,
        input: {
          serverPublicKey: pair.server.publicKey,
          appPublicKey: pair.app.publicKey,
          keys: [expect.objectContaining({ rollingPeriod: 144 })],
          region: '302',
          submissionHour: hour,
          originator: 'o-abcdef0123456789',
          keysExpireAt: (Math.floor(hour / 24) + 16) * 86_400,
        },
      },
    ]);
  });
});

test('StorageError is the only error class the domain maps (guards the fake fault injection)', () => {
  // Act
  const error = new StorageError('x', { cause: new Error('y') });

  // Assess
  expect(error).toBeInstanceOf(Error);
  expect(error.name).toBe('StorageError');
});
