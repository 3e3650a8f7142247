import { banState, claimKey, type ClaimRequest } from '../../../lambdas/domain/claim-key';
import type { BanStore, ClaimOutcome } from '../../../lambdas/ports';
import { utc } from '../../support/builders/deterministic';
import { fakeKeys, type FakeMethod } from '../../support/builders/in-memory-submission';
import { fakeSubmission, NOW, seedClaimedKeyPair, seedCode, submissionSettings, type FakeSubmission } from '../../support/builders/submission';

const IP = '203.0.113.9';
const OTHER_IP = '203.0.113.10';
const HOUR_MS = 3_600_000;
const appKey = (fill: number, length = 32) => new Uint8Array(length).fill(fill);
const claim = (oneTimeCode: string, appPublicKey: Uint8Array = appKey(1)): ClaimRequest => ({ kind: 'claim', oneTimeCode, appPublicKey });
const MALFORMED: ClaimRequest = { kind: 'malformed' };
/** Well formed, but never issued. */
const UNKNOWN_CODE = 'QQQ777QQQQ';

async function failTimes(sub: FakeSubmission, times: number, ip = IP) {
  const results = [];
  for (let i = 0; i < times; i += 1) results.push(await claimKey(sub, ip, claim(UNKNOWN_CODE)));
  return results;
}

describe('claimKey: success', () => {
  test('binds the app key, destroys the code and answers the server public key with 50 tries', async () => {
    // Prepare
    const sub = fakeSubmission();
    const seeded = await seedCode(sub, { createdAtMs: NOW - HOUR_MS, source: 'ON' });

    // Act
    const result = await claimKey(sub, IP, claim(seeded.code, appKey(1)));

    // Assess
    expect(result).toEqual({ kind: 'claimed', serverPublicKey: seeded.server.publicKey, triesRemaining: 50 });
    await expect(sub.codes.findCode(seeded.codeHash, NOW)).resolves.toBeUndefined();
    await expect(sub.keyPairs.get(seeded.server.publicKey, NOW)).resolves.toMatchObject({ appPublicKey: appKey(1) });
    await expect(sub.codes.isAppKeyInUse(appKey(1), NOW)).resolves.toBe(true);
    expect(sub.events.recorded).toEqual([{ name: 'OTKClaimed', count: 1, source: 'ON' }]);
  });

  test('the code is normalised: lower case, spaces and dashes are accepted', async () => {
    // Prepare
    const sub = fakeSubmission();
    const seeded = await seedCode(sub, { createdAtMs: NOW });
    const typed = `${seeded.code.slice(0, 3)}-${seeded.code.slice(3, 6)} ${seeded.code.slice(6)}`.toLowerCase();

    // Act
    const result = await claimKey(sub, IP, claim(typed));

    // Assess
    expect(result.kind).toBe('claimed');
  });

  test('a claimed code cannot be claimed again (a failure for the second client)', async () => {
    // Prepare
    const sub = fakeSubmission();
    const seeded = await seedCode(sub, { createdAtMs: NOW });
    await claimKey(sub, IP, claim(seeded.code, appKey(1)));

    // Act
    const again = await claimKey(sub, OTHER_IP, claim(seeded.code, appKey(2)));

    // Assess
    expect(again).toEqual({ kind: 'INVALID_ONE_TIME_CODE', triesRemaining: 49, banRemainingMs: 0 });
  });

  test.each([
    ['created at 23:59 UTC, claimed the next day', utc(2024, 3, 10, 23, 59), utc(2024, 3, 11, 0, 1)],
    ['created at 00:00 UTC, claimed at once', utc(2024, 3, 10), utc(2024, 3, 10)],
    ['created at 12:00 UTC, claimed 11 h later', utc(2024, 3, 10, 12), utc(2024, 3, 10, 23)],
  ])('key pair valid until the UTC midnight of the code\'s creation day + 15 days: %s', async (_why, createdAtMs, claimedAtMs) => {
    // Prepare
    const sub = fakeSubmission({ nowMs: claimedAtMs });
    const seeded = await seedCode(sub, { createdAtMs });

    // Act
    const result = await claimKey(sub, IP, claim(seeded.code, appKey(3)));

    // Assess
    const expected = utc(2024, 3, 10) / 1000 + 15 * 86_400;
    expect(result.kind).toBe('claimed');
    expect(sub.fake.keyPairItem(seeded.server.publicKey)?.expiresAt).toBe(expected);
    expect(sub.fake.table.get(fakeKeys.appKey(appKey(3)))?.expiresAt).toBe(expected);
  });

  test('a code is claimable until 24 h after its creation, not at 24 h', async () => {
    // Prepare
    const sub = fakeSubmission();
    const fresh = await seedCode(sub, { createdAtMs: NOW - 86_399_000 });
    const stale = await seedCode(sub, { createdAtMs: NOW - 86_400_000 });

    // Act
    const freshResult = await claimKey(sub, IP, claim(fresh.code, appKey(4)));
    const staleResult = await claimKey(sub, IP, claim(stale.code, appKey(5)));

    // Assess
    expect(freshResult.kind).toBe('claimed');
    expect(staleResult).toEqual({ kind: 'INVALID_ONE_TIME_CODE', triesRemaining: 49, banRemainingMs: 0 });
  });
});

