/**
 * The build-exports use case with an in-memory reader and blob store and a real local signer:
 * what is written where, the RT1/RT8–RT10 bundle contents, the RR round-trip visibility over
 * time, one read per day, idempotence and failures.
 */
import { verify } from 'node:crypto';
import { LocalSigner } from '../../../lambdas/adapters/local-signer';
import { buildExports, type BuildExportsDeps } from '../../../lambdas/domain/build-exports';
import { decodeExport, SigningError } from '../../../lambdas/domain/export-file';
import { StorageError } from '../../../lambdas/domain/settings';
import type { Signer } from '../../../lambdas/ports';
import { SIGNATURE_ALGORITHM_OID, enexport, int64ToNumber } from '../../../proto';
import { FixedClock, utc } from '../../support/builders/deterministic';
import {
  InMemoryBlobStore,
  InMemoryExportReader,
  aStoredKey,
  hourOf,
  keyData,
  rsinOf,
  testSigningKey,
} from '../../support/builders/exports';

const NOW = utc(2024, 3, 14, 10, 20);
const TODAY = 19_796;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const signingKey = testSigningKey('unit');
const { ReportType } = enexport.TemporaryExposureKey;

function setUp(options: { signers?: Signer[]; reader?: InMemoryExportReader } = {}) {
  const reader = options.reader ?? new InMemoryExportReader();
  const blobs = new InMemoryBlobStore();
  const deps: BuildExportsDeps = {
    reader,
    blobs,
    signers: options.signers ?? [new LocalSigner(signingKey, '302', 'v1')],
    settings: { regionCode: '302', exportRegion: 'CA' },
    clock: new FixedClock(NOW),
  };
  return { reader, blobs, deps };
}

function bundle(blobs: InMemoryBlobStore, period: string | number) {
  const blob = blobs.blobs.get(`exports/302/${period}.zip`);
  if (!blob) throw new Error(`no bundle for ${period}`);
  return { ...blob, ...decodeExport(blob.body) };
}

/** The first byte of each key's data: the upstream tests name keys `1`×16, `2`×16 … */
const keyNames = (blobs: InMemoryBlobStore, period: string | number) => bundle(blobs, period).export.keys.map((k) => k.keyData![0]);

