/**
 * DynamoCodeStore against DynamoDB Local: codes are claimable once (also under concurrency), app
 * keys bind to one key pair, expired items are ignored, and the hashId regeneration rules hold.
 */
import nacl from 'tweetnacl';
import { randomBytes, randomUUID } from 'node:crypto';
import { issueCode } from '../../../lambdas/domain/issue-code';
import { SECONDS_PER_DAY, seconds, utcMidnightSeconds } from '../../../lambdas/domain/time';
import type { InsertCodeOutcome, NewCode, PendingCode } from '../../../lambdas/ports';
import { FixedClock } from '../../support/builders/deterministic';
import { RecordingEvents } from '../../support/builders/in-memory-submission';
import { localDynamo, localSubmission, rawItem, type LocalSubmission } from '../../support/builders/local-submission';
import { hashIdOf, seedClaimedKeyPair, seedCode, TOKENS } from '../../support/builders/submission';

const DAY_MS = 86_400_000;
const appKey = () => new Uint8Array(randomBytes(32));
const claimOf = (sub: LocalSubmission, codeHash: string, code: PendingCode, appPublicKey: Uint8Array) => ({
  codeHash,
  code,
  appPublicKey,
  keyPairExpiresAt: utcMidnightSeconds(code.createdAtMs) + sub.settings.keyPairValidityDays * SECONDS_PER_DAY,
});

/** A NewCode for a fresh random code hash and server key pair. */
function newCode(sub: LocalSubmission, nowMs: number, extra: Partial<NewCode> = {}): NewCode {
  const server = nacl.box.keyPair();
  return {
    codeHash: sub.hasher.digest('code', randomUUID()),
    keyPair: {
      serverPublicKey: server.publicKey,
      serverPrivateKey: server.secretKey,
      remainingKeys: 43,
      originator: 'o-integration',
      source: 'ON',
      createdAtMs: nowMs,
      expiresAt: seconds(nowMs) + sub.settings.codeLifetimeSeconds,
    },
    ...extra,
  };
}

afterAll(async () => (await localDynamo()).db.destroy());

describe('insertCode → findCode → claim', () => {
  test('a code is found, claimed once, and its key pair bound to the app key', async () => {
    // Prepare
    const sub = await localSubmission();
    const now = Date.now();
    const seeded = await seedCode(sub, { createdAtMs: now, source: 'ON' });
    const app = appKey();

    // Act
    const pending = await sub.codes.findCode(seeded.codeHash, now);
    const first = await sub.codes.claim(claimOf(sub, seeded.codeHash, pending!, app), now);
    const second = await sub.codes.claim(claimOf(sub, seeded.codeHash, pending!, appKey()), now);

    // Assess
    expect(pending).toEqual({ serverPublicKey: seeded.server.publicKey, source: 'ON', createdAtMs: now, expiresAt: seconds(now) + 86_400 });
    expect(first).toEqual({ kind: 'claimed', serverPublicKey: seeded.server.publicKey, source: 'ON' });
    expect(second).toEqual({ kind: 'code-invalid' });
    await expect(sub.codes.findCode(seeded.codeHash, now)).resolves.toBeUndefined();
    const keyPair = await sub.keyPairs.get(seeded.server.publicKey, now);
    expect(keyPair).toMatchObject({ appPublicKey: app, remainingKeys: 43, expiresAt: utcMidnightSeconds(now) + 15 * 86_400 });
    await expect(sub.codes.isAppKeyInUse(app, now)).resolves.toBe(true);
  });

  test('20 concurrent claims of one code with distinct app keys: exactly one is claimed', async () => {
    // Prepare
    const sub = await localSubmission();
    const now = Date.now();
    const seeded = await seedCode(sub, { createdAtMs: now });
    const pending = (await sub.codes.findCode(seeded.codeHash, now))!;
    const apps = Array.from({ length: 20 }, appKey);

    // Act
    const settled = await Promise.allSettled(apps.map((app) => sub.codes.claim(claimOf(sub, seeded.codeHash, pending, app), now)));

    // Assess
    const rejected = settled.filter((s) => s.status === 'rejected').map((s) => String((s as PromiseRejectedResult).reason));
    expect(rejected).toEqual([]);
    const kinds = settled.map((s) => (s as PromiseFulfilledResult<{ kind: string }>).value.kind);
    expect(kinds.filter((k) => k === 'claimed')).toHaveLength(1);
    expect(kinds.filter((k) => k !== 'claimed')).toEqual(new Array(19).fill('code-invalid'));
    const winner = apps[kinds.indexOf('claimed')];
    await expect(sub.keyPairs.get(seeded.server.publicKey, now)).resolves.toMatchObject({ appPublicKey: winner });
    const bound = await Promise.all(apps.map((app) => sub.codes.isAppKeyInUse(app, now)));
    expect(bound.filter(Boolean)).toHaveLength(1);
  });

  test('an app key can be bound to only one key pair; the second code stays claimable', async () => {
    // Prepare
    const sub = await localSubmission();
    const now = Date.now();
    const first = await seedClaimedKeyPair(sub, { createdAtMs: now });
    const second = await seedCode(sub, { createdAtMs: now });
    const pending = (await sub.codes.findCode(second.codeHash, now))!;

    // Act
    const outcome = await sub.codes.claim(claimOf(sub, second.codeHash, pending, first.app.publicKey), now);

    // Assess
    expect(outcome).toEqual({ kind: 'app-key-in-use' });
    await expect(sub.codes.findCode(second.codeHash, now)).resolves.toBeDefined();
    await expect(sub.keyPairs.get(second.server.publicKey, now)).resolves.not.toHaveProperty('appPublicKey');
  });

  test('the app key of an expired key pair is free again', async () => {
    // Prepare
    const sub = await localSubmission();
    const now = Date.now();
    const first = await seedClaimedKeyPair(sub, { createdAtMs: now });
    const later = (utcMidnightSeconds(now) + 15 * 86_400) * 1000;
    const second = await seedCode(sub, { createdAtMs: later });
    const pending = (await sub.codes.findCode(second.codeHash, later))!;

    // Act
    const inUse = await sub.codes.isAppKeyInUse(first.app.publicKey, later);
    const outcome = await sub.codes.claim(claimOf(sub, second.codeHash, pending, first.app.publicKey), later);

    // Assess
    expect(inUse).toBe(false);
    expect(outcome.kind).toBe('claimed');
  });
});

