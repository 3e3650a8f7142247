/**
 * The build-exports handler (scheduled event → buildExports, counts logged, failures rethrown)
 * and its cold-start wiring from the environment.
 */
import { LocalSigner } from '../../../lambdas/adapters/local-signer';
import { KmsSigner } from '../../../lambdas/adapters/kms-signer';
import { makeBuildExportsHandler } from '../../../lambdas/handlers/build-exports';
import { ecdsaKeyToHex } from '../../../lambdas/shared/config';
import { ConfigurationError } from '../../../lambdas/shared/env';
import { exportsContextFromEnv, parseSigningKeys, signersFromEnv, type ExportsContext } from '../../../lambdas/shared/exports-context';
import { logger, metrics } from '../../../lambdas/shared/observability';
import { StorageError } from '../../../lambdas/domain/settings';
import { lambdaContext } from '../../support/builders/api-events';
import { FixedClock, utc } from '../../support/builders/deterministic';
import { InMemoryBlobStore, InMemoryExportReader, aStoredKey, hourOf, keyData, rsinOf, testSigningKey } from '../../support/builders/exports';

const NOW = utc(2024, 3, 14, 10, 20);
const TODAY = 19_796;
const SCHEDULED_EVENT = { id: 'event-1', 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} };
const signingKey = testSigningKey('handler');

function context(overrides: Partial<ExportsContext> = {}): ExportsContext & { blobs: InMemoryBlobStore } {
  const reader = new InMemoryExportReader().add({
    key: aStoredKey({ keyData: keyData(5), rollingStartIntervalNumber: rsinOf(TODAY - 2) }),
    submissionHour: hourOf(TODAY - 1, 3),
  });
  return {
    reader,
    blobs: new InMemoryBlobStore(),
    signers: [new LocalSigner(signingKey, '302')],
    settings: { regionCode: '302', exportRegion: 'CA' },
    clock: new FixedClock(NOW),
    ...overrides,
  } as ExportsContext & { blobs: InMemoryBlobStore };
}

describe('build-exports handler', () => {
  let addMetric: jest.SpyInstance;
  beforeEach(() => {
    addMetric = jest.spyOn(metrics, 'addMetric').mockImplementation(() => metrics);
  });
  afterEach(() => jest.restoreAllMocks());

  test('builds every bundle at the context clock\'s time and logs counts only', async () => {
    // Prepare
    const ctx = context();
    const info = jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    const handler = makeBuildExportsHandler(async () => ctx);

    // Act
    const summary = await handler(SCHEDULED_EVENT, lambdaContext('build-exports'));

    // Assess
    expect(summary.periods).toHaveLength(16);
    expect(ctx.blobs.blobs.size).toBe(16);
    expect(summary.keysPerPeriod[String(TODAY - 1)]).toBe(1);
    const [message, detail] = info.mock.calls.find(([m]) => m === 'build-exports') as unknown as [string, Record<string, unknown>];
    expect(message).toBe('build-exports');
    expect(detail).toMatchObject({ outcome: 'ok', bundles: 16, keys: 2, bytesWritten: summary.bytesWritten });
    expect(JSON.stringify(detail)).not.toContain(Buffer.from(keyData(5)).toString('base64'));
    expect(addMetric).toHaveBeenCalledWith('ExportBundlesWritten', 'Count', 16);
    expect(addMetric).toHaveBeenCalledWith('ExportKeys', 'Count', 2);
  });

  test('a failure is logged by name and rethrown, so the invocation fails', async () => {
    // Prepare
    const failure = new StorageError('S3 down');
    const ctx = context({ blobs: { put: () => Promise.reject(failure) } });
    const error = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    const handler = makeBuildExportsHandler(async () => ctx);

    // Act
    const run = handler(SCHEDULED_EVENT, lambdaContext('build-exports'));

    // Assess
    await expect(run).rejects.toBe(failure);
    expect(error).toHaveBeenCalledWith('build-exports', expect.objectContaining({ outcome: 'failed', errorName: 'StorageError' }));
    expect(addMetric).toHaveBeenCalledWith('ExportJobFailed', 'Count', 1);
  });

  test('a configuration failure at cold start also fails the invocation', async () => {
    // Prepare
    jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    const handler = makeBuildExportsHandler(() => Promise.reject(new ConfigurationError(['EXPORTS_BUCKET_NAME is not set'])));

    // Act
    const run = handler(SCHEDULED_EVENT, lambdaContext('build-exports'));

    // Assess
    await expect(run).rejects.toBeInstanceOf(ConfigurationError);
  });
});

