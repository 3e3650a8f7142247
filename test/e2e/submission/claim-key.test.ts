/**
 * /claim-key over HTTP: upstream claim_key_test.rb (CK1–CK13; CK14 moves the clock and lives in
 * claim-ban.test.ts), with deviations 7 (X-Forwarded-For ignored), 8 (code normalisation) and
 * 10 (methods). Each group of cases uses its own source address, so counters do not mix.
 */
import nacl from 'tweetnacl';
import { covidshield, int64ToNumber } from '../../../proto';
import { AppClient, loopbackFor } from '../../support/app-client';
import { runtimeUrl } from '../../support/runtime';
import { ClaimError, PROTOBUF, TEXT_PLAIN } from './support';

const clientFor = (tag = '') => new AppClient(runtimeUrl(), loopbackFor(`${__filename}${tag}`));
const client = clientFor();
const appKey = (length = 32) => (length === 32 ? nacl.box.keyPair().publicKey : new Uint8Array(length).fill(7));
const banSeconds = (message: covidshield.KeyClaimResponse) => int64ToNumber(message.remainingBanDuration?.seconds);
const hasBanDuration = (message: covidshield.KeyClaimResponse) => Object.prototype.hasOwnProperty.call(message, 'remainingBanDuration');

/** One invalid code from a client; returns the response. */
const fail = (from: AppClient, code = '12341234') => from.claim(code, appKey());