describe('expired items are ignored on read', () => {
  test('a code is found until 24 h after its creation, then neither found nor claimable', async () => {
    // Prepare
    const sub = await localSubmission();
    const now = Date.now();
    const seeded = await seedCode(sub, { createdAtMs: now });
    const pending = (await sub.codes.findCode(seeded.codeHash, now))!;
    const expiry = (seconds(now) + 86_400) * 1000;

    // Act
    const lastSecond = await sub.codes.findCode(seeded.codeHash, expiry - 1000);
    const atExpiry = await sub.codes.findCode(seeded.codeHash, expiry);
    const claimAtExpiry = await sub.codes.claim(claimOf(sub, seeded.codeHash, pending, appKey()), expiry);

    // Assess
    expect(lastSecond).toBeDefined();
    expect(atExpiry).toBeUndefined();
    expect(claimAtExpiry).toEqual({ kind: 'code-invalid' });
    await expect(sub.keyPairs.get(seeded.server.publicKey, expiry)).resolves.toBeUndefined();
    expect(await rawItem(sub.db, sub.tables.submission, { pk: `code#${seeded.codeHash}` })).toBeDefined();
  });

  test('the hash of an expired code can be issued again', async () => {
    // Prepare
    const sub = await localSubmission();
    const now = Date.now();
    const first = newCode(sub, now);
    await sub.codes.insertCode(first, now);
    const later = now + DAY_MS;

    // Act
    const live = await sub.codes.insertCode(newCode(sub, now, { codeHash: first.codeHash }), now);
    const again = await sub.codes.insertCode(newCode(sub, later, { codeHash: first.codeHash }), later);

    // Assess
    expect(live).toEqual({ kind: 'retry' });
    expect(again).toEqual({ kind: 'inserted' });
  });
});