describe('claimKey: processing order', () => {
  test('the ban is checked before the body: a banned client with a malformed body gets TEMPORARY_BAN', async () => {
    // Prepare
    const sub = fakeSubmission();
    await failTimes(sub, 50);

    // Act
    const result = await claimKey(sub, IP, MALFORMED);

    // Assess
    expect(result).toEqual({ kind: 'TEMPORARY_BAN', triesRemaining: 0, banRemainingMs: HOUR_MS });
  });

  test('a malformed body is UNKNOWN with the current tries; nothing else is looked at or counted', async () => {
    // Prepare
    const sub = fakeSubmission();
    await failTimes(sub, 3);
    sub.fake.calls.length = 0;

    // Act
    const result = await claimKey(sub, IP, MALFORMED);

    // Assess
    expect(result).toEqual({ kind: 'UNKNOWN', triesRemaining: 47 });
    expect(sub.fake.calls).toEqual(['bans.get']);
  });

  test.each([0, 31, 33])('an app key of %i bytes is INVALID_KEY (400) before any code lookup; the code is not consumed', async (length) => {
    // Prepare
    const sub = fakeSubmission();
    const seeded = await seedCode(sub, { createdAtMs: NOW });
    sub.fake.calls.length = 0;

    // Act
    const result = await claimKey(sub, IP, claim(seeded.code, appKey(1, length)));

    // Assess
    expect(result).toEqual({ kind: 'INVALID_KEY', triesRemaining: 50, alreadyUsed: false });
    expect(sub.fake.calls).toEqual(['bans.get']);
    await expect(sub.codes.findCode(seeded.codeHash, NOW)).resolves.toBeDefined();
  });

  test('a wrong key length wins over an unknown code (no failure is counted)', async () => {
    // Prepare
    const sub = fakeSubmission();

    // Act
    const result = await claimKey(sub, IP, claim(UNKNOWN_CODE, appKey(1, 31)));

    // Assess
    expect(result).toEqual({ kind: 'INVALID_KEY', triesRemaining: 50, alreadyUsed: false });
    await expect(sub.bans.get(sub.hasher.digest('ip', IP), NOW)).resolves.toBeUndefined();
  });

  test('an app key already in use is INVALID_KEY (401) before the code lookup; the code is not consumed', async () => {
    // Prepare
    const sub = fakeSubmission();
    const bound = await seedClaimedKeyPair(sub, { createdAtMs: NOW });
    const second = await seedCode(sub, { createdAtMs: NOW });
    sub.fake.calls.length = 0;

    // Act
    const withValidCode = await claimKey(sub, IP, claim(second.code, bound.app.publicKey));
    const withUnknownCode = await claimKey(sub, IP, claim(UNKNOWN_CODE, bound.app.publicKey));

    // Assess
    expect(withValidCode).toEqual({ kind: 'INVALID_KEY', triesRemaining: 50, alreadyUsed: true });
    expect(withUnknownCode).toEqual({ kind: 'INVALID_KEY', triesRemaining: 50, alreadyUsed: true });
    expect(sub.fake.callsTo('codes.findCode')).toBe(0);
    expect(sub.fake.callsTo('bans.recordFailure')).toBe(0);
    await expect(sub.codes.findCode(second.codeHash, NOW)).resolves.toBeDefined();
  });

  test.each([['ill-formed', 'AE2245XYZW'], ['empty', ''], ['too long', 'AEF245XYZWQ']])(
    'an %s code is INVALID_ONE_TIME_CODE and counts as a failure without a lookup',
    async (_why, code) => {
      // Prepare
      const sub = fakeSubmission();

      // Act
      const result = await claimKey(sub, IP, claim(code));

      // Assess
      expect(result).toEqual({ kind: 'INVALID_ONE_TIME_CODE', triesRemaining: 49, banRemainingMs: 0 });
      expect(sub.fake.callsTo('codes.findCode')).toBe(0);
      expect(sub.events.recorded).toEqual([{ name: 'ClaimFailed', count: 1, source: 'claim' }]);
    },
  );
});

