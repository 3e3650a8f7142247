import { isWellFormedCode } from '../../../lambdas/domain/codes';
import { authenticate, issueCode, MAX_ATTEMPTS, originatorId } from '../../../lambdas/domain/issue-code';
import { StorageError } from '../../../lambdas/domain/settings';
import type { CodeStore, InsertCodeOutcome, NewCode } from '../../../lambdas/ports';
import { SeededRandom } from '../../support/builders/deterministic';
import { fakeKeys } from '../../support/builders/in-memory-submission';
import { fakeSubmission, hashIdOf, NOW, seedClaimedKeyPair, submissionSettings, TOKENS } from '../../support/builders/submission';

const bearer = (token: string) => `Bearer ${token}`;

/** A CodeStore answering scripted outcomes first, then the in-memory store; records every attempt. */
function scriptedCodes(inner: CodeStore, script: InsertCodeOutcome[]) {
  const attempts: NewCode[] = [];
  const codes: CodeStore = {
    ...inner,
    insertCode: async (code, nowMs) => {
      attempts.push(code);
      const next = script.shift();
      return next ?? inner.insertCode(code, nowMs);
    },
  };
  return { codes, attempts };
}

describe('authenticate', () => {
  const settings = submissionSettings();

  test('"Bearer" + one space + a configured token finds that token and its region', () => {
    // Act
    const federal = authenticate(bearer(TOKENS.federal.token), settings);
    const ontario = authenticate(bearer(TOKENS.ontario.token), settings);

    // Assess
    expect(federal).toEqual(TOKENS.federal);
    expect(ontario).toEqual(TOKENS.ontario);
  });

  const token = TOKENS.ontario.token;
  test.each([
    ['missing header', undefined],
    ['empty header', ''],
    ['scheme only', 'Bearer'],
    ['scheme and a space, no token', 'Bearer '],
    ['lower-case scheme', `bearer ${token}`],
    ['upper-case scheme', `BEARER ${token}`],
    ['other scheme', `Basic ${token}`],
    ['two spaces', `Bearer  ${token}`],
    ['leading space', ` Bearer ${token}`],
    ['trailing space', `Bearer ${token} `],
    ['tab instead of space', `Bearer\t${token}`],
    ['no separator', `Bearer${token}`],
    ['token alone', token],
    ['token prefix', `Bearer ${token.slice(0, -1)}`],
    ['token with a suffix', `Bearer ${token}x`],
    ['unknown token', 'Bearer not-a-configured-token-at-all'],
  ])('%s → unauthorized', (_why, header) => {
    // Act
    const issuer = authenticate(header, settings);

    // Assess
    expect(issuer).toBeUndefined();
  });
});

describe('originatorId', () => {
  test('is an opaque, stable id per token that does not contain the token', () => {
    // Act
    const a = originatorId(TOKENS.federal.token);
    const b = originatorId(TOKENS.ontario.token);

    // Assess
    expect(a).toMatch(/^o-[0-9a-f]{16}$/);
    expect(a).toBe(originatorId(TOKENS.federal.token));
    expect(a).not.toBe(b);
    expect(a).not.toContain(TOKENS.federal.token);
    expect(a).not.toContain(TOKENS.federal.token.slice(0, 8));
  });
});

