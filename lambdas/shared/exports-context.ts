/**
 * Everything build-exports needs, built once: the key reader, the blob store, the signers (newest
 * first), the clock and the settings. AWS builds it from the environment; the local runtime and
 * the tests call `buildExportsContext` with their own clients, signer and clock.
 *
 * Environment:
 *   DIAGNOSIS_KEYS_TABLE_NAME, EXPORTS_BUCKET_NAME   bound by the CDK (lib/env-names.ts)
 *   REGION_CODE (302), EXPORT_REGION (CA)
 *   SIGNING_KEYS   JSON array, newest first, of {"kmsKeyId", "keyId", "keyVersion"}: KMS signers
 *   ECDSA_KEY      tools and tests only, when SIGNING_KEYS is unset: one local signer
 *                  (keyId = REGION_CODE, keyVersion v1)
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import { ENV } from '../../lib/env-names';
import { documentClient, kmsClient, s3Client } from '../adapters/aws-clients';
import { DynamoExportReader } from '../adapters/dynamo-export-reader';
import { KmsSigner } from '../adapters/kms-signer';
import { LocalSigner } from '../adapters/local-signer';
import { S3BlobStore } from '../adapters/s3-blob-store';
import { systemClock } from '../adapters/system';
import { DEFAULT_EXPORT_SETTINGS, type BuildExportsDeps, type ExportSettings } from '../domain/build-exports';
import { MAX_SIGNERS } from '../domain/export-file';
import type { Clock, Signer } from '../ports';
import { parseEcdsaKey, parseExportRegion, parseRegionCode, type Parsed } from './config';
import { ConfigurationError, requireEnv } from './env';

export interface ExportsContext extends BuildExportsDeps {
  readonly clock: Clock;
}

export function buildExportsContext(parts: {
  db: DynamoDBDocumentClient;
  diagnosisKeysTable: string;
  s3: S3Client;
  exportsBucket: string;
  signers: readonly Signer[];
  clock?: Clock;
  settings?: Partial<ExportSettings>;
}): ExportsContext {
  return {
    reader: new DynamoExportReader(parts.db, parts.diagnosisKeysTable),
    blobs: new S3BlobStore(parts.s3, parts.exportsBucket),
    signers: parts.signers,
    clock: parts.clock ?? systemClock,
    settings: { ...DEFAULT_EXPORT_SETTINGS, ...parts.settings },
  };
}

/** One KMS signing key of `SIGNING_KEYS`. */
export interface KmsSigningKey {
  readonly kmsKeyId: string;
  /** SignatureInfo.verification_key_id (the MCC registered with Apple/Google). */
  readonly keyId: string;
  /** SignatureInfo.verification_key_version. */
  readonly keyVersion: string;
}

/** Characters Apple and Google both allow in a key id / version. */
const KEY_LABEL = /^[A-Za-z0-9_.]{1,32}$/;

/** `SIGNING_KEYS`: a JSON array, newest first, of 1–10 {kmsKeyId, keyId, keyVersion}. */
export function parseSigningKeys(raw: string): Parsed<KmsSigningKey[]> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, problems: ['SIGNING_KEYS: not valid JSON'] };
  }
  if (!Array.isArray(value) || value.length < 1 || value.length > MAX_SIGNERS) {
    return { ok: false, problems: [`SIGNING_KEYS: must be a JSON array of 1–${MAX_SIGNERS} signing keys`] };
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  const keys = value.map((entry: unknown, index): KmsSigningKey => {
    const where = `SIGNING_KEYS[${index}]`;
    const e = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    const kmsKeyId = typeof e.kmsKeyId === 'string' ? e.kmsKeyId : '';
    const keyId = typeof e.keyId === 'string' ? e.keyId : '';
    const keyVersion = typeof e.keyVersion === 'string' ? e.keyVersion : '';
    if (!kmsKeyId) problems.push(`${where}.kmsKeyId: must be a KMS key id, ARN or alias`);
    if (!KEY_LABEL.test(keyId)) problems.push(`${where}.keyId: must be 1–32 of [A-Za-z0-9_.]`);
    if (!KEY_LABEL.test(keyVersion)) problems.push(`${where}.keyVersion: must be 1–32 of [A-Za-z0-9_.]`);
    if (seen.has(`${keyId}/${keyVersion}`)) problems.push(`${where}: duplicate keyId/keyVersion ${keyId}/${keyVersion}`);
    seen.add(`${keyId}/${keyVersion}`);
    return { kmsKeyId, keyId, keyVersion };
  });
  return problems.length ? { ok: false, problems } : { ok: true, value: keys };
}

/** The signers the environment describes: KMS keys from SIGNING_KEYS, else one ECDSA_KEY. */
export function signersFromEnv(env: NodeJS.ProcessEnv, regionCode: string, kms: () => KMSClient = () => kmsClient()): Signer[] {
  if (env.SIGNING_KEYS && env.ECDSA_KEY) {
    throw new ConfigurationError(['set either SIGNING_KEYS (KMS) or ECDSA_KEY (local key), not both']);
  }
  if (env.SIGNING_KEYS) {
    const parsed = parseSigningKeys(env.SIGNING_KEYS);
    if (!parsed.ok) throw new ConfigurationError(parsed.problems);
    const client = kms();
    return parsed.value.map((k) => new KmsSigner(client, k.kmsKeyId, k.keyId, k.keyVersion));
  }
  if (env.ECDSA_KEY) {
    const parsed = parseEcdsaKey(env.ECDSA_KEY);
    if (!parsed.ok) throw new ConfigurationError(parsed.problems);
    return [new LocalSigner(parsed.value.privateKey, regionCode, 'v1')];
  }
  throw new ConfigurationError(['no export signing key: set SIGNING_KEYS (KMS) or ECDSA_KEY']);
}

/** Cold-start construction in AWS. Every configuration problem is reported at once. */
export async function exportsContextFromEnv(env = process.env): Promise<ExportsContext> {
  const names = requireEnv([ENV.diagnosisKeysTable, ENV.exportsBucket], env);
  const region = parseRegionCode(env.REGION_CODE ?? DEFAULT_EXPORT_SETTINGS.regionCode);
  const exportRegion = parseExportRegion(env.EXPORT_REGION ?? DEFAULT_EXPORT_SETTINGS.exportRegion);
  const problems = [...(region.ok ? [] : region.problems), ...(exportRegion.ok ? [] : exportRegion.problems)];
  let signers: Signer[] = [];
  try {
    signers = signersFromEnv(env, region.ok ? region.value : DEFAULT_EXPORT_SETTINGS.regionCode);
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    problems.push(...error.problems);
  }
  if (!region.ok || !exportRegion.ok || problems.length) throw new ConfigurationError(problems);
  return buildExportsContext({
    db: documentClient(),
    diagnosisKeysTable: names[ENV.diagnosisKeysTable],
    s3: s3Client(),
    exportsBucket: names[ENV.exportsBucket],
    signers,
    settings: { regionCode: region.value, exportRegion: exportRegion.value },
  });
}