describe('claimKey: tries and ban', () => {
  test('each invalid code costs one try; the 50th answers tries 0 and a ban of 3600 s', async () => {
    // Prepare
    const sub = fakeSubmission();

    // Act
    const results = await failTimes(sub, 50);

    // Assess
    expect(results.slice(0, 49)).toEqual(
      Array.from({ length: 49 }, (_, i) => ({ kind: 'INVALID_ONE_TIME_CODE', triesRemaining: 49 - i, banRemainingMs: 0 })),
    );
    expect(results[49]).toEqual({ kind: 'INVALID_ONE_TIME_CODE', triesRemaining: 0, banRemainingMs: HOUR_MS });
  });

  test('after the 50th failure every request is TEMPORARY_BAN, even with a valid code, which stays unclaimed', async () => {
    // Prepare
    const sub = fakeSubmission();
    const seeded = await seedCode(sub, { createdAtMs: NOW });
    await failTimes(sub, 50);
    sub.clock.advance(10 * 60_000);
    sub.fake.calls.length = 0;

    // Act
    const result = await claimKey(sub, IP, claim(seeded.code));

    // Assess
    expect(result).toEqual({ kind: 'TEMPORARY_BAN', triesRemaining: 0, banRemainingMs: 50 * 60_000 });
    expect(sub.fake.calls).toEqual(['bans.get']);
    await expect(sub.codes.findCode(seeded.codeHash, sub.clock.nowMs())).resolves.toBeDefined();
    expect(sub.events.named('ClaimBanned')).toEqual([{ name: 'ClaimBanned', count: 1, source: 'claim' }]);
  });

  test('the ban lasts exactly one hour after the last failure; then the counter restarts at once', async () => {
    // Prepare
    const sub = fakeSubmission();
    await failTimes(sub, 50);

    // Act
    sub.clock.advance(HOUR_MS - 1);
    const lastMillisecond = await claimKey(sub, IP, claim(UNKNOWN_CODE));
    sub.clock.advance(1);
    const afterBan = await claimKey(sub, IP, claim(UNKNOWN_CODE));

    // Assess
    expect(lastMillisecond).toEqual({ kind: 'TEMPORARY_BAN', triesRemaining: 0, banRemainingMs: 1 });
    expect(afterBan).toEqual({ kind: 'INVALID_ONE_TIME_CODE', triesRemaining: 49, banRemainingMs: 0 });
  });

  test('after the ban a valid code is claimed', async () => {
    // Prepare
    const sub = fakeSubmission();
    await failTimes(sub, 50);
    sub.clock.advance(HOUR_MS);
    const seeded = await seedCode(sub, { createdAtMs: sub.clock.nowMs() });

    // Act
    const result = await claimKey(sub, IP, claim(seeded.code));

    // Assess
    expect(result).toMatchObject({ kind: 'claimed', triesRemaining: 50 });
  });

  test('a success resets the counter', async () => {
    // Prepare
    const sub = fakeSubmission();
    await failTimes(sub, 10);
    const seeded = await seedCode(sub, { createdAtMs: NOW });
    await claimKey(sub, IP, claim(seeded.code));

    // Act
    const next = await claimKey(sub, IP, claim(UNKNOWN_CODE, appKey(9)));

    // Assess
    expect(next).toEqual({ kind: 'INVALID_ONE_TIME_CODE', triesRemaining: 49, banRemainingMs: 0 });
  });

  test('the ban is per client: only the HMAC of the source IP is stored', async () => {
    // Prepare
    const sub = fakeSubmission();
    await failTimes(sub, 50, IP);

    // Act
    const other = await claimKey(sub, OTHER_IP, MALFORMED);

    // Assess
    expect(other).toEqual({ kind: 'UNKNOWN', triesRemaining: 50 });
    expect(sub.fake.table.has(fakeKeys.ban(sub.hasher.digest('ip', IP)))).toBe(true);
    expect([...sub.fake.table.keys()].filter((pk) => pk.includes(IP))).toEqual([]);
  });

  test('banState: a record whose ban has passed gives tries 0 but no ban, and the claim starts over with 50 tries', async () => {
    // Prepare
    const settings = submissionSettings();
    const record = { failures: 50, lastFailureMs: NOW - HOUR_MS };
    const bans: BanStore = { get: async () => record, recordFailure: async () => record, clear: async () => undefined };
    const sub = fakeSubmission();

    // Act
    const state = banState(record, NOW, settings);
    const result = await claimKey({ ...sub, bans }, IP, MALFORMED);

    // Assess
    expect(state).toEqual({ triesRemaining: 0, banRemainingMs: 0 });
    expect(result).toEqual({ kind: 'UNKNOWN', triesRemaining: 50 });
  });
});

