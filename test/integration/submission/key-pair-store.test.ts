/**
 * DynamoKeyPairStore against DynamoDB Local: global dedupe of key data, the quota under
 * concurrency, all-or-nothing writes and the stored attributes.
 */
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { StorageError } from '../../../lambdas/domain/settings';
import { dayNumber, hourNumber, seconds } from '../../../lambdas/domain/time';
import type { StoredKey, StoreKeysOutcome } from '../../../lambdas/ports';
import { freshKeyData, localDynamo, localSubmission, rawItem, type LocalSubmission } from '../../support/builders/local-submission';
import { seedClaimedKeyPair, seedCode, type ClaimedKeyPair } from '../../support/builders/submission';

const aKey = (now: number, extra: Partial<StoredKey> = {}): StoredKey => ({
  keyData: freshKeyData(),
  rollingStartIntervalNumber: (dayNumber(now) - 1) * 144,
  rollingPeriod: 144,
  transmissionRiskLevel: 3,
  ...extra,
});
const keysOf = (now: number, n: number) => Array.from({ length: n }, () => aKey(now));

function storeInput(pair: ClaimedKeyPair, keys: readonly StoredKey[], now: number, originator = 'o-integration') {
  return {
    serverPublicKey: pair.server.publicKey,
    appPublicKey: pair.app.publicKey,
    keys,
    region: '302',
    submissionHour: hourNumber(now),
    originator,
    keysExpireAt: hourNumber(now) * 3600 + 15 * 86_400,
  };
}

/** Which of these key data are stored (live or not). */
async function storedKeyData(sub: LocalSubmission, keys: readonly StoredKey[]): Promise<number> {
  let found = 0;
  for (let i = 0; i < keys.length; i += 50) {
    const out = await sub.db.send(
      new BatchGetCommand({ RequestItems: { [sub.tables.diagnosisKeys]: { Keys: keys.slice(i, i + 50).map((k) => ({ keyData: k.keyData })), ConsistentRead: true } } }),
    );
    found += out.Responses?.[sub.tables.diagnosisKeys]?.length ?? 0;
  }
  return found;
}

const remaining = async (sub: LocalSubmission, pair: ClaimedKeyPair, now: number) => (await sub.keyPairs.get(pair.server.publicKey, now))?.remainingKeys;

afterAll(async () => (await localDynamo()).db.destroy());