describe('buildExports: what is written', () => {
  test('one zip per served period at exports/{MCC}/{period}.zip, application/zip, with its Cache-Control', async () => {
    // Prepare
    const { blobs, deps } = setUp();

    // Act
    const summary = await buildExports(deps, NOW);

    // Assess
    const expectedPeriods = ['00000', ...Array.from({ length: 15 }, (_, i) => String(TODAY - 14 + i))];
    expect(summary.periods).toEqual(expectedPeriods);
    expect([...blobs.blobs.keys()].sort()).toEqual(expectedPeriods.map((p) => `exports/302/${p}.zip`).sort());
    for (const blob of blobs.blobs.values()) expect(blob.contentType).toBe('application/zip');
    expect(blobs.blobs.get('exports/302/00000.zip')?.cacheControl).toBe('public, max-age=600');
    expect(blobs.blobs.get(`exports/302/${TODAY}.zip`)?.cacheControl).toBe('public, max-age=600');
    expect(blobs.blobs.get(`exports/302/${TODAY - 1}.zip`)?.cacheControl).toBe('public, max-age=3600, max-stale=600');
    expect(blobs.blobs.get(`exports/302/${TODAY - 14}.zip`)?.cacheControl).toBe('public, max-age=3600, max-stale=600');
  });

  test('RT1: an empty day is still a valid signed bundle with its window, CA, batch 1/1 and one SignatureInfo', async () => {
    // Prepare
    const { blobs, deps } = setUp();

    // Act
    const summary = await buildExports(deps, NOW);

    // Assess
    const b = bundle(blobs, TODAY - 3);
    expect(summary.keysPerPeriod[String(TODAY - 3)]).toBe(0);
    expect(b.entryNames).toEqual(['export.bin', 'export.sig']);
    expect(int64ToNumber(b.export.startTimestamp)).toBe((TODAY - 3) * 86_400);
    expect(int64ToNumber(b.export.endTimestamp)).toBe((TODAY - 2) * 86_400);
    expect([b.export.region, b.export.batchNum, b.export.batchSize]).toEqual(['CA', 1, 1]);
    expect(b.export.keys).toEqual([]);
    expect(b.export.signatureInfos.map((i) => enexport.SignatureInfo.toObject(i as enexport.SignatureInfo))).toEqual([
      { verificationKeyVersion: 'v1', verificationKeyId: '302', signatureAlgorithm: SIGNATURE_ALGORITHM_OID },
    ]);
    const [sig] = b.signatureList.signatures;
    expect(verify('sha256', b.exportBin, { key: signingKey, dsaEncoding: 'der' }, sig.signature!)).toBe(true);
  });

  test('the summary counts keys per period and the bytes written', async () => {
    // Prepare
    const reader = new InMemoryExportReader()
      .add({ key: aStoredKey({ keyData: keyData(1), rollingStartIntervalNumber: rsinOf(TODAY - 2) }), submissionHour: hourOf(TODAY - 1, 7) })
      .add({ key: aStoredKey({ keyData: keyData(2), rollingStartIntervalNumber: rsinOf(TODAY - 1) }), submissionHour: hourOf(TODAY, 9) });
    const { blobs, deps } = setUp({ reader });

    // Act
    const summary = await buildExports(deps, NOW);

    // Assess
    expect(summary.keysPerPeriod).toMatchObject({ '00000': 1, [String(TODAY - 1)]: 1, [String(TODAY)]: 1, [String(TODAY - 2)]: 0 });
    expect(summary.bytesWritten).toBe([...blobs.blobs.values()].reduce((n, b) => n + b.body.length, 0));
  });

  test('without an explicit time it uses the clock', async () => {
    // Prepare
    const { blobs, deps } = setUp();

    // Act
    await buildExports(deps);

    // Assess
    expect(blobs.blobs.has(`exports/302/${TODAY}.zip`)).toBe(true);
    expect(blobs.blobs.has(`exports/302/${TODAY + 1}.zip`)).toBe(false);
  });
});

