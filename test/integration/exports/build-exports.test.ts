/**
 * build-exports against the shared runtime's DynamoDB Local and S3 server: key items written
 * straight into the diagnosis keys table (region 999, used by no other test), one run with a
 * local signer, then every exports/999/*.zip read back, decoded and verified; a second run, with
 * two-item query pages, must write the same export.bin.
 *
 * The job runs two days ahead of the real clock, so an item can be expired for the job
 * (expiresAt < job time) while DynamoDB Local's TTL, which follows the real clock, keeps it: that
 * proves the read filter, not the TTL sweeper, keeps expired keys out.
 */
import { randomBytes, verify } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient, s3Client, type EndpointOptions } from '../../../lambdas/adapters/aws-clients';
import { DynamoExportReader } from '../../../lambdas/adapters/dynamo-export-reader';
import { LocalSigner } from '../../../lambdas/adapters/local-signer';
import { S3BlobStore } from '../../../lambdas/adapters/s3-blob-store';
import { buildExports, type BuildExportsSummary } from '../../../lambdas/domain/build-exports';
import { decodeExport } from '../../../lambdas/domain/export-file';
import { dayNumber } from '../../../lambdas/domain/time';
import { buildExportsContext } from '../../../lambdas/shared/exports-context';
import { int64ToNumber } from '../../../proto';
import { hourOf, rsinOf, testSigningKey } from '../../support/builders/exports';
import { runtimeInfo } from '../../support/runtime';

const REGION = '999';
const DAY_MS = 86_400_000;
const REAL_NOW = Date.now();
const NOW = REAL_NOW + 2 * DAY_MS;
const TODAY = dayNumber(NOW);
const NOW_S = Math.floor(NOW / 1000);
const signingKey = testSigningKey('integration');
const signer = new LocalSigner(signingKey, REGION, 'v1');

interface Seed {
  readonly name: string;
  readonly region?: string;
  readonly submissionHour: number;
  readonly rsin: number;
  readonly expiresAt?: number;
  readonly reportType?: number;
  readonly daysSinceOnsetOfSymptoms?: number;
}

const SEEDS: Seed[] = [
  { name: 'yesterday-00h', submissionHour: hourOf(TODAY - 1, 0), rsin: rsinOf(TODAY - 3) },
  { name: 'yesterday-23h', submissionHour: hourOf(TODAY - 1, 23), rsin: rsinOf(TODAY - 1) },
  { name: 'today-02h', submissionHour: hourOf(TODAY, 2), rsin: rsinOf(TODAY - 1) },
  { name: 'today-15', submissionHour: hourOf(TODAY - 15, 5), rsin: rsinOf(TODAY - 13, 10), expiresAt: NOW_S + 3 * 86_400 },
  { name: 'today-16', submissionHour: hourOf(TODAY - 16, 23), rsin: rsinOf(TODAY - 13), expiresAt: NOW_S + 3 * 86_400 },
  { name: 'rsin-too-old', submissionHour: hourOf(TODAY - 3, 10), rsin: rsinOf(TODAY - 14) },
  { name: 'expired', submissionHour: hourOf(TODAY - 2, 4), rsin: rsinOf(TODAY - 4), expiresAt: Math.floor(REAL_NOW / 1000) + 86_400 },
  { name: 'self-report', submissionHour: hourOf(TODAY - 2, 6), rsin: rsinOf(TODAY - 5), reportType: 3, daysSinceOnsetOfSymptoms: -2 },
  { name: 'other-region', region: '998', submissionHour: hourOf(TODAY - 1, 8), rsin: rsinOf(TODAY - 2) },
];
const keyDataByName = new Map(SEEDS.map((s) => [s.name, randomBytes(16)]));
const nameOf = (data: Uint8Array) => [...keyDataByName].find(([, d]) => d.equals(Buffer.from(data)))?.[0] ?? 'unknown';

const EXPECTED: Record<string, string[]> = {
  '00000': ['yesterday-00h', 'yesterday-23h', 'today-15', 'self-report'],
  [TODAY]: ['today-02h'],
  [TODAY - 1]: ['yesterday-00h', 'yesterday-23h'],
  [TODAY - 2]: ['self-report'],
  [TODAY - 3]: [],
  [TODAY - 14]: [],
};
const sortedByKeyData = (names: string[]) => [...names].sort((a, b) => Buffer.compare(keyDataByName.get(a)!, keyDataByName.get(b)!));

let db: DynamoDBDocumentClient;
let s3: S3Client;
let table: string;
let bucket: string;
let firstRun: BuildExportsSummary;
const firstBins = new Map<string, Buffer>();

async function download(key: string) {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return { body: await out.Body!.transformToByteArray(), contentType: out.ContentType, cacheControl: out.CacheControl };
}

async function listBundles(): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `exports/${REGION}/` }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