describe('hashId', () => {
  test('regenerates while unclaimed, then forbids once claimed', async () => {
    // Prepare
    const sub = await localSubmission();
    const now = Date.now();
    const hashIdHash = sub.hasher.digest('hash-id', hashIdOf(randomUUID()));
    const first = newCode(sub, now, { hashIdHash });
    await sub.codes.insertCode(first, now);

    // Act
    const clash = await sub.codes.insertCode(newCode(sub, now, { hashIdHash }), now);
    const current = (clash as Extract<InsertCodeOutcome, { kind: 'hash-id-unclaimed' }>).current;
    const second = newCode(sub, now, { hashIdHash, replacing: current });
    const regenerated = await sub.codes.insertCode(second, now);
    const pending = (await sub.codes.findCode(second.codeHash, now))!;
    const claimed = await sub.codes.claim(claimOf(sub, second.codeHash, pending, appKey()), now);
    const afterClaim = await sub.codes.insertCode(newCode(sub, now, { hashIdHash }), now);
    const replacingClaimed = await sub.codes.insertCode(newCode(sub, now, { hashIdHash, replacing: { codeHash: second.codeHash, serverPublicKey: second.keyPair.serverPublicKey } }), now);

    // Assess
    expect(clash).toEqual({ kind: 'hash-id-unclaimed', current: { codeHash: first.codeHash, serverPublicKey: first.keyPair.serverPublicKey } });
    expect(regenerated).toEqual({ kind: 'inserted' });
    expect(pending.hashIdHash).toBe(hashIdHash);
    await expect(sub.codes.findCode(first.codeHash, now)).resolves.toBeUndefined();
    await expect(sub.keyPairs.get(first.keyPair.serverPublicKey, now)).resolves.toBeUndefined();
    expect(claimed.kind).toBe('claimed');
    expect(afterClaim).toEqual({ kind: 'hash-id-claimed' });
    expect(replacingClaimed).toEqual({ kind: 'hash-id-claimed' });
    await expect(sub.keyPairs.get(second.keyPair.serverPublicKey, now)).resolves.toHaveProperty('appPublicKey');
  });

  test('a replaced code can no longer be claimed', async () => {
    // Prepare
    const sub = await localSubmission();
    const now = Date.now();
    const hashIdHash = sub.hasher.digest('hash-id', hashIdOf(randomUUID()));
    const first = newCode(sub, now, { hashIdHash });
    await sub.codes.insertCode(first, now);
    const stale = (await sub.codes.findCode(first.codeHash, now))!;
    await sub.codes.insertCode(newCode(sub, now, { hashIdHash, replacing: { codeHash: first.codeHash, serverPublicKey: first.keyPair.serverPublicKey } }), now);

    // Act
    const outcome = await sub.codes.claim(claimOf(sub, first.codeHash, stale, appKey()), now);

    // Assess
    expect(outcome).toEqual({ kind: 'code-invalid' });
  });

  test('two concurrent regenerations of one code: exactly one wins, one live code remains', async () => {
    // Prepare
    const sub = await localSubmission();
    const now = Date.now();
    const hashIdHash = sub.hasher.digest('hash-id', hashIdOf(randomUUID()));
    const first = newCode(sub, now, { hashIdHash });
    await sub.codes.insertCode(first, now);
    const replacing = { codeHash: first.codeHash, serverPublicKey: first.keyPair.serverPublicKey };
    const contenders = [newCode(sub, now, { hashIdHash, replacing }), newCode(sub, now, { hashIdHash, replacing })];

    // Act
    const outcomes = await Promise.all(contenders.map((c) => sub.codes.insertCode(c, now)));

    // Assess
    expect(outcomes.filter((o) => o.kind === 'inserted')).toHaveLength(1);
    const winner = contenders[outcomes.findIndex((o) => o.kind === 'inserted')];
    const loser = outcomes.find((o) => o.kind !== 'inserted')!;
    expect(['retry', 'hash-id-unclaimed']).toContain(loser.kind);
    if (loser.kind === 'hash-id-unclaimed') expect(loser.current.codeHash).toBe(winner.codeHash);
    const live = await Promise.all([first, ...contenders].map((c) => sub.codes.findCode(c.codeHash, now)));
    expect(live.filter(Boolean)).toHaveLength(1);
    expect(await rawItem(sub.db, sub.tables.submission, { pk: `hashid#${hashIdHash}` })).toMatchObject({ codeHash: winner.codeHash, claimed: false });
  });

  test('two concurrent /new-key-claim requests for one hashId leave exactly one live code', async () => {
    // Prepare
    const sub = await localSubmission({ keyClaimTokens: [TOKENS.ontario] });
    const now = Date.now();
    const deps = { ...sub, clock: new FixedClock(now), events: new RecordingEvents() };
    const hashId = hashIdOf(randomUUID());
    const original = await issueCode(deps, { authorization: `Bearer ${TOKENS.ontario.token}`, hashId });

    // Act
    const results = await Promise.all([1, 2].map(() => issueCode(deps, { authorization: `Bearer ${TOKENS.ontario.token}`, hashId })));

    // Assess
    expect(results.map((r) => r.kind)).toEqual(['issued', 'issued']);
    const codes = [original, ...results].map((r) => (r as { code: string }).code);
    const live = await Promise.all(codes.map((c) => sub.codes.findCode(sub.hasher.digest('code', c), now)));
    expect(live[0]).toBeUndefined();
    expect(live.filter(Boolean)).toHaveLength(1);
    const hashIdItem = await rawItem(sub.db, sub.tables.submission, { pk: `hashid#${sub.hasher.digest('hash-id', hashId)}` });
    expect(live[codes.findIndex((c) => sub.hasher.digest('code', c) === hashIdItem?.codeHash)]).toBeDefined();
  });
});
