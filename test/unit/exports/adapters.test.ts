/**
 * The export adapters against mocked SDK clients (aws-sdk-client-mock): KmsSigner's Sign request,
 * DynamoExportReader's per-day ranged queries, pagination and expiry filter, S3BlobStore's put,
 * and LocalSigner's DER signatures.
 */
import { createHash, generateKeyPairSync, verify } from 'node:crypto';
import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DisabledException, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoExportReader } from '../../../lambdas/adapters/dynamo-export-reader';
import { KmsSigner } from '../../../lambdas/adapters/kms-signer';
import { LocalSigner } from '../../../lambdas/adapters/local-signer';
import { S3BlobStore } from '../../../lambdas/adapters/s3-blob-store';
import { decodeExport, encodeExport, SigningError } from '../../../lambdas/domain/export-file';
import { StorageError } from '../../../lambdas/domain/settings';
import { ConfigurationError } from '../../../lambdas/shared/env';
import { ecdsaKeyToHex } from '../../../lambdas/shared/config';
import type { StoredKey } from '../../../lambdas/ports';
import { utc } from '../../support/builders/deterministic';
import { keyData, testSigningKey } from '../../support/builders/exports';

const meta = { $metadata: {} };
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const NOW = utc(2024, 3, 14, 10, 20);
const NOW_S = NOW / 1000;
const TODAY = 19_796;

describe('KmsSigner', () => {
  const kmsMock = mockClient(KMSClient);
  const kms = new KMSClient({ region: 'ca-central-1', credentials });
  const KMS_KEY = 'arn:aws:kms:ca-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const DER = Uint8Array.from([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02]);

  beforeEach(() => kmsMock.reset());

  test('sends the SHA-256 digest with MessageType DIGEST, ECDSA_SHA_256 and the KMS key id; returns KMS\'s DER signature', async () => {
    // Prepare
    kmsMock.on(SignCommand).resolves({ ...meta, Signature: DER, KeyId: KMS_KEY, SigningAlgorithm: 'ECDSA_SHA_256' });
    const signer = new KmsSigner(kms, KMS_KEY, '302', 'v1');
    const data = new Uint8Array(100_000).fill(7); // far over KMS's 4 KB RAW limit

    // Act
    const signature = await signer.sign(data);

    // Assess
    expect(Buffer.from(signature)).toEqual(Buffer.from(DER));
    const calls = kmsMock.commandCalls(SignCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0].args[0].input;
    expect(input.KeyId).toBe(KMS_KEY);
    expect(input.MessageType).toBe('DIGEST');
    expect(input.SigningAlgorithm).toBe('ECDSA_SHA_256');
    expect(Buffer.from(input.Message as Uint8Array)).toEqual(createHash('sha256').update(data).digest());
    expect([signer.keyId, signer.keyVersion]).toEqual(['302', 'v1']);
  });

  test('in an export, KMS signs the digest of the whole export.bin and its signature lands in export.sig', async () => {
    // Prepare
    kmsMock.on(SignCommand).resolves({ ...meta, Signature: DER });
    const signer = new KmsSigner(kms, KMS_KEY, '302', 'v1');

    // Act
    const { zip, exportBin } = await encodeExport({ startTimestamp: 0, endTimestamp: 86_400, region: 'CA', keys: [] }, [signer]);

    // Assess
    const sent = kmsMock.commandCalls(SignCommand)[0].args[0].input.Message as Uint8Array;
    expect(Buffer.from(sent)).toEqual(createHash('sha256').update(exportBin).digest());
    expect(Buffer.from(decodeExport(zip).signatureList.signatures[0].signature!)).toEqual(Buffer.from(DER));
  });

  test('a KMS error becomes SigningError carrying the cause', async () => {
    // Prepare
    const cause = new DisabledException({ message: 'key is disabled', ...meta });
    kmsMock.on(SignCommand).rejects(cause);
    const signer = new KmsSigner(kms, KMS_KEY, '302', 'v1');

    // Act
    const result = signer.sign(new Uint8Array(1));

    // Assess
    await expect(result).rejects.toBeInstanceOf(SigningError);
    await expect(result).rejects.toMatchObject({ cause });
  });

  test('an answer without a signature is a SigningError', async () => {
    // Prepare
    kmsMock.on(SignCommand).resolves({ ...meta });
    const signer = new KmsSigner(kms, KMS_KEY, '302', 'v1');

    // Act
    const result = signer.sign(new Uint8Array(1));

    // Assess
    await expect(result).rejects.toBeInstanceOf(SigningError);
  });
});

