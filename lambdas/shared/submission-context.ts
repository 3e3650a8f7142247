/**
 * Everything the three submission handlers need, built once: stores, hasher, events, clock,
 * randomness and settings. AWS builds it from the environment; the local runtime and the tests
 * call `buildSubmissionContext` with their own clock and endpoints.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ENV } from '../../lib/env-names';
import { documentClient } from '../adapters/aws-clients';
import { DynamoBanStore, DynamoCodeStore, DynamoKeyPairStore, type SubmissionTables } from '../adapters/dynamo-submission';
import { HmacHasher } from '../adapters/hmac-hasher';
import { MetricEvents } from '../adapters/metric-events';
import { systemClock, systemRandom } from '../adapters/system';
import { DEFAULT_SUBMISSION_SETTINGS, type SubmissionSettings } from '../domain/settings';
import type { BanStore, Clock, CodeStore, Events, Hasher, KeyPairStore, Random } from '../ports';
import { parseHmacKey, parseInteger, parseKeyClaimTokens, parseRegionCode, type KeyClaimToken } from './config';
import { ConfigurationError, loadSecrets, requireEnv } from './env';
import { metrics } from './observability';

export interface SubmissionContext {
  readonly codes: CodeStore;
  readonly bans: BanStore;
  readonly keyPairs: KeyPairStore;
  readonly hasher: Hasher;
  readonly events: Events;
  readonly clock: Clock;
  readonly random: Random;
  readonly settings: SubmissionSettings;
}

export function buildSubmissionContext(parts: {
  db: DynamoDBDocumentClient;
  tables: SubmissionTables;
  hmacKey: Uint8Array;
  keyClaimTokens: readonly KeyClaimToken[];
  clock?: Clock;
  random?: Random;
  events?: Events;
  settings?: Partial<Omit<SubmissionSettings, 'keyClaimTokens'>>;
}): SubmissionContext {
  const settings: SubmissionSettings = { ...DEFAULT_SUBMISSION_SETTINGS, ...parts.settings, keyClaimTokens: parts.keyClaimTokens };
  return {
    codes: new DynamoCodeStore(parts.db, parts.tables),
    bans: new DynamoBanStore(parts.db, parts.tables, settings.banSeconds),
    keyPairs: new DynamoKeyPairStore(parts.db, parts.tables),
    hasher: new HmacHasher(parts.hmacKey),
    events: parts.events ?? new MetricEvents(metrics),
    clock: parts.clock ?? systemClock,
    random: parts.random ?? systemRandom,
    settings,
  };
}

/** What each handler needs from the environment: no handler waits on a secret it never uses. */
export type SubmissionRole = 'issue-code' | 'claim-key' | 'upload-keys';

/** Cold-start construction in AWS. */
export async function submissionContextFromEnv(role: SubmissionRole, env = process.env): Promise<SubmissionContext> {
  const names = requireEnv(role === 'upload-keys' ? [ENV.submissionTable, ENV.diagnosisKeysTable] : [ENV.submissionTable], env);
  const secrets = await loadSecrets(role === 'issue-code' ? ['KEY_CLAIM_TOKEN', 'SUBMISSION_HMAC_KEY'] : ['SUBMISSION_HMAC_KEY'], env);
  const problems: string[] = [];
  const tokens = role === 'issue-code' ? parseKeyClaimTokens((secrets as Record<string, string>).KEY_CLAIM_TOKEN) : ({ ok: true, value: [] } as const);
  const hmacKey = parseHmacKey(secrets.SUBMISSION_HMAC_KEY, 'SUBMISSION_HMAC_KEY');
  const region = parseRegionCode(env.REGION_CODE ?? DEFAULT_SUBMISSION_SETTINGS.regionCode);
  const quota = parseInteger('INITIAL_REMAINING_KEYS', env.INITIAL_REMAINING_KEYS ?? String(DEFAULT_SUBMISSION_SETTINGS.initialRemainingKeys), 1, 1000);
  for (const parsed of [tokens, hmacKey, region, quota]) if (!parsed.ok) problems.push(...parsed.problems);
  if (!tokens.ok || !hmacKey.ok || !region.ok || !quota.ok) throw new ConfigurationError(problems);
  return buildSubmissionContext({
    db: documentClient(),
    tables: { submission: names[ENV.submissionTable], diagnosisKeys: (names as Record<string, string>)[ENV.diagnosisKeysTable] ?? '' },
    hmacKey: hmacKey.value,
    keyClaimTokens: tokens.value,
    settings: { regionCode: region.value, initialRemainingKeys: quota.value },
  });
}