describe('buildExports: bundle contents (upstream retrieve_test)', () => {
  test('RT8: a key active 8 days ago, submitted yesterday 07:00, TRL 8 → today−1 holds exactly it with rp 144, CONFIRMED_TEST, onset 0', async () => {
    // Prepare
    const reader = new InMemoryExportReader().add({
      key: { keyData: keyData(0x42), rollingStartIntervalNumber: rsinOf(TODAY - 8), rollingPeriod: 144, transmissionRiskLevel: 8 },
      submissionHour: hourOf(TODAY - 1, 7),
    });
    const { blobs, deps } = setUp({ reader });

    // Act
    await buildExports(deps, NOW);

    // Assess
    const keys = bundle(blobs, TODAY - 1).export.keys.map((k) => enexport.TemporaryExposureKey.toObject(k as enexport.TemporaryExposureKey));
    expect(keys).toEqual([
      {
        keyData: keyData(0x42),
        transmissionRiskLevel: 8,
        rollingStartIntervalNumber: rsinOf(TODAY - 8),
        rollingPeriod: 144,
        reportType: ReportType.CONFIRMED_TEST,
        daysSinceOnsetOfSymptoms: 0,
      },
    ]);
  });

  test('RT9: 00000 holds keys 2, 3, 4, 5 (00:00 today−15 … 02:00 yesterday), not 1 (today−16) or 6 (today)', async () => {
    // Prepare
    const rsin = rsinOf(TODAY - 1);
    const reader = new InMemoryExportReader()
      .add({ key: aStoredKey({ keyData: keyData(6), rollingStartIntervalNumber: rsin }), submissionHour: hourOf(TODAY, 2) })
      .add({ key: aStoredKey({ keyData: keyData(5), rollingStartIntervalNumber: rsin }), submissionHour: hourOf(TODAY - 1, 2) })
      .add({ key: aStoredKey({ keyData: keyData(1), rollingStartIntervalNumber: rsin }), submissionHour: hourOf(TODAY - 16, 23, 59, 59) })
      .add({ key: aStoredKey({ keyData: keyData(4), rollingStartIntervalNumber: rsin }), submissionHour: hourOf(TODAY - 1, 2) })
      .add({ key: aStoredKey({ keyData: keyData(3), rollingStartIntervalNumber: rsin }), submissionHour: hourOf(TODAY - 1, 1, 59, 59) })
      .add({ key: aStoredKey({ keyData: keyData(2), rollingStartIntervalNumber: rsin }), submissionHour: hourOf(TODAY - 15, 0) });
    const { blobs, deps } = setUp({ reader });

    // Act
    await buildExports(deps, NOW);

    // Assess
    expect(keyNames(blobs, '00000')).toEqual([2, 3, 4, 5]);
    expect(keyNames(blobs, TODAY)).toEqual([6]);
  });

  test('RT10: today−1 holds 2, 3, 4 (00:00, 01:59:59, 02:00 yesterday), not 1 (23:59:59 two days ago)', async () => {
    // Prepare
    const rsin = rsinOf(TODAY - 2);
    const reader = new InMemoryExportReader()
      .add({ key: aStoredKey({ keyData: keyData(4), rollingStartIntervalNumber: rsin }), submissionHour: hourOf(TODAY - 1, 2) })
      .add({ key: aStoredKey({ keyData: keyData(1), rollingStartIntervalNumber: rsin }), submissionHour: hourOf(TODAY - 2, 23, 59, 59) })
      .add({ key: aStoredKey({ keyData: keyData(3), rollingStartIntervalNumber: rsin }), submissionHour: hourOf(TODAY - 1, 1, 59, 59) })
      .add({ key: aStoredKey({ keyData: keyData(2), rollingStartIntervalNumber: rsin }), submissionHour: hourOf(TODAY - 1, 0) });
    const { blobs, deps } = setUp({ reader });

    // Act
    await buildExports(deps, NOW);

    // Assess
    expect(keyNames(blobs, TODAY - 1)).toEqual([2, 3, 4]);
    expect(keyNames(blobs, TODAY - 2)).toEqual([1]);
  });

  test('an expired key is in no bundle: today−15 00:00 kept only 15 days after its hour has gone from 00000 by 10:20', async () => {
    // Prepare: upload-keys' retention (submission hour + 15 days) ends at today 00:00 for this key
    const submissionHour = hourOf(TODAY - 15, 0);
    const reader = new InMemoryExportReader().add({
      key: aStoredKey({ keyData: keyData(2), rollingStartIntervalNumber: rsinOf(TODAY - 1) }),
      submissionHour,
      expiresAt: (submissionHour + 15 * 24) * 3600,
    });
    const { blobs, deps } = setUp({ reader });

    // Act
    await buildExports(deps, NOW);

    // Assess
    expect(keyNames(blobs, '00000')).toEqual([]);
  });

  test('the strict RSIN filter applies to every bundle: a key starting at the midnight of today−14 is nowhere', async () => {
    // Prepare
    const reader = new InMemoryExportReader()
      .add({ key: aStoredKey({ keyData: keyData(7), rollingStartIntervalNumber: rsinOf(TODAY - 14) }), submissionHour: hourOf(TODAY - 1, 5) })
      .add({ key: aStoredKey({ keyData: keyData(8), rollingStartIntervalNumber: rsinOf(TODAY - 14, 1) }), submissionHour: hourOf(TODAY - 1, 5) });
    const { blobs, deps } = setUp({ reader });

    // Act
    const summary = await buildExports(deps, NOW);

    // Assess
    expect(keyNames(blobs, TODAY - 1)).toEqual([8]);
    expect(keyNames(blobs, '00000')).toEqual([8]);
    expect(Object.values(summary.keysPerPeriod).reduce((a, b) => a + b, 0)).toBe(2);
  });

  test('stored report type and onset are exported; absent ones as CONFIRMED_TEST and 0', async () => {
    // Prepare
    const rsin = rsinOf(TODAY - 3);
    const reader = new InMemoryExportReader()
      .add({ key: aStoredKey({ keyData: keyData(1), rollingStartIntervalNumber: rsin, reportType: ReportType.SELF_REPORT, daysSinceOnsetOfSymptoms: -3 }), submissionHour: hourOf(TODAY - 1, 3) })
      .add({ key: aStoredKey({ keyData: keyData(2), rollingStartIntervalNumber: rsin }), submissionHour: hourOf(TODAY - 1, 3) });
    const { blobs, deps } = setUp({ reader });

    // Act
    await buildExports(deps, NOW);

    // Assess
    const keys = bundle(blobs, TODAY - 1).export.keys;
    expect(keys.map((k) => [k.reportType, k.daysSinceOnsetOfSymptoms])).toEqual([
      [ReportType.SELF_REPORT, -3],
      [ReportType.CONFIRMED_TEST, 0],
    ]);
  });
});