describe('LocalSigner', () => {
  test('signs with ECDSA P-256 SHA-256, DER-encoded (a SEQUENCE, typically 70–72 bytes), verifiable with the public key', async () => {
    // Prepare
    const key = testSigningKey('local-signer');
    const signer = new LocalSigner(key, '302');
    const data = Buffer.from('EK Export v1    payload');

    // Act
    const signature = await signer.sign(data);

    // Assess
    expect(signature[0]).toBe(0x30);
    expect(signature.length).toBeGreaterThanOrEqual(68);
    expect(signature.length).toBeLessThanOrEqual(72);
    expect(verify('sha256', data, { key, dsaEncoding: 'der' }, signature)).toBe(true);
    expect(verify('sha256', Buffer.from('tampered'), { key, dsaEncoding: 'der' }, signature)).toBe(false);
    expect([signer.keyId, signer.keyVersion]).toEqual(['302', 'v1']);
  });

  test('fromConfig reads ECDSA_KEY hex (DER SEC1), the upstream format', async () => {
    // Prepare
    const key = testSigningKey('from-config');
    const hex = ecdsaKeyToHex(key);

    // Act
    const signer = LocalSigner.fromConfig(hex, '302', 'v7');
    const signature = await signer.sign(Buffer.from('x'));

    // Assess
    expect(signer.keyVersion).toBe('v7');
    expect(verify('sha256', Buffer.from('x'), key, signature)).toBe(true);
  });

  test('refuses a key that is not P-256', () => {
    // Prepare
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });

    // Act
    const create = () => new LocalSigner(privateKey, '302');

    // Assess
    expect(create).toThrow(ConfigurationError);
    expect(() => LocalSigner.fromConfig('not-a-key', '302')).toThrow(ConfigurationError);
  });
});