describe('exports context from the environment', () => {
  const BASE = { DIAGNOSIS_KEYS_TABLE_NAME: 'keys', EXPORTS_BUCKET_NAME: 'exports', AWS_REGION: 'ca-central-1' };
  const SIGNING_KEYS = JSON.stringify([
    { kmsKeyId: 'alias/exports-v2', keyId: '302', keyVersion: 'v2' },
    { kmsKeyId: 'alias/exports-v1', keyId: '302', keyVersion: 'v1' },
  ]);

  test('SIGNING_KEYS gives KMS signers, newest first, with their ids and versions', async () => {
    // Act
    const ctx = await exportsContextFromEnv({ ...BASE, SIGNING_KEYS, REGION_CODE: '302', EXPORT_REGION: 'CA' });

    // Assess
    expect(ctx.signers.every((s) => s instanceof KmsSigner)).toBe(true);
    expect(ctx.signers.map((s) => [(s as KmsSigner).kmsKeyId, s.keyId, s.keyVersion])).toEqual([
      ['alias/exports-v2', '302', 'v2'],
      ['alias/exports-v1', '302', 'v1'],
    ]);
    expect(ctx.settings).toEqual({ regionCode: '302', exportRegion: 'CA' });
  });

  test('ECDSA_KEY gives one local signer with keyId = REGION_CODE and version v1; defaults 302/CA', async () => {
    // Act
    const ctx = await exportsContextFromEnv({ ...BASE, ECDSA_KEY: ecdsaKeyToHex(signingKey) });

    // Assess
    expect(ctx.signers).toHaveLength(1);
    expect(ctx.signers[0]).toBeInstanceOf(LocalSigner);
    expect([ctx.signers[0].keyId, ctx.signers[0].keyVersion]).toEqual(['302', 'v1']);
    expect(ctx.settings).toEqual({ regionCode: '302', exportRegion: 'CA' });
  });

  test('every problem is reported at once', async () => {
    // Act
    const build = exportsContextFromEnv({ ...BASE, REGION_CODE: '30', EXPORT_REGION: 'ca', SIGNING_KEYS: '[]' });

    // Assess
    await expect(build).rejects.toBeInstanceOf(ConfigurationError);
    await expect(build).rejects.toMatchObject({
      problems: [expect.stringContaining('REGION_CODE'), expect.stringContaining('EXPORT_REGION'), expect.stringContaining('SIGNING_KEYS')],
    });
  });

  test('missing table or bucket names are refused', async () => {
    // Act
    const build = exportsContextFromEnv({ ECDSA_KEY: ecdsaKeyToHex(signingKey) });

    // Assess
    await expect(build).rejects.toMatchObject({ problems: ['DIAGNOSIS_KEYS_TABLE_NAME is not set', 'EXPORTS_BUCKET_NAME is not set'] });
  });

  test('no signing key, or both kinds at once, is refused', () => {
    // Act / Assess
    expect(() => signersFromEnv({}, '302')).toThrow(ConfigurationError);
    expect(() => signersFromEnv({ SIGNING_KEYS, ECDSA_KEY: ecdsaKeyToHex(signingKey) }, '302')).toThrow(ConfigurationError);
  });

  test.each([
    ['not JSON', '{'],
    ['not an array', '{"kmsKeyId":"k","keyId":"302","keyVersion":"v1"}'],
    ['empty', '[]'],
    ['eleven keys', JSON.stringify(Array.from({ length: 11 }, (_, i) => ({ kmsKeyId: 'k', keyId: '302', keyVersion: `v${i}` })))],
    ['no kmsKeyId', '[{"keyId":"302","keyVersion":"v1"}]'],
    ['a key id with a slash', '[{"kmsKeyId":"k","keyId":"30/2","keyVersion":"v1"}]'],
    ['a duplicate id/version', '[{"kmsKeyId":"a","keyId":"302","keyVersion":"v1"},{"kmsKeyId":"b","keyId":"302","keyVersion":"v1"}]'],
  ])('parseSigningKeys refuses %s', (_label, raw) => {
    // Act
    const parsed = parseSigningKeys(raw);

    // Assess
    expect(parsed.ok).toBe(false);
  });
});