describe('claim_key_test.rb', () => {
  test('CK1 a body of 500 bytes of "a" is 400 UNKNOWN, tries 50, no server key', async () => {
    // Act
    const response = await clientFor('#ck1').claimRaw(Buffer.alloc(500, 'a'));

    // Assess
    expect(response.status).toBe(400);
    expect(response.contentType).toBe(PROTOBUF);
    expect(response.message.error).toBe(ClaimError.UNKNOWN);
    expect(response.message.triesRemaining).toBe(50);
    expect(response.message.serverPublicKey).toHaveLength(0);
  });

  test('CK2 a body of 100 bytes of "a" is 400 UNKNOWN, tries 50', async () => {
    // Act
    const response = await clientFor('#ck2').claimRaw(Buffer.alloc(100, 'a'));

    // Assess
    expect(response.status).toBe(400);
    expect(response.contentType).toBe(PROTOBUF);
    expect(response.message.error).toBe(ClaimError.UNKNOWN);
    expect(response.message.triesRemaining).toBe(50);
  });

  test('CK3 code 12341234 is 401 INVALID_ONE_TIME_CODE, tries 49, an empty remaining_ban_duration', async () => {
    // Act
    const response = await fail(clientFor('#ck3'));

    // Assess
    expect(response.status).toBe(401);
    expect(response.contentType).toBe(PROTOBUF);
    expect(response.message.error).toBe(ClaimError.INVALID_ONE_TIME_CODE);
    expect(response.message.triesRemaining).toBe(49);
    expect(hasBanDuration(response.message)).toBe(true);
    expect(banSeconds(response.message)).toBe(0);
    expect(response.message.serverPublicKey).toHaveLength(0);
  });

  test.each([
    ['CK4', 16],
    ['CK5', 16],
    ['CK6', 36],
    ['an empty app key', 0],
    ['a 31-byte app key', 31],
    ['a 33-byte app key', 33],
  ])('%s: a fresh code with a %s-byte key is 400 INVALID_KEY, not a failure, and the code is not consumed', async (id, length) => {
    // Prepare
    const from = clientFor(`#key-length-${id}`);
    await fail(from);
    const code = await from.newCode();

    // Act
    const response = await from.claim(code, appKey(length as number));
    const again = await from.claim(code, appKey(length as number));
    const afterwards = await from.claim(code, appKey());

    // Assess
    for (const r of [response, again]) {
      expect(r.status).toBe(400);
      expect(r.contentType).toBe(PROTOBUF);
      expect(r.message.error).toBe(ClaimError.INVALID_KEY);
      expect(r.message.triesRemaining).toBe(49);
    }
    expect(afterwards.status).toBe(200);
  });

  test('CK7 five fresh codes with distinct keys are 200 NONE with a server key and tries 50; a success resets the counter', async () => {
    // Prepare
    const from = clientFor('#ck7');
    await fail(from);
    await fail(from);
    const codes = await Promise.all(Array.from({ length: 5 }, () => from.newCode()));

    // Act
    const responses = [];
    for (const code of codes) responses.push(await from.claim(code, appKey()));
    const next = await fail(from);

    // Assess
    for (const r of responses) {
      expect(r.status).toBe(200);
      expect(r.contentType).toBe(PROTOBUF);
      expect(r.message.error).toBe(ClaimError.NONE);
      expect(Object.prototype.hasOwnProperty.call(r.message, 'error')).toBe(false);
      expect(hasBanDuration(r.message)).toBe(false);
      expect(r.message.serverPublicKey).toHaveLength(32);
      expect(r.message.triesRemaining).toBe(50);
    }
    expect(new Set(responses.map((r) => Buffer.from(r.message.serverPublicKey).toString('hex'))).size).toBe(5);
    expect(next.message.triesRemaining).toBe(49);
  });

  test.each([
    ['CK8 spaces at positions 3 and 6', (c: string) => `${c.slice(0, 3)} ${c.slice(3, 6)} ${c.slice(6)}`],
    ['CK9 dashes at positions 3 and 6', (c: string) => `${c.slice(0, 3)}-${c.slice(3, 6)}-${c.slice(6)}`],
    ['deviation 8: lower case', (c: string) => c.toLowerCase()],
    ['deviation 8: lower case with spaces and dashes mixed', (c: string) => ` ${c.slice(0, 3).toLowerCase()}- ${c.slice(3, 6)} --${c.slice(6).toLowerCase()} `],
  ])('%s: the code is accepted (200 NONE, tries 50)', async (_name, variant) => {
    // Prepare
    const code = await client.newCode();

    // Act
    const response = await client.claim(variant(code), appKey());

    // Assess
    expect(response.status).toBe(200);
    expect(response.message.error).toBe(ClaimError.NONE);
    expect(response.message.serverPublicKey).toHaveLength(32);
    expect(response.message.triesRemaining).toBe(50);
  });

  test.each([
    ['a tab inside', (c: string) => `${c.slice(0, 3)}\t${c.slice(3)}`],
    ['an underscore inside', (c: string) => `${c.slice(0, 3)}_${c.slice(3)}`],
    ['a missing character', (c: string) => c.slice(1)],
  ])('only spaces and dashes are removed: a code with %s is 401 INVALID_ONE_TIME_CODE', async (_name, variant) => {
    // Prepare
    const from = clientFor(`#not-normalised-${_name}`);
    const code = await from.newCode();

    // Act
    const response = await from.claim(variant(code), appKey());
    const original = await from.claim(code, appKey());

    // Assess
    expect(response.status).toBe(401);
    expect(response.message.error).toBe(ClaimError.INVALID_ONE_TIME_CODE);
    expect(original.status).toBe(200);
  });

  test('CK10 a fresh code with an app key already used is 401 INVALID_KEY, not a failure, and the code is not consumed', async () => {
    // Prepare
    const from = clientFor('#ck10');
    const used = appKey();
    expect((await from.claim(await from.newCode(), used)).status).toBe(200);
    const code = await from.newCode();

    // Act
    const response = await from.claim(code, used);
    const withFreshKey = await from.claim(code, appKey());

    // Assess
    expect(response.status).toBe(401);
    expect(response.contentType).toBe(PROTOBUF);
    expect(response.message.error).toBe(ClaimError.INVALID_KEY);
    expect(response.message.triesRemaining).toBe(50);
    expect(withFreshKey.status).toBe(200);
  });

  test('a claimed code cannot be claimed again (401 INVALID_ONE_TIME_CODE)', async () => {
    // Prepare
    const from = clientFor('#reuse');
    const code = await from.newCode();
    expect((await from.claim(code, appKey())).status).toBe(200);

    // Act
    const response = await from.claim(code, appKey());

    // Assess
    expect(response.status).toBe(401);
    expect(response.message.error).toBe(ClaimError.INVALID_ONE_TIME_CODE);
    expect(response.message.triesRemaining).toBe(49);
  });

  test('an empty code with a valid key is 401 INVALID_ONE_TIME_CODE', async () => {
    // Act
    const response = await clientFor('#empty-code').claim('', appKey());

    // Assess
    expect(response.status).toBe(401);
    expect(response.message.error).toBe(ClaimError.INVALID_ONE_TIME_CODE);
    expect(response.message.triesRemaining).toBe(49);
  });

  describe('ban (one source address, steps in order as upstream)', () => {
    const banned = clientFor('#ban');

    test('CK11 49 invalid codes in a row: 401 INVALID_ONE_TIME_CODE with tries 49 … 1 and no ban', async () => {
      // Act
      const responses = [];
      for (let i = 0; i < 49; i += 1) responses.push(await fail(banned, `1234${String(i).padStart(4, '0')}`));

      // Assess
      expect(responses.map((r) => r.status)).toEqual(responses.map(() => 401));
      expect(responses.map((r) => r.message.error)).toEqual(responses.map(() => ClaimError.INVALID_ONE_TIME_CODE));
      expect(responses.map((r) => r.message.triesRemaining)).toEqual(Array.from({ length: 49 }, (_, i) => 49 - i));
      expect(responses.map((r) => banSeconds(r.message))).toEqual(responses.map(() => 0));
    });

    test('CK12 the 50th invalid code: 401 INVALID_ONE_TIME_CODE, tries 0, a ban of about 3600 s', async () => {
      // Act
      const response = await fail(banned);

      // Assess
      expect(response.status).toBe(401);
      expect(response.message.error).toBe(ClaimError.INVALID_ONE_TIME_CODE);
      expect(response.message.triesRemaining).toBe(0);
      expect(banSeconds(response.message)).toBeGreaterThanOrEqual(3595);
      expect(banSeconds(response.message)).toBeLessThanOrEqual(3600);
    });

    test('CK13 a fresh valid code is 429 TEMPORARY_BAN, tries 0, about 3600 s left; the code is not consumed', async () => {
      // Prepare
      const code = await banned.newCode();

      // Act
      const response = await banned.claim(code, appKey());
      const elsewhere = await clientFor('#ban-other').claim(code, appKey());

      // Assess
      expect(response.status).toBe(429);
      expect(response.contentType).toBe(PROTOBUF);
      expect(response.message.error).toBe(ClaimError.TEMPORARY_BAN);
      expect(response.message.triesRemaining).toBe(0);
      expect(banSeconds(response.message)).toBeGreaterThanOrEqual(3590);
      expect(banSeconds(response.message)).toBeLessThanOrEqual(3600);
      expect(response.message.serverPublicKey).toHaveLength(0);
      expect(elsewhere.status).toBe(200);
    });

    test('a banned client gets 429 even for malformed bodies (the ban is checked first)', async () => {
      // Act
      const response = await banned.claimRaw(Buffer.alloc(100, 'a'));

      // Assess
      expect(response.status).toBe(429);
      expect(response.message.error).toBe(ClaimError.TEMPORARY_BAN);
    });
  });

  test('malformed bodies and bad keys do not count as failures', async () => {
    // Prepare
    const from = clientFor('#not-counted');
    await from.claimRaw(Buffer.alloc(100, 'a'));
    await from.claimRaw(Buffer.alloc(300, 'a'));
    await from.claim(await from.newCode(), appKey(16));

    // Act
    const response = await fail(from);

    // Assess
    expect(response.message.triesRemaining).toBe(49);
  });
});