describe('DynamoExportReader', () => {
  const ddbMock = mockClient(DynamoDBDocumentClient);
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'ca-central-1', credentials }));
  const reader = new DynamoExportReader(db, 'keys-table');

  beforeEach(() => ddbMock.reset());

  async function collect(iterable: AsyncIterable<readonly StoredKey[]>): Promise<(readonly StoredKey[])[]> {
    const pages: (readonly StoredKey[])[] = [];
    for await (const page of iterable) pages.push(page);
    return pages;
  }

  const item = (fill: number, extra: object = {}) => ({
    keyData: keyData(fill),
    region: '302',
    regionDay: `302#${TODAY - 1}`,
    submissionHour: (TODAY - 1) * 24 + 5,
    rollingStartIntervalNumber: (TODAY - 2) * 144,
    rollingPeriod: 144,
    transmissionRiskLevel: 3,
    expiresAt: NOW_S + 86_400,
    ...extra,
  });

  test('one whole day: one ranged Query on byRegionDay, expired items filtered by the query', async () => {
    // Prepare
    ddbMock.on(QueryCommand).resolves({ ...meta, Items: [item(1)] });

    // Act
    const pages = await collect(reader.keysSubmitted('302', (TODAY - 1) * 24, TODAY * 24, NOW));

    // Assess
    const calls = ddbMock.commandCalls(QueryCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0].args[0].input;
    expect(input).toMatchObject({
      TableName: 'keys-table',
      IndexName: 'byRegionDay',
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :first AND :last',
      FilterExpression: 'expiresAt > :now',
      ExpressionAttributeNames: { '#pk': 'regionDay', '#sk': 'submissionHour' },
      ExpressionAttributeValues: { ':pk': `302#${TODAY - 1}`, ':first': (TODAY - 1) * 24, ':last': (TODAY - 1) * 24 + 23, ':now': NOW_S },
    });
    expect(pages).toEqual([[{ keyData: keyData(1), rollingStartIntervalNumber: (TODAY - 2) * 144, rollingPeriod: 144, transmissionRiskLevel: 3 }]]);
  });

  test('an hour range across days: one Query per UTC day, each clipped to the range', async () => {
    // Prepare
    ddbMock.on(QueryCommand).resolves({ ...meta, Items: [] });
    const start = (TODAY - 3) * 24 + 20;
    const end = (TODAY - 1) * 24 + 2;

    // Act
    await collect(reader.keysSubmitted('302', start, end, NOW));

    // Assess
    const ranges = ddbMock.commandCalls(QueryCommand).map((c) => c.args[0].input.ExpressionAttributeValues);
    expect(ranges).toEqual([
      { ':pk': `302#${TODAY - 3}`, ':first': start, ':last': (TODAY - 3) * 24 + 23, ':now': NOW_S },
      { ':pk': `302#${TODAY - 2}`, ':first': (TODAY - 2) * 24, ':last': (TODAY - 2) * 24 + 23, ':now': NOW_S },
      { ':pk': `302#${TODAY - 1}`, ':first': (TODAY - 1) * 24, ':last': (TODAY - 1) * 24 + 1, ':now': NOW_S },
    ]);
  });

  test('follows LastEvaluatedKey and yields each page', async () => {
    // Prepare
    const lastKey = { keyData: keyData(2), regionDay: `302#${TODAY - 1}`, submissionHour: (TODAY - 1) * 24 + 5 };
    ddbMock
      .on(QueryCommand)
      .resolvesOnce({ ...meta, Items: [item(1), item(2)], LastEvaluatedKey: lastKey })
      .resolvesOnce({ ...meta, Items: [item(3)] });

    // Act
    const pages = await collect(reader.keysSubmitted('302', (TODAY - 1) * 24, TODAY * 24, NOW));

    // Assess
    expect(pages.map((p) => p.map((k) => k.keyData[0]))).toEqual([[1, 2], [3]]);
    const calls = ddbMock.commandCalls(QueryCommand);
    expect(calls[0].args[0].input.ExclusiveStartKey).toBeUndefined();
    expect(calls[1].args[0].input.ExclusiveStartKey).toEqual(lastKey);
  });

  test('drops items whose expiresAt has passed even if the store returns them; keeps report type and onset', async () => {
    // Prepare
    ddbMock.on(QueryCommand).resolves({
      ...meta,
      Items: [item(1, { expiresAt: NOW_S }), item(2, { expiresAt: NOW_S + 1, reportType: 3, daysSinceOnsetOfSymptoms: -2 }), item(3, { expiresAt: undefined })],
    });

    // Act
    const pages = await collect(reader.keysSubmitted('302', (TODAY - 1) * 24, TODAY * 24, NOW));

    // Assess
    expect(pages).toEqual([
      [{ keyData: keyData(2), rollingStartIntervalNumber: (TODAY - 2) * 144, rollingPeriod: 144, transmissionRiskLevel: 3, reportType: 3, daysSinceOnsetOfSymptoms: -2 }],
    ]);
  });

  test('an empty range sends no query', async () => {
    // Act
    const pages = await collect(reader.keysSubmitted('302', TODAY * 24, TODAY * 24, NOW));

    // Assess
    expect(pages).toEqual([]);
    expect(ddbMock.commandCalls(QueryCommand)).toHaveLength(0);
  });

  test('an SDK error becomes StorageError', async () => {
    // Prepare
    ddbMock.on(QueryCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', ...meta }));

    // Act
    const read = collect(reader.keysSubmitted('302', (TODAY - 1) * 24, TODAY * 24, NOW));

    // Assess
    await expect(read).rejects.toBeInstanceOf(StorageError);
  });
});

describe('S3BlobStore', () => {
  const s3Mock = mockClient(S3Client);
  const s3 = new S3Client({ region: 'ca-central-1', credentials });

  beforeEach(() => s3Mock.reset());

  test('puts the body with Content-Type and Cache-Control', async () => {
    // Prepare
    s3Mock.on(PutObjectCommand).resolves({ ...meta });
    const body = Uint8Array.from([1, 2, 3]);

    // Act
    await new S3BlobStore(s3, 'exports-bucket').put('exports/302/00000.zip', body, { contentType: 'application/zip', cacheControl: 'public, max-age=600' });

    // Assess
    const input = s3Mock.commandCalls(PutObjectCommand)[0].args[0].input;
    expect(input).toMatchObject({
      Bucket: 'exports-bucket',
      Key: 'exports/302/00000.zip',
      ContentType: 'application/zip',
      CacheControl: 'public, max-age=600',
      ContentLength: 3,
    });
    expect(input.Body).toBe(body);
  });

  test('an SDK error becomes StorageError', async () => {
    // Prepare
    s3Mock.on(PutObjectCommand).rejects(new S3ServiceException({ name: 'InternalError', $fault: 'server', ...meta }));

    // Act
    const put = new S3BlobStore(s3, 'exports-bucket').put('k', new Uint8Array(1), { contentType: 'application/zip' });

    // Assess
    await expect(put).rejects.toBeInstanceOf(StorageError);
  });
});