describe('buildExports: reads', () => {
  test('each UTC day today−15 … today is read exactly once, as a whole day, for the MCC', async () => {
    // Prepare
    const { reader, deps } = setUp();

    // Act
    await buildExports(deps, NOW);

    // Assess
    const calls = [...reader.calls].sort((a, b) => a.startHour - b.startHour);
    expect(calls).toEqual(Array.from({ length: 16 }, (_, i) => ({ region: '302', startHour: (TODAY - 15 + i) * 24, endHour: (TODAY - 14 + i) * 24 })));
  });

  test('a key of one day appears in that day\'s bundle and in 00000, from the one read', async () => {
    // Prepare
    const reader = new InMemoryExportReader(1).add({
      key: aStoredKey({ keyData: keyData(9), rollingStartIntervalNumber: rsinOf(TODAY - 6) }),
      submissionHour: hourOf(TODAY - 5, 12),
    });
    const { blobs, deps } = setUp({ reader });

    // Act
    await buildExports(deps, NOW);

    // Assess
    expect(keyNames(blobs, TODAY - 5)).toEqual([9]);
    expect(keyNames(blobs, '00000')).toEqual([9]);
    expect(reader.calls.filter((c) => c.startHour === (TODAY - 5) * 24)).toHaveLength(1);
  });

  test('keys of other regions are not read', async () => {
    // Prepare
    const reader = new InMemoryExportReader().add({
      region: '999',
      key: aStoredKey({ keyData: keyData(9), rollingStartIntervalNumber: rsinOf(TODAY - 6) }),
      submissionHour: hourOf(TODAY - 5, 12),
    });
    const { deps } = setUp({ reader });

    // Act
    const summary = await buildExports(deps, NOW);

    // Assess
    expect(Object.values(summary.keysPerPeriod).every((n) => n === 0)).toBe(true);
  });
});

describe('buildExports: round trip over time (upstream roundtrip_test RR1–RR7)', () => {
  // Time travel by moving the clock forward (upstream moved the data back by the same amount).
  const T0 = utc(2024, 3, 14, 10, 0);
  const DAY0 = TODAY;
  const letters = 'abcdefghijklm';
  /** RR1: 13 keys a…m, RSIN at noon of days −1 … −13, uploaded at T0. */
  const rr1 = [...letters].map((letter, i) => ({ letter, key: aStoredKey({ keyData: keyData(letter.charCodeAt(0)), rollingStartIntervalNumber: rsinOf(DAY0 - 1 - i, 72) }) }));

  function reader() {
    const r = new InMemoryExportReader(5);
    for (const { key } of rr1) r.add({ key, submissionHour: Math.floor(T0 / HOUR_MS) });
    // RR2, one day later: only z is new (a…l are duplicates and not stored again).
    r.add({ key: aStoredKey({ keyData: keyData('z'.charCodeAt(0)), rollingStartIntervalNumber: rsinOf(DAY0, 72) }), submissionHour: Math.floor((T0 + DAY_MS) / HOUR_MS) });
    return r;
  }

  /** The union of keys in the 14 bundles today−1 … today−14, as letters. */
  async function visible(nowMs: number): Promise<string> {
    const { blobs, deps } = setUp({ reader: reader() });
    await buildExports(deps, nowMs);
    const today = Math.floor(nowMs / DAY_MS);
    const seen = new Set<string>();
    for (let d = today - 14; d <= today - 1; d += 1) for (const name of keyNames(blobs, d)) seen.add(String.fromCharCode(name));
    return [...seen].sort().join('');
  }

  test.each([
    ['RR1 at upload: nothing (all submitted today)', 0, ''],
    ['RR2 +1 day: a…m (z was submitted today)', DAY_MS, 'abcdefghijklm'],
    ['RR3 +1 day 4 h: still a…m', DAY_MS + 4 * HOUR_MS, 'abcdefghijklm'],
    ['RR4 +13 days 1 h: only a and z', 13 * DAY_MS + HOUR_MS, 'az'],
    ['RR5 +13 days 2 h: still a and z', 13 * DAY_MS + 2 * HOUR_MS, 'az'],
    ['RR6 +14 days 2 h: only z', 14 * DAY_MS + 2 * HOUR_MS, 'z'],
    ['RR7 +15 days 2 h: none', 15 * DAY_MS + 2 * HOUR_MS, ''],
  ])('%s', async (_label, offsetMs, expected) => {
    // Act
    const seen = await visible(T0 + offsetMs);

    // Assess
    expect(seen).toBe(expected);
  });
});