beforeAll(async () => {
  const info = await runtimeInfo();
  const dynamoOptions: EndpointOptions = {
    endpoint: info.dynamodb.endpoint,
    region: info.dynamodb.region,
    credentials: { accessKeyId: info.dynamodb.accessKeyId, secretAccessKey: info.dynamodb.secretAccessKey },
  };
  const s3Options: EndpointOptions = {
    endpoint: info.s3.endpoint,
    region: info.s3.region,
    credentials: { accessKeyId: info.s3.accessKeyId, secretAccessKey: info.s3.secretAccessKey },
  };
  db = documentClient(dynamoOptions);
  s3 = s3Client(s3Options);
  table = info.dynamodb.tables.diagnosisKeys;
  bucket = info.s3.buckets.exports;

  await Promise.all(
    SEEDS.map((seed) => {
      const region = seed.region ?? REGION;
      return db.send(
        new PutCommand({
          TableName: table,
          Item: {
            keyData: keyDataByName.get(seed.name),
            region,
            regionDay: `${region}#${Math.floor(seed.submissionHour / 24)}`,
            submissionHour: seed.submissionHour,
            rollingStartIntervalNumber: seed.rsin,
            rollingPeriod: 144,
            transmissionRiskLevel: 5,
            ...(seed.reportType !== undefined ? { reportType: seed.reportType } : {}),
            ...(seed.daysSinceOnsetOfSymptoms !== undefined ? { daysSinceOnsetOfSymptoms: seed.daysSinceOnsetOfSymptoms } : {}),
            originator: 'o-integration',
            expiresAt: seed.expiresAt ?? (seed.submissionHour + 15 * 24) * 3600,
          },
        }),
      );
    }),
  );

  const context = buildExportsContext({
    db,
    diagnosisKeysTable: table,
    s3,
    exportsBucket: bucket,
    signers: [signer],
    settings: { regionCode: REGION, exportRegion: 'CA' },
  });
  firstRun = await buildExports(context, NOW);
  for (const key of await listBundles()) firstBins.set(key, Buffer.from(decodeExport((await download(key)).body).exportBin));
});

afterAll(async () => {
  await Promise.all(SEEDS.map((seed) => db.send(new DeleteCommand({ TableName: table, Key: { keyData: keyDataByName.get(seed.name) } }))));
  await Promise.all((await listBundles()).map((Key) => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key }))));
  db.destroy();
  s3.destroy();
});

test('one bundle per served period is written: 00000 and today−14 … today', async () => {
  // Act
  const keys = await listBundles();

  // Assess
  const periods = ['00000', ...Array.from({ length: 15 }, (_, i) => String(TODAY - 14 + i))];
  expect(keys).toEqual(periods.map((p) => `exports/${REGION}/${p}.zip`).sort());
  expect([...firstRun.periods].sort()).toEqual([...periods].sort());
});

test.each(Object.keys(EXPECTED))('period %s holds exactly its keys, in key-data order, signed', async (period) => {
  // Act
  const blob = await download(`exports/${REGION}/${period}.zip`);
  const decoded = decodeExport(blob.body);

  // Assess
  expect(decoded.entryNames).toEqual(['export.bin', 'export.sig']);
  expect(decoded.export.keys.map((k) => nameOf(k.keyData!))).toEqual(sortedByKeyData(EXPECTED[period]));
  expect(firstRun.keysPerPeriod[period]).toBe(EXPECTED[period].length);
  expect(decoded.export.region).toBe('CA');
  const start = int64ToNumber(decoded.export.startTimestamp);
  expect(start).toBe(period === '00000' ? (TODAY - 15) * 86_400 : Number(period) * 86_400);
  const [sig] = decoded.signatureList.signatures;
  expect(sig.signatureInfo?.verificationKeyId).toBe(REGION);
  expect(verify('sha256', decoded.exportBin, { key: signingKey, dsaEncoding: 'der' }, sig.signature!)).toBe(true);
});

test('objects carry application/zip and the period\'s Cache-Control', async () => {
  // Act
  const open = await Promise.all(['00000', String(TODAY)].map((p) => download(`exports/${REGION}/${p}.zip`)));
  const closed = await Promise.all([String(TODAY - 1), String(TODAY - 14)].map((p) => download(`exports/${REGION}/${p}.zip`)));

  // Assess
  for (const blob of [...open, ...closed]) expect(blob.contentType).toBe('application/zip');
  expect(open.map((b) => b.cacheControl)).toEqual(['public, max-age=600', 'public, max-age=600']);
  expect(closed.map((b) => b.cacheControl)).toEqual(['public, max-age=3600, max-stale=600', 'public, max-age=3600, max-stale=600']);
});

test('stored report type and onset are exported; absent ones as CONFIRMED_TEST (1) and 0', async () => {
  // Act
  const decoded = decodeExport((await download(`exports/${REGION}/00000.zip`)).body);

  // Assess
  const fields = Object.fromEntries(decoded.export.keys.map((k) => [nameOf(k.keyData!), [k.reportType, k.daysSinceOnsetOfSymptoms, k.transmissionRiskLevel, k.rollingPeriod]]));
  expect(fields['self-report']).toEqual([3, -2, 5, 144]);
  expect(fields['yesterday-00h']).toEqual([1, 0, 5, 144]);
});

test('the expired key was left out by the read filter while its item still exists', async () => {
  // Act
  const item = await db.send(new GetCommand({ TableName: table, Key: { keyData: keyDataByName.get('expired') } }));

  // Assess
  expect(item.Item?.expiresAt).toBeLessThan(NOW_S);
  const all = await Promise.all((await listBundles()).map(async (key) => decodeExport((await download(key)).body).export.keys.map((k) => nameOf(k.keyData!))));
  expect(all.flat()).not.toContain('expired');
  expect(all.flat()).not.toContain('other-region');
  expect(all.flat()).not.toContain('today-16');
  expect(all.flat()).not.toContain('rsin-too-old');
});

test('a re-run (with two-item query pages) writes the same export.bin for every period', async () => {
  // Prepare
  const deps = {
    reader: new DynamoExportReader(db, table, 2),
    blobs: new S3BlobStore(s3, bucket),
    signers: [signer],
    settings: { regionCode: REGION, exportRegion: 'CA' },
  };

  // Act
  const again = await buildExports(deps, NOW);

  // Assess
  expect(again.keysPerPeriod).toEqual(firstRun.keysPerPeriod);
  const keys = await listBundles();
  expect(keys).toHaveLength(16);
  for (const key of keys) {
    const bin = Buffer.from(decodeExport((await download(key)).body).exportBin);
    expect(bin.equals(firstBins.get(key)!)).toBe(true);
  }
});
