/**
 * Configuration of the local runtime: the contract table of spec/ARCHITECTURE.md §2. Every
 * variable is validated and every problem reported at once. Secrets that are not set are
 * generated and stored in LOCAL_DATA_DIR/secrets.json (mode 0600), then reused on the next
 * start; with LOCAL_IN_MEMORY=1 nothing is written anywhere.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  ecdsaKeyToHex,
  formatKeyClaimTokens,
  parseApiKey,
  parseEcdsaKey,
  parseExportRegion,
  parseHmacKey,
  parseInteger,
  parseKeyClaimTokens,
  parseRegionCode,
  type KeyClaimToken,
  type Parsed,
  type SigningKey,
} from '../lambdas/shared/config';

export interface LocalConfig {
  readonly port: number;
  readonly keyClaimTokens: readonly KeyClaimToken[];
  readonly retrieveHmacKeyHex: string;
  /** Key of the HMACs that replace codes, hashIds and IPs at rest (hex, ≥ 32 bytes). */
  readonly submissionHmacKey: Buffer;
  readonly ecdsaKeyHex: string;
  readonly signingKey: SigningKey;
  readonly metricsApiKey: string;
  readonly regionCode: string;
  readonly exportRegion: string;
  readonly inMemory: boolean;
  /** Absolute path of the persisted state; undefined when in memory. */
  readonly dataDir?: string;
  readonly exportIntervalSeconds: number;
  /** Key quota per key pair (upstream shipped 43). */
  readonly initialRemainingKeys: number;
  /** 0 = pick a free port. */
  readonly dynamodbPort: number;
  readonly s3Port: number;
  /** Which secrets were generated on this start (names only), for the banner. */
  readonly generated: readonly string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

interface StoredSecrets {
  KEY_CLAIM_TOKEN?: string;
  RETRIEVE_HMAC_KEY?: string;
  ECDSA_KEY?: string;
  METRICS_API_KEY?: string;
  SUBMISSION_HMAC_KEY?: string;
}

const SECRET_GENERATORS: Record<keyof StoredSecrets, () => string> = {
  KEY_CLAIM_TOKEN: () => `${randomBytes(20).toString('hex')}=302`,
  RETRIEVE_HMAC_KEY: () => randomBytes(32).toString('hex'),
  ECDSA_KEY: () => ecdsaKeyToHex(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey),
  METRICS_API_KEY: () => randomBytes(24).toString('base64url'),
  SUBMISSION_HMAC_KEY: () => randomBytes(32).toString('hex'),
};

export function loadConfig(env: Env = process.env, cwd = process.cwd()): LocalConfig {
  const problems: string[] = [];
  const take = <T>(parsed: Parsed<T>, fallback: T): T => {
    if (parsed.ok) return parsed.value;
    problems.push(...parsed.problems);
    return fallback;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    return raw === undefined || raw === '' ? fallback : take(parseInteger(name, raw, min, max), fallback);
  };

  const inMemoryRaw = env.LOCAL_IN_MEMORY ?? '';
  if (!['', '0', '1', 'true', 'false'].includes(inMemoryRaw)) {
    problems.push(`LOCAL_IN_MEMORY: must be 1 or 0, got "${inMemoryRaw}"`);
  }
  const inMemory = inMemoryRaw === '1' || inMemoryRaw === 'true';
  const dataDir = inMemory ? undefined : resolve(cwd, env.LOCAL_DATA_DIR || '.local');

  const port = int('PORT', 8000, 0, 65535);
  const dynamodbPort = int('LOCAL_DYNAMODB_PORT', 0, 0, 65535);
  const s3Port = int('LOCAL_S3_PORT', 0, 0, 65535);
  const exportIntervalSeconds = int('LOCAL_EXPORT_INTERVAL_SECONDS', 60, 1, 86400);
  const initialRemainingKeys = int('INITIAL_REMAINING_KEYS', 43, 1, 1000);
  const regionCode = take(parseRegionCode(env.REGION_CODE || '302'), '302');
  const exportRegion = take(parseExportRegion(env.EXPORT_REGION || 'CA'), 'CA');

  // Secrets: environment first, then the stored ones, then freshly generated.
  const stored = dataDir ? readStoredSecrets(dataDir, problems) : {};
  const generated: string[] = [];
  const secret = (name: keyof StoredSecrets): string => {
    const fromEnv = env[name];
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    const existing = stored[name];
    if (existing) return existing;
    const fresh = SECRET_GENERATORS[name]();
    stored[name] = fresh;
    generated.push(name);
    return fresh;
  };

  const keyClaimTokens = take(parseKeyClaimTokens(secret('KEY_CLAIM_TOKEN')), []);
  const retrieveHmacKeyHex = secret('RETRIEVE_HMAC_KEY');
  take(parseHmacKey(retrieveHmacKeyHex), Buffer.alloc(0));
  const ecdsaKeyHex = secret('ECDSA_KEY');
  const signingKey = take(parseEcdsaKey(ecdsaKeyHex), undefined);
  const metricsApiKey = take(parseApiKey(secret('METRICS_API_KEY')), '');
  const submissionHmacKey = take(parseHmacKey(secret('SUBMISSION_HMAC_KEY'), 'SUBMISSION_HMAC_KEY'), Buffer.alloc(0));

  if (problems.length > 0 || !signingKey) throw new ConfigError(problems);
  if (dataDir && generated.length > 0) writeStoredSecrets(dataDir, stored);

  return {
    port,
    keyClaimTokens,
    retrieveHmacKeyHex: retrieveHmacKeyHex.toLowerCase(),
    submissionHmacKey,
    ecdsaKeyHex,
    signingKey,
    metricsApiKey,
    regionCode,
    exportRegion,
    inMemory,
    dataDir,
    exportIntervalSeconds,
    initialRemainingKeys,
    dynamodbPort,
    s3Port,
    generated,
  };
}

const secretsFile = (dataDir: string) => join(dataDir, 'secrets.json');

function readStoredSecrets(dataDir: string, problems: string[]): StoredSecrets {
  const file = secretsFile(dataDir);
  if (!existsSync(file)) return {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
    const out: StoredSecrets = {};
    for (const name of Object.keys(SECRET_GENERATORS) as (keyof StoredSecrets)[]) {
      const value = (parsed as Record<string, unknown>)[name];
      if (typeof value === 'string') out[name] = value;
    }
    return out;
  } catch {
    problems.push(`${file}: unreadable stored secrets; fix or delete the file to generate new ones`);
    return {};
  }
}

function writeStoredSecrets(dataDir: string, secrets: StoredSecrets): void {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(secretsFile(dataDir), `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
}

export { formatKeyClaimTokens };