describe('DynamoKeyPairStore.storeKeys', () => {
  test('key data is unique across key pairs: a key stored by one is a free duplicate for another', async () => {
    // Prepare
    const sub = await localSubmission();
    const now = Date.now();
    const [a, b] = [await seedClaimedKeyPair(sub, { createdAtMs: now }), await seedClaimedKeyPair(sub, { createdAtMs: now })];
    const shared = aKey(now);

    // Act
    const first = await sub.keyPairs.storeKeys(storeInput(a, [shared], now, 'o-first'), now);
    const second = await sub.keyPairs.storeKeys(storeInput(b, [shared, aKey(now)], now, 'o-second'), now);

    // Assess
    expect(first).toEqual({ kind: 'stored', inserted: 1, duplicates: 0, firstUpload: true });
    expect(second).toEqual({ kind: 'stored', inserted: 1, duplicates: 1, firstUpload: true });
    expect([await remaining(sub, a, now), await remaining(sub, b, now)]).toEqual([42, 42]);
    expect(await rawItem(sub.db, sub.tables.diagnosisKeys, { keyData: shared.keyData })).toMatchObject({ originator: 'o-first' });
  });

  test('an expired stored key no longer counts: it is stored (and charged) again', async () => {
    // Prepare
    const sub = await localSubmission();
    const now = Date.now();
    const [a, b] = [await seedClaimedKeyPair(sub, { createdAtMs: now }), await seedClaimedKeyPair(sub, { createdAtMs: now })];
    const key = aKey(now);
    await sub.keyPairs.storeKeys({ ...storeInput(a, [key], now, 'o-first'), keysExpireAt: seconds(now) + 60 }, now);

    // Act
    const later = now + 120_000;
    const outcome = await sub.keyPairs.storeKeys(storeInput(b, [key], later, 'o-second'), later);

    // Assess
    expect(outcome).toMatchObject({ kind: 'stored', inserted: 1, duplicates: 0 });
    expect(await rawItem(sub.db, sub.tables.diagnosisKeys, { keyData: key.keyData })).toMatchObject({ originator: 'o-second' });
  });

  test('10 concurrent uploads of 5 keys against quota 43 never overdraw it and never write partially', async () => {
    // Prepare
    const sub = await localSubmission();
    const now = Date.now();
    const pair = await seedClaimedKeyPair(sub, { createdAtMs: now, remainingKeys: 43 });
    const batches = Array.from({ length: 10 }, () => keysOf(now, 5));

    // Act
    const settled = await Promise.allSettled(batches.map((keys) => sub.keyPairs.storeKeys(storeInput(pair, keys, now), now)));

    // Assess
    const rejected = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason] : []));
    for (const reason of rejected) expect(reason).toBeInstanceOf(StorageError);
    const outcomes = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    for (const outcome of outcomes) expect([{ kind: 'stored', inserted: 5 }, { kind: 'over-quota' }]).toContainEqual(expect.objectContaining(pick(outcome)));
    const inserted = outcomes.reduce((sum, o) => sum + (o.kind === 'stored' ? o.inserted : 0), 0);
    expect(inserted).toBeLessThanOrEqual(43);
    expect(await remaining(sub, pair, now)).toBe(43 - inserted);
    expect(await storedKeyData(sub, batches.flat())).toBe(inserted);
    // An over-quota answer saw fewer than 5 keys left, and the quota only shrinks.
    const overQuota = outcomes.filter((o) => o.kind === 'over-quota').length;
    expect({ overQuotaSawTooFew: overQuota === 0 || 43 - inserted < 5, anyStored: inserted > 0 }).toEqual({ overQuotaSawTooFew: true, anyStored: true });
  });

  test('over quota: nothing is written and nothing charged', async () => {
    // Prepare
    const sub = await localSubmission();
    const now = Date.now();
    const pair = await seedClaimedKeyPair(sub, { createdAtMs: now, remainingKeys: 3 });
    const keys = keysOf(now, 5);

    // Act
    const outcome = await sub.keyPairs.storeKeys(storeInput(pair, keys, now), now);

    // Assess
    expect(outcome).toEqual({ kind: 'over-quota' });
    expect(await storedKeyData(sub, keys)).toBe(0);
    expect(await remaining(sub, pair, now)).toBe(3);
  });

  test('duplicates do not count against the quota: 2 new + 3 known fit a remaining quota of 2', async () => {
    // Prepare
    const sub = await localSubmission();
    const now = Date.now();
    const pair = await seedClaimedKeyPair(sub, { createdAtMs: now, remainingKeys: 5 });
    const known = keysOf(now, 3);
    await sub.keyPairs.storeKeys(storeInput(pair, known, now), now);

    // Act
    const outcome = await sub.keyPairs.storeKeys(storeInput(pair, [...known, ...keysOf(now, 2)], now), now);

    // Assess
    expect(outcome).toEqual({ kind: 'stored', inserted: 2, duplicates: 3, firstUpload: false });
    expect(await remaining(sub, pair, now)).toBe(0);
  });

  test('firstUpload is true only while the quota is untouched; an exhausted quota answers quota-exhausted', async () => {
    // Prepare
    const sub = await localSubmission();
    const now = Date.now();
    const pair = await seedClaimedKeyPair(sub, { createdAtMs: now, remainingKeys: 3 });

    // Act
    const first = await sub.keyPairs.storeKeys(storeInput(pair, keysOf(now, 2), now), now);
    const second = await sub.keyPairs.storeKeys(storeInput(pair, keysOf(now, 1), now), now);
    const exhausted = await sub.keyPairs.storeKeys(storeInput(pair, keysOf(now, 1), now), now);
    const exhaustedEmpty = await sub.keyPairs.storeKeys(storeInput(pair, [], now), now);

    // Assess
    expect(first).toEqual({ kind: 'stored', inserted: 2, duplicates: 0, firstUpload: true });
    expect(second).toEqual({ kind: 'stored', inserted: 1, duplicates: 0, firstUpload: false });
    expect(exhausted).toEqual({ kind: 'quota-exhausted' });
    expect(exhaustedEmpty).toEqual({ kind: 'quota-exhausted' });
  });

  test('stored items: region, regionDay, submission hour, TTL; optional fields absent when not given', async () => {
    // Prepare
    const sub = await localSubmission();
    const now = Date.now();
    const pair = await seedClaimedKeyPair(sub, { createdAtMs: now });
    const plainKey = aKey(now, { rollingPeriod: 72, transmissionRiskLevel: 0 });
    const fullKey = aKey(now, { reportType: 2, daysSinceOnsetOfSymptoms: 0 });

    // Act
    await sub.keyPairs.storeKeys(storeInput(pair, [plainKey, fullKey], now, 'o-attrs'), now);

    // Assess
    const hour = hourNumber(now);
    const expected = (key: StoredKey) => ({
      keyData: Buffer.from(key.keyData),
      region: '302',
      regionDay: `302#${Math.floor(hour / 24)}`,
      submissionHour: hour,
      rollingStartIntervalNumber: key.rollingStartIntervalNumber,
      rollingPeriod: key.rollingPeriod,
      transmissionRiskLevel: key.transmissionRiskLevel,
      originator: 'o-attrs',
      expiresAt: hour * 3600 + 15 * 86_400,
    });
    const plainItem = await rawItem(sub.db, sub.tables.diagnosisKeys, { keyData: plainKey.keyData });
    const fullItem = await rawItem(sub.db, sub.tables.diagnosisKeys, { keyData: fullKey.keyData });
    expect({ ...plainItem, keyData: Buffer.from(plainItem!.keyData as Uint8Array) }).toEqual(expected(plainKey));
    expect({ ...fullItem, keyData: Buffer.from(fullItem!.keyData as Uint8Array) }).toEqual({ ...expected(fullKey), reportType: 2, daysSinceOnsetOfSymptoms: 0 });
  });

  test.each([
    ['another app key', 'other-app'],
    ['an unclaimed key pair', 'unclaimed'],
    ['an expired key pair', 'expired'],
  ])('%s → key-pair-invalid, nothing written', async (_why, variant) => {
    // Prepare
    const sub = await localSubmission();
    const now = Date.now();
    const pair = await seedClaimedKeyPair(sub, { createdAtMs: now });
    const keys = keysOf(now, 2);
    let input = storeInput(pair, keys, now);
    let at = now;
    if (variant === 'other-app') input = { ...input, appPublicKey: new Uint8Array(32).fill(1) };
    if (variant === 'unclaimed') {
      const unclaimed = await seedCode(sub, { createdAtMs: now });
      input = { ...input, serverPublicKey: unclaimed.server.publicKey };
    }
    if (variant === 'expired') at = (await sub.keyPairs.get(pair.server.publicKey, now))!.expiresAt * 1000;

    // Act
    const outcome = await sub.keyPairs.storeKeys(input, at);

    // Assess
    expect(outcome).toEqual({ kind: 'key-pair-invalid' });
    expect(await storedKeyData(sub, keys)).toBe(0);
  });
});

function pick(outcome: StoreKeysOutcome) {
  return outcome.kind === 'stored' ? { kind: outcome.kind, inserted: outcome.inserted } : { kind: outcome.kind };
}