describe('claimKey: storage', () => {
  test.each<[FakeMethod, number]>([
    ['bans.get', 50],
    ['codes.isAppKeyInUse', 48],
    ['codes.findCode', 48],
    ['codes.claim', 48],
    ['bans.recordFailure', 48],
  ])('a StorageError in %s answers SERVER_ERROR with tries %i', async (method, tries) => {
    // Prepare
    const sub = fakeSubmission();
    await failTimes(sub, 2);
    const seeded = await seedCode(sub, { createdAtMs: NOW });
    sub.fake.failWith(method);
    const code = method === 'bans.recordFailure' ? UNKNOWN_CODE : seeded.code;

    // Act
    const result = await claimKey(sub, IP, claim(code));

    // Assess
    expect(result).toEqual({ kind: 'SERVER_ERROR', triesRemaining: tries });
  });

  test('an error that is not a StorageError is not swallowed', async () => {
    // Prepare
    const sub = fakeSubmission();
    sub.fake.failWith('codes.findCode', new TypeError('bug'));

    // Act / Assess
    await expect(claimKey(sub, IP, claim(UNKNOWN_CODE))).rejects.toBeInstanceOf(TypeError);
  });

  test('a failing bans.clear after a successful claim still answers claimed', async () => {
    // Prepare
    const sub = fakeSubmission();
    await failTimes(sub, 5);
    const seeded = await seedCode(sub, { createdAtMs: NOW });
    sub.fake.failWith('bans.clear');

    // Act
    const result = await claimKey(sub, IP, claim(seeded.code));

    // Assess
    expect(result).toEqual({ kind: 'claimed', serverPublicKey: seeded.server.publicKey, triesRemaining: 50 });
    expect(sub.fake.callsTo('bans.clear')).toBe(1);
    await expect(sub.codes.findCode(seeded.codeHash, NOW)).resolves.toBeUndefined();
  });

  test.each<[ClaimOutcome['kind'], object]>([
    ['app-key-in-use', { kind: 'INVALID_KEY', triesRemaining: 50, alreadyUsed: true }],
    ['code-invalid', { kind: 'INVALID_ONE_TIME_CODE', triesRemaining: 49, banRemainingMs: 0 }],
  ])('a claim lost to a concurrent request (%s) answers %j', async (kind, expected) => {
    // Prepare
    const sub = fakeSubmission();
    const seeded = await seedCode(sub, { createdAtMs: NOW });
    const codes = { ...sub.codes, claim: async (): Promise<ClaimOutcome> => ({ kind }) as ClaimOutcome };

    // Act
    const result = await claimKey({ ...sub, codes }, IP, claim(seeded.code));

    // Assess
    expect(result).toEqual(expected);
    expect(sub.events.named('OTKClaimed')).toEqual([]);
  });
});