describe('issueCode', () => {
  test('an unauthorized request touches neither the store, the randomness nor the events', async () => {
    // Prepare
    const sub = fakeSubmission();

    // Act
    const result = await issueCode(sub, { authorization: `Basic ${TOKENS.federal.token}` });

    // Assess
    expect(result).toEqual({ kind: 'unauthorized' });
    expect(sub.fake.calls).toEqual([]);
    expect(sub.random.consumed).toBe(0);
    expect(sub.events.recorded).toEqual([]);
  });

  test('issues a well-formed code whose key pair is stored under the HMAC of the code', async () => {
    // Prepare
    const sub = fakeSubmission({ settings: { initialRemainingKeys: 10 } });

    // Act
    const result = await issueCode(sub, { authorization: bearer(TOKENS.ontario.token) });

    // Assess
    expect(result).toEqual({ kind: 'issued', code: expect.any(String), regenerated: false });
    const code = (result as { code: string }).code;
    expect(isWellFormedCode(code)).toBe(true);
    const pending = await sub.codes.findCode(sub.hasher.digest('code', code), NOW);
    expect(pending).toEqual({ serverPublicKey: expect.any(Uint8Array), source: 'ON', createdAtMs: NOW, expiresAt: NOW / 1000 + 86_400 });
    const keyPair = await sub.keyPairs.get(pending!.serverPublicKey, NOW);
    expect(keyPair).toEqual({
      serverPublicKey: pending!.serverPublicKey,
      serverPrivateKey: expect.any(Uint8Array),
      remainingKeys: 10,
      originator: originatorId(TOKENS.ontario.token),
      source: 'ON',
      createdAtMs: NOW,
      expiresAt: NOW / 1000 + 86_400,
    });
    expect(keyPair!.serverPrivateKey).toHaveLength(32);
    expect([...sub.fake.table.keys()].some((pk) => pk.includes(code))).toBe(false);
  });

  test('records OTKGenerated with the token region label and stores nothing containing the token', async () => {
    // Prepare
    const sub = fakeSubmission();

    // Act
    await issueCode(sub, { authorization: bearer(TOKENS.ontario.token) });

    // Assess
    expect(sub.events.recorded).toEqual([{ name: 'OTKGenerated', count: 1, source: 'ON' }]);
    const stored = JSON.stringify([...sub.fake.table.entries()], (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v));
    expect(stored).not.toContain(TOKENS.ontario.token);
    expect(JSON.stringify(sub.events.recorded)).not.toContain(TOKENS.ontario.token);
  });

  test('the same seed gives the same code and key pair', async () => {
    // Prepare
    const first = fakeSubmission({ seed: 'same' });
    const second = fakeSubmission({ seed: 'same' });

    // Act
    const a = await issueCode(first, { authorization: bearer(TOKENS.federal.token) });
    const b = await issueCode(second, { authorization: bearer(TOKENS.federal.token) });

    // Assess
    expect(a).toEqual(b);
    expect([...first.fake.table.keys()]).toEqual([...second.fake.table.keys()]);
  });

  test('a code that collides with a live code is replaced by a new one on the next attempt', async () => {
    // Prepare: learn the first code of seed "collide", then issue it elsewhere first
    const probe = fakeSubmission({ seed: 'collide' });
    const first = (await issueCode(probe, { authorization: bearer(TOKENS.federal.token) })) as { code: string };
    const sub = fakeSubmission({ seed: 'collide' });
    const spy = scriptedCodes(sub.codes, []);
    const live = await onlyNewCode(probe);
    await sub.codes.insertCode({ ...live, keyPair: { ...live.keyPair, serverPublicKey: new Uint8Array(32).fill(9) } }, NOW);

    // Act
    const result = await issueCode({ ...sub, codes: spy.codes }, { authorization: bearer(TOKENS.federal.token) });

    // Assess
    expect(result).toEqual({ kind: 'issued', code: expect.any(String), regenerated: false });
    expect((result as { code: string }).code).not.toBe(first.code);
    expect(spy.attempts).toHaveLength(2);
    expect(spy.attempts[0].codeHash).toBe(sub.hasher.digest('code', first.code));
    expect(spy.attempts[1].keyPair.serverPublicKey).toEqual(spy.attempts[0].keyPair.serverPublicKey);
  });

  test('a code equal to an expired code is inserted at once', async () => {
    // Prepare
    const probe = fakeSubmission({ seed: 'expired' });
    const first = (await issueCode(probe, { authorization: bearer(TOKENS.federal.token) })) as { code: string };
    const sub = fakeSubmission({ seed: 'expired', nowMs: NOW + 86_400_000 });
    const old = await onlyNewCode(probe);
    await sub.codes.insertCode({ ...old, keyPair: { ...old.keyPair, serverPublicKey: new Uint8Array(32).fill(9) } }, NOW);

    // Act
    const result = await issueCode(sub, { authorization: bearer(TOKENS.federal.token) });

    // Assess
    expect(result).toEqual({ kind: 'issued', code: first.code, regenerated: false });
  });

  test(`retries collisions: ${MAX_ATTEMPTS - 1} collisions still issue a code, each attempt with a new code`, async () => {
    // Prepare
    const sub = fakeSubmission();
    const spy = scriptedCodes(sub.codes, Array.from({ length: MAX_ATTEMPTS - 1 }, () => ({ kind: 'retry' }) as const));

    // Act
    const result = await issueCode({ ...sub, codes: spy.codes }, { authorization: bearer(TOKENS.federal.token) });

    // Assess
    expect(result).toMatchObject({ kind: 'issued', regenerated: false });
    expect(spy.attempts).toHaveLength(MAX_ATTEMPTS);
    expect(new Set(spy.attempts.map((a) => a.codeHash)).size).toBe(MAX_ATTEMPTS);
    expect(spy.attempts[MAX_ATTEMPTS - 1].codeHash).toBe(sub.hasher.digest('code', (result as { code: string }).code));
  });

  test('5 collisions in a row exhaust the attempts: no code, no event (deviation 5)', async () => {
    // Prepare
    const sub = fakeSubmission();
    const spy = scriptedCodes(sub.codes, Array.from({ length: MAX_ATTEMPTS }, () => ({ kind: 'retry' }) as const));

    // Act
    const result = await issueCode({ ...sub, codes: spy.codes }, { authorization: bearer(TOKENS.federal.token) });

    // Assess
    expect(MAX_ATTEMPTS).toBe(5);
    expect(result).toEqual({ kind: 'exhausted' });
    expect(spy.attempts).toHaveLength(5);
    expect(sub.events.recorded).toEqual([]);
  });

  test('a storage failure rejects with StorageError (the handler answers 500)', async () => {
    // Prepare
    const sub = fakeSubmission();
    sub.fake.failWith('codes.insertCode');

    // Act / Assess
    await expect(issueCode(sub, { authorization: bearer(TOKENS.federal.token) })).rejects.toBeInstanceOf(StorageError);
    expect(sub.events.recorded).toEqual([]);
  });

  describe('with a hashId', () => {
    const hashId = hashIdOf('patient-1');

    test('the first request issues a code bound to the HMAC of the hashId, never the hashId', async () => {
      // Prepare
      const sub = fakeSubmission();

      // Act
      const result = await issueCode(sub, { authorization: bearer(TOKENS.federal.token), hashId });

      // Assess
      expect(result).toMatchObject({ kind: 'issued', regenerated: false });
      const hashIdHash = sub.hasher.digest('hash-id', hashId);
      expect(sub.fake.table.get(fakeKeys.hashId(hashIdHash))).toMatchObject({
        codeHash: sub.hasher.digest('code', (result as { code: string }).code),
        claimed: false,
      });
      expect(JSON.stringify([...sub.fake.table.entries()])).not.toContain(hashId);
      expect(sub.events.recorded).toEqual([{ name: 'OTKGenerated', count: 1, source: '302' }]);
    });

    test('a second request regenerates: the old code and its key pair are gone, the new code is live', async () => {
      // Prepare
      const sub = fakeSubmission();
      const first = (await issueCode(sub, { authorization: bearer(TOKENS.federal.token), hashId })) as { code: string };
      const old = await sub.codes.findCode(sub.hasher.digest('code', first.code), NOW);

      // Act
      const second = await issueCode(sub, { authorization: bearer(TOKENS.ontario.token), hashId });

      // Assess
      expect(second).toMatchObject({ kind: 'issued', regenerated: true });
      const code = (second as { code: string }).code;
      expect(code).not.toBe(first.code);
      await expect(sub.codes.findCode(sub.hasher.digest('code', first.code), NOW)).resolves.toBeUndefined();
      await expect(sub.keyPairs.get(old!.serverPublicKey, NOW)).resolves.toBeUndefined();
      await expect(sub.codes.findCode(sub.hasher.digest('code', code), NOW)).resolves.toMatchObject({ source: 'ON' });
      expect(sub.events.recorded.map((e) => [e.name, e.source])).toEqual([
        ['OTKGenerated', '302'],
        ['OTKRegenerated', 'ON'],
      ]);
    });

    test('once the code of a hashId is claimed, the hashId is forbidden and nothing changes', async () => {
      // Prepare
      const sub = fakeSubmission();
      const claimed = await seedClaimedKeyPair(sub, { createdAtMs: NOW, hashId });
      const before = JSON.stringify([...sub.fake.table.entries()]);

      // Act
      const result = await issueCode(sub, { authorization: bearer(TOKENS.federal.token), hashId });

      // Assess
      expect(result).toEqual({ kind: 'forbidden' });
      expect(JSON.stringify([...sub.fake.table.entries()])).toBe(before);
      await expect(sub.keyPairs.get(claimed.server.publicKey, NOW)).resolves.toMatchObject({ appPublicKey: claimed.app.publicKey });
      expect(sub.events.recorded).toEqual([]);
    });

    test('each regeneration replaces the code the store reported, and consumes one of the 5 attempts', async () => {
      // Prepare
      const sub = fakeSubmission();
      const current = (n: number) => ({ codeHash: `previous-${n}`, serverPublicKey: new Uint8Array(32).fill(n) });
      const script = [1, 2, 3, 4].map((n) => ({ kind: 'hash-id-unclaimed', current: current(n) }) as const);
      const spy = scriptedCodes(sub.codes, [...script]);

      // Act
      const result = await issueCode({ ...sub, codes: spy.codes }, { authorization: bearer(TOKENS.federal.token), hashId });

      // Assess
      expect(result).toMatchObject({ kind: 'issued', regenerated: true });
      expect(spy.attempts.map((a) => a.replacing)).toEqual([undefined, current(1), current(2), current(3), current(4)]);
      expect(sub.events.recorded).toEqual([{ name: 'OTKRegenerated', count: 1, source: '302' }]);
    });

    test('5 regenerations in a row exhaust the attempts', async () => {
      // Prepare
      const sub = fakeSubmission();
      const script = [1, 2, 3, 4, 5].map((n) => ({ kind: 'hash-id-unclaimed', current: { codeHash: `c${n}`, serverPublicKey: new Uint8Array(32) } }) as const);
      const spy = scriptedCodes(sub.codes, [...script]);

      // Act
      const result = await issueCode({ ...sub, codes: spy.codes }, { authorization: bearer(TOKENS.federal.token), hashId });

      // Assess
      expect(result).toEqual({ kind: 'exhausted' });
      expect(spy.attempts).toHaveLength(5);
    });
  });
});

/** The NewCode the probe store received (its only code), rebuilt from its items. */
async function onlyNewCode(probe: ReturnType<typeof fakeSubmission>): Promise<NewCode> {
  const [pk, item] = [...probe.fake.table.entries()].find(([key]) => key.startsWith('code#'))!;
  const keyPair = await probe.keyPairs.get(item.serverPublicKey as Uint8Array, NOW);
  return { codeHash: pk.slice('code#'.length), keyPair: keyPair! };
}

test('SeededRandom is a deterministic stream (guards the determinism these tests rely on)', () => {
  // Act
  const a = new SeededRandom('x').bytes(40);
  const b = new SeededRandom('x').bytes(40);

  // Assess
  expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  expect(Buffer.from(a).equals(Buffer.from(new SeededRandom('y').bytes(40)))).toBe(false);
});