describe('deviation 7: the client is the source address; X-Forwarded-For is ignored', () => {
  const claimWithForwardedFor = async (from: AppClient, forwardedFor: string, code: string) => {
    const response = await from.send('/claim-key', {
      method: 'POST',
      headers: { 'Content-Type': PROTOBUF, 'X-Forwarded-For': forwardedFor },
      body: covidshield.KeyClaimRequest.encode({ oneTimeCode: code, appPublicKey: appKey() }).finish(),
    });
    return { status: response.status, message: covidshield.KeyClaimResponse.decode(response.body) };
  };

  test('50 failures from one address with varying X-Forwarded-For ban that address, and only it', async () => {
    // Prepare
    const attacker = clientFor('#xff-attacker');
    const bystander = clientFor('#xff-bystander');
    const attackerAddress = attacker.localAddress!;

    // Act
    const failures = [];
    for (let batch = 0; batch < 5; batch += 1) {
      const forwardedFor = (i: number) => (i % 2 ? `10.0.${i}.1` : `198.51.100.7, 10.1.${i}.2`);
      const ids = Array.from({ length: 10 }, (_, j) => batch * 10 + j);
      failures.push(...(await Promise.all(ids.map((i) => claimWithForwardedFor(attacker, forwardedFor(i), '12341234')))));
    }
    const attackerLater = await claimWithForwardedFor(attacker, '203.0.113.9', await attacker.newCode());
    const bystanderPosing = await claimWithForwardedFor(bystander, attackerAddress, await bystander.newCode());

    // Assess
    expect(failures.map((r) => r.status)).toEqual(failures.map(() => 401));
    expect(failures.map((r) => r.message.triesRemaining).sort((a, b) => b - a)).toEqual(Array.from({ length: 50 }, (_, i) => 49 - i));
    expect(attackerLater.status).toBe(429);
    expect(attackerLater.message.error).toBe(ClaimError.TEMPORARY_BAN);
    expect(bystanderPosing.status).toBe(200);
    expect(bystanderPosing.message.triesRemaining).toBe(50);
  });
});

describe('deviation 10: /claim-key answers 405 to anything but POST', () => {
  test.each(['GET', 'PUT', 'DELETE', 'PATCH'])('%s /claim-key is 405 method not allowed', async (method) => {
    // Act
    const response = await client.send('/claim-key', { method });

    // Assess
    expect(response.status).toBe(405);
    expect(response.headers['content-type']).toBe(TEXT_PLAIN);
    expect(response.text()).toBe('method not allowed\n');
  });
});
