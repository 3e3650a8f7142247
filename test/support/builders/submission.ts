/**
 * Builders for key-submission tests: settings with test tokens, a complete set of in-memory
 * dependencies (fixed clock, seeded randomness), and seeded codes and claimed key pairs. The
 * seeding helpers only use the CodeStore port, so they work with the DynamoDB stores too.
 */
import { createHash } from 'node:crypto';
import nacl from 'tweetnacl';
import { HmacHasher } from '../../../lambdas/adapters/hmac-hasher';
import { generateCode } from '../../../lambdas/domain/codes';
import { DEFAULT_SUBMISSION_SETTINGS, type SubmissionSettings } from '../../../lambdas/domain/settings';
import { SECONDS_PER_DAY, seconds, utcMidnightSeconds } from '../../../lambdas/domain/time';
import type { CodeStore, Hasher, Random } from '../../../lambdas/ports';
import { FixedClock, SeededRandom, utc } from './deterministic';
import { InMemorySubmission, RecordingEvents } from './in-memory-submission';

/** Two configured bearer tokens (20–63 characters) with their region labels. */
export const TOKENS = {
  federal: { token: 'federal-token-0123456789abcdef', region: '302' },
  ontario: { token: 'ontario-token-abcdefghij012345', region: 'ON' },
} as const;

/** A Thursday 10:20:00 UTC: aligned to a 10-minute interval, far from midnight. */
export const NOW = utc(2024, 3, 14, 10, 20);

export function submissionSettings(overrides: Partial<SubmissionSettings> = {}): SubmissionSettings {
  return { ...DEFAULT_SUBMISSION_SETTINGS, keyClaimTokens: [TOKENS.federal, TOKENS.ontario], ...overrides };
}

export const testHasher = (): Hasher => new HmacHasher(Buffer.alloc(32, 0x5a));

/** Everything the three submission use cases need, in memory; satisfies all their Deps types. */
export function fakeSubmission(options: { nowMs?: number; seed?: string | number; settings?: Partial<SubmissionSettings> } = {}) {
  const settings = submissionSettings(options.settings);
  const fake = new InMemorySubmission(settings.banSeconds);
  return {
    fake,
    codes: fake.codes,
    bans: fake.bans,
    keyPairs: fake.keyPairs,
    clock: new FixedClock(options.nowMs ?? NOW),
    random: new SeededRandom(options.seed ?? 'submission'),
    hasher: testHasher(),
    events: new RecordingEvents(),
    settings,
  };
}

export type FakeSubmission = ReturnType<typeof fakeSubmission>;

interface SeedParts {
  readonly codes: CodeStore;
  readonly hasher: Hasher;
  readonly random: Random;
  readonly settings: SubmissionSettings;
}

export interface SeedCodeOptions {
  readonly createdAtMs: number;
  readonly hashId?: string;
  readonly source?: string;
  readonly originator?: string;
  readonly remainingKeys?: number;
  /** Stored instead of the real private key (e.g. a corrupt one). */
  readonly storedPrivateKey?: Uint8Array;
}

const keyPairs = new Map<string, nacl.BoxKeyPair>();
/** Curve25519 key pair of a secret key, memoised: tweetnacl's scalar multiplication is slow. */
export function boxKeyPair(secretKey: Uint8Array): nacl.BoxKeyPair {
  const id = Buffer.from(secretKey).toString('hex');
  let pair = keyPairs.get(id);
  if (!pair) {
    pair = nacl.box.keyPair.fromSecretKey(secretKey);
    keyPairs.set(id, pair);
  }
  return pair;
}

/** Inserts an unclaimed code with a fresh server key pair, as /new-key-claim would. */
export async function seedCode(parts: SeedParts, options: SeedCodeOptions) {
  const server = boxKeyPair(parts.random.bytes(nacl.box.secretKeyLength));
  const code = generateCode(parts.random);
  const codeHash = parts.hasher.digest('code', code);
  const outcome = await parts.codes.insertCode(
    {
      codeHash,
      ...(options.hashId !== undefined ? { hashIdHash: parts.hasher.digest('hash-id', options.hashId) } : {}),
      keyPair: {
        serverPublicKey: server.publicKey,
        serverPrivateKey: options.storedPrivateKey ?? server.secretKey,
        remainingKeys: options.remainingKeys ?? parts.settings.initialRemainingKeys,
        originator: options.originator ?? 'o-0000000000000000',
        source: options.source ?? 'ON',
        createdAtMs: options.createdAtMs,
        expiresAt: seconds(options.createdAtMs) + parts.settings.codeLifetimeSeconds,
      },
    },
    options.createdAtMs,
  );
  if (outcome.kind !== 'inserted') throw new Error(`seedCode: insert answered ${outcome.kind}`);
  return { code, codeHash, server };
}

/** A code seeded and claimed by a fresh app key pair: ready for uploads. */
export async function seedClaimedKeyPair(parts: SeedParts, options: SeedCodeOptions & { claimedAtMs?: number }) {
  const seeded = await seedCode(parts, options);
  const app = boxKeyPair(parts.random.bytes(nacl.box.secretKeyLength));
  const claimedAtMs = options.claimedAtMs ?? options.createdAtMs;
  const pending = await parts.codes.findCode(seeded.codeHash, claimedAtMs);
  if (!pending) throw new Error('seedClaimedKeyPair: the seeded code is not live');
  const outcome = await parts.codes.claim(
    {
      codeHash: seeded.codeHash,
      code: pending,
      appPublicKey: app.publicKey,
      keyPairExpiresAt: utcMidnightSeconds(options.createdAtMs) + parts.settings.keyPairValidityDays * SECONDS_PER_DAY,
    },
    claimedAtMs,
  );
  if (outcome.kind !== 'claimed') throw new Error(`seedClaimedKeyPair: claim answered ${outcome.kind}`);
  return { ...seeded, app };
}

export type ClaimedKeyPair = Awaited<ReturnType<typeof seedClaimedKeyPair>>;

/** A 128-character lower-case hex hashId (a SHA-512 hex digest in the app's back office). */
export const hashIdOf = (label: string): string => createHash('sha512').update(label).digest('hex');