describe('buildExports: idempotence and failure', () => {
  test('a re-run with the same keys and time writes the same export.bin for every period', async () => {
    // Prepare
    const reader = new InMemoryExportReader()
      .add({ key: aStoredKey({ keyData: keyData(3), rollingStartIntervalNumber: rsinOf(TODAY - 2) }), submissionHour: hourOf(TODAY - 1, 4) })
      .add({ key: aStoredKey({ keyData: keyData(1), rollingStartIntervalNumber: rsinOf(TODAY - 4) }), submissionHour: hourOf(TODAY - 3, 4) });
    const first = setUp({ reader });
    const second = setUp({ reader });
    await buildExports(first.deps, NOW);

    // Act
    await buildExports(second.deps, NOW);

    // Assess
    for (const key of first.blobs.blobs.keys()) {
      const a = decodeExport(first.blobs.blobs.get(key)!.body).exportBin;
      const b = decodeExport(second.blobs.blobs.get(key)!.body).exportBin;
      expect(Buffer.from(b).equals(Buffer.from(a))).toBe(true);
    }
  });

  test('two signers: every bundle carries both SignatureInfos and both signatures, newest first', async () => {
    // Prepare
    const newer = testSigningKey('v2');
    const { blobs, deps } = setUp({ signers: [new LocalSigner(newer, '302', 'v2'), new LocalSigner(signingKey, '302', 'v1')] });

    // Act
    await buildExports(deps, NOW);

    // Assess
    const b = bundle(blobs, '00000');
    expect(b.export.signatureInfos.map((i) => i.verificationKeyVersion)).toEqual(['v2', 'v1']);
    expect(b.signatureList.signatures.map((s) => s.signatureInfo?.verificationKeyVersion)).toEqual(['v2', 'v1']);
    expect(verify('sha256', b.exportBin, newer, b.signatureList.signatures[0].signature!)).toBe(true);
    expect(verify('sha256', b.exportBin, signingKey, b.signatureList.signatures[1].signature!)).toBe(true);
  });

  test('a signer failure fails the run with SigningError', async () => {
    // Prepare
    const broken: Signer = { keyId: '302', keyVersion: 'v1', sign: () => Promise.reject(new Error('KMS down')) };
    const { deps } = setUp({ signers: [broken] });

    // Act
    const run = buildExports(deps, NOW);

    // Assess
    await expect(run).rejects.toBeInstanceOf(SigningError);
  });

  test('a storage failure fails the run', async () => {
    // Prepare
    const { deps } = setUp();
    const failing = { ...deps, blobs: { put: () => Promise.reject(new StorageError('S3 down')) } };

    // Act
    const run = buildExports(failing, NOW);

    // Assess
    await expect(run).rejects.toBeInstanceOf(StorageError);
  });

  test('a reader failure fails the run', async () => {
    // Prepare
    const { deps } = setUp();
    const failing: BuildExportsDeps = {
      ...deps,
      reader: {
        async *keysSubmitted() {
          throw new StorageError('DynamoDB down');
        },
      },
    };

    // Act
    const run = buildExports(failing, NOW);

    // Assess
    await expect(run).rejects.toBeInstanceOf(StorageError);
  });
});
