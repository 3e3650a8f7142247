/**
 * The submission endpoints over time, on a runtime of their own (these tests move its clock with
 * POST /_local/clock, so they must not share the runtime other files use).
 *
 * Claim bans: upstream CK14 (clock +3600 s instead of editing the database), and deviation 7 (a
 * ban lasts 1 h after the last failure; once it has expired the counter restarts at once).
 *
 * Retention: equivalents of upstream EW1 (an unclaimed code lives 24 h) and EW3/RR7 (a claimed key
 * pair accepts uploads from its issue day through issue day + 14 and is refused from issue
 * day + 15 on). Times are computed from the current UTC day, so the tests are deterministic at
 * any time of day.
 */
import nacl from 'tweetnacl';
import { freePort } from '../../../local/ports';
import { int64ToNumber } from '../../../proto';
import { AppClient, loopbackFor, tek, uploadOf, type ClaimedKeySet } from '../../support/app-client';
import { startLocalProcess, type LocalProcess } from '../../support/local-process';
import { ClaimError, DAY_MS, HOUR_MS, midnightMs, offsetFor, openStore, setClock, UploadError, type Store } from './support';

let runtime: LocalProcess;
let store: Store;
let client: AppClient;
const clientFor = (tag: string) => new AppClient(runtime.url, loopbackFor(`${__filename}#${tag}`));
const appKey = () => nacl.box.keyPair().publicKey;
const banSeconds = (r: { message: { remainingBanDuration?: { seconds?: unknown } | null } }) =>
  int64ToNumber(r.message.remainingBanDuration?.seconds as number | undefined);

/** Today's UTC midnight (ms) when the file started; retention times are relative to it. */
const day0 = midnightMs(Date.now());

/** Moves the server clock to an absolute time (ms) and returns the server's now. */
const clockAt = (targetMs: number) => setClock(runtime.url, offsetFor(targetMs));

/** `count` invalid codes from one client, ten at a time; returns the responses. */
async function failures(from: AppClient, count: number) {
  const responses = [];
  for (let sent = 0; sent < count; sent += 10) {
    const batch = Math.min(10, count - sent);
    responses.push(...(await Promise.all(Array.from({ length: batch }, () => from.claim('12341234', appKey())))));
  }
  return responses;
}

/** Bans a client: 50 failures, the last one answering tries 0. */
async function ban(from: AppClient) {
  const responses = await failures(from, 50);
  expect(responses.map((r) => r.status)).toEqual(responses.map(() => 401));
  expect(Math.min(...responses.map((r) => r.message.triesRemaining))).toBe(0);
}

/** Uploads two fresh keys, built against the server's current time. */
async function uploadAt(set: ClaimedKeySet, serverNowMs: number) {
  const keys = [tek({}, serverNowMs), tek({}, serverNowMs)];
  return { keys, response: await client.upload(set, uploadOf(keys, serverNowMs)) };
}

beforeAll(async () => {
  runtime = await startLocalProcess({ name: 'e2e-submission-clock', port: await freePort() });
  client = new AppClient(runtime.url, loopbackFor(__filename));
  store = await openStore(runtime.url);
});
afterAll(async () => {
  store.close();
  await runtime.stop();
});

describe('claim bans over time', () => {
  beforeEach(async () => {
    await setClock(runtime.url, 0);
  });

  test('CK14 one hour after the ban (clock +3600 s instead of editing the database) a fresh code is 200 NONE with tries 50; the ban counts down with the clock', async () => {
    // Prepare
    const from = clientFor('ck14');
    await ban(from);
    const code = await from.newCode();

    // Act
    const during = await from.claim(code, appKey());
    await setClock(runtime.url, 1200);
    const later = await from.claim(code, appKey());
    await setClock(runtime.url, 3000);
    const nearlyOver = await from.claim(code, appKey());
    await setClock(runtime.url, 3600);
    const response = await from.claim(code, appKey());
    const nextFailure = await from.claim('12341234', appKey());

    // Assess
    for (const banned of [during, later, nearlyOver]) {
      expect([banned.status, ClaimError[banned.message.error], banned.message.triesRemaining]).toEqual([429, 'TEMPORARY_BAN', 0]);
    }
    expect(banSeconds(during)).toBeGreaterThanOrEqual(3590);
    expect(banSeconds(later)).toBeGreaterThanOrEqual(2390);
    expect(banSeconds(later)).toBeLessThanOrEqual(2400);
    expect(banSeconds(nearlyOver)).toBeGreaterThanOrEqual(590);
    expect(banSeconds(nearlyOver)).toBeLessThanOrEqual(600);
    expect(response.status).toBe(200);
    expect(response.message.error).toBe(ClaimError.NONE);
    expect(response.message.triesRemaining).toBe(50);
    expect(nextFailure.message.triesRemaining).toBe(49);
  });

  test('deviation 7: a ban lasts 1 h after the LAST failure; once expired (+3601 s) the next failure shows tries 49, no instant re-ban', async () => {
    // Prepare: one failure at t, 49 more at t + 30 min (the 49th of them bans).
    const from = clientFor('last-failure');
    await failures(from, 1);
    await setClock(runtime.url, 1800);
    const rest = await failures(from, 49);
    expect(Math.min(...rest.map((r) => r.message.triesRemaining))).toBe(0);
    const code = await from.newCode();

    // Act
    await setClock(runtime.url, 1800 + 3590);
    const almostOver = await from.claim(code, appKey());
    await setClock(runtime.url, 1800 + 3601);
    const first = await from.claim('12341234', appKey());
    const second = await from.claim('12341234', appKey());
    const valid = await from.claim(code, appKey());

    // Assess
    expect([almostOver.status, ClaimError[almostOver.message.error], almostOver.message.triesRemaining]).toEqual([429, 'TEMPORARY_BAN', 0]);
    expect(banSeconds(almostOver)).toBeGreaterThan(0);
    expect(banSeconds(almostOver)).toBeLessThanOrEqual(10);
    expect([first.status, ClaimError[first.message.error], first.message.triesRemaining, banSeconds(first)]).toEqual([401, 'INVALID_ONE_TIME_CODE', 49, 0]);
    expect(second.message.triesRemaining).toBe(48);
    expect([valid.status, valid.message.triesRemaining]).toEqual([200, 50]);
  });
});

describe('retention', () => {
  test('EW1 an unclaimed code still claims at +23 h 59 min and is refused at +24 h 00 min 05 s', async () => {
    // Prepare
    const issuedAt = day0 + 12 * HOUR_MS;
    await clockAt(issuedAt);
    const [early, late] = [await client.newCode(), await client.newCode()];

    // Act
    await clockAt(issuedAt + 24 * HOUR_MS - 60_000);
    const beforeExpiry = await client.claim(early, nacl.box.keyPair().publicKey);
    await clockAt(issuedAt + 24 * HOUR_MS + 5_000);
    const afterExpiry = await client.claim(late, nacl.box.keyPair().publicKey);

    // Assess
    expect([beforeExpiry.status, ClaimError[beforeExpiry.message.error]]).toEqual([200, 'NONE']);
    expect([afterExpiry.status, ClaimError[afterExpiry.message.error]]).toEqual([401, 'INVALID_ONE_TIME_CODE']);
  });

  test('EW3/RR7 a key pair claimed on its issue day accepts uploads on issue day + 14 at 23:00 and refuses them (401) at issue day + 15 00:30', async () => {
    // Prepare
    await clockAt(day0 + 12 * HOUR_MS);
    const set = await client.newKeySet();
    const first = await uploadAt(set, day0 + 12 * HOUR_MS);

    // Act
    const lastDay = await uploadAt(set, await clockAt(day0 + 14 * DAY_MS + 23 * HOUR_MS));
    const expired = await uploadAt(set, await clockAt(day0 + 15 * DAY_MS + 30 * 60_000));

    // Assess
    expect([first.response.status, UploadError[first.response.error]]).toEqual([200, 'NONE']);
    expect([lastDay.response.status, UploadError[lastDay.response.error]]).toEqual([200, 'NONE']);
    expect([expired.response.status, UploadError[expired.response.error]]).toEqual([401, 'INVALID_KEYPAIR']);
    expect(await store.keys(lastDay.keys.map((k) => k.keyData!))).toHaveLength(2);
    expect(await store.keys(expired.keys.map((k) => k.keyData!))).toEqual([]);
  });

  test('the key pair lifetime counts from the issue day, not the claim day: issued at 23:30, claimed next day 00:30', async () => {
    // Prepare
    await clockAt(day0 + 23 * HOUR_MS + 30 * 60_000);
    const code = await client.newCode();
    await clockAt(day0 + DAY_MS + 30 * 60_000);
    const app = nacl.box.keyPair();
    const claimed = await client.claim(code, app.publicKey);
    const set = { code, app, serverPublicKey: claimed.message.serverPublicKey };

    // Act
    const lastDay = await uploadAt(set, await clockAt(day0 + 14 * DAY_MS + 23 * HOUR_MS));
    const expired = await uploadAt(set, await clockAt(day0 + 15 * DAY_MS + 30 * 60_000));

    // Assess
    expect(claimed.status).toBe(200);
    expect([lastDay.response.status, UploadError[lastDay.response.error]]).toEqual([200, 'NONE']);
    expect([expired.response.status, UploadError[expired.response.error]]).toEqual([401, 'INVALID_KEYPAIR']);
  });

  test('an unclaimed code is refused after 24 h even if claimed by a different client, and counts as a failure', async () => {
    // Prepare
    const issuedAt = day0 + 6 * HOUR_MS;
    await clockAt(issuedAt);
    const code = await client.newCode();
    const other = new AppClient(runtime.url, loopbackFor(`${__filename}#other`));

    // Act
    await clockAt(issuedAt + 25 * HOUR_MS);
    const response = await other.claim(code, nacl.box.keyPair().publicKey);

    // Assess
    expect([response.status, ClaimError[response.message.error], response.message.triesRemaining]).toEqual([401, 'INVALID_ONE_TIME_CODE', 49]);
  });

  test('an exhausted key pair stays 400 INVALID_KEYPAIR for its whole life, then 401 once expired (deviation 11)', async () => {
    // Prepare
    await clockAt(day0 + 12 * HOUR_MS);
    const set = await client.newKeySet();
    const now = day0 + 12 * HOUR_MS;
    const fill = Array.from({ length: 43 }, () => tek({}, now));
    await client.upload(set, uploadOf(fill.slice(0, 28), now));
    await client.upload(set, uploadOf(fill.slice(28), now));

    // Act
    const sameDay = await uploadAt(set, now);
    const dayFourteen = await uploadAt(set, await clockAt(day0 + 14 * DAY_MS + 12 * HOUR_MS));
    const dayFifteen = await uploadAt(set, await clockAt(day0 + 15 * DAY_MS + 12 * HOUR_MS));

    // Assess
    expect([sameDay.response.status, UploadError[sameDay.response.error]]).toEqual([400, 'INVALID_KEYPAIR']);
    expect([dayFourteen.response.status, UploadError[dayFourteen.response.error]]).toEqual([400, 'INVALID_KEYPAIR']);
    expect([dayFifteen.response.status, UploadError[dayFifteen.response.error]]).toEqual([401, 'INVALID_KEYPAIR']);
  });

  test('a hashId whose code was claimed is 403 while the key pair lives, and issues again once it has expired', async () => {
    // Prepare
    const hashId = 'c'.repeat(128);
    await clockAt(day0 + 12 * HOUR_MS);
    const code = await client.newCode(undefined, hashId);
    expect((await client.claim(code, nacl.box.keyPair().publicKey)).status).toBe(200);

    // Act
    await clockAt(day0 + 14 * DAY_MS + 23 * HOUR_MS);
    const whileAlive = await client.issueCode(undefined, hashId);
    await clockAt(day0 + 15 * DAY_MS + 30 * 60_000);
    const afterExpiry = await client.issueCode(undefined, hashId);

    // Assess
    expect([whileAlive.status, whileAlive.text()]).toEqual([403, 'forbidden\n']);
    expect(afterExpiry.status).toBe(200);
    expect(afterExpiry.text()).toMatch(/^[A-Z0-9]{10}\n$/);
  });

  test('a hashId whose unclaimed code expired issues a new code, and the old one stays dead', async () => {
    // Prepare
    const hashId = 'd'.repeat(128);
    const issuedAt = day0 + 3 * HOUR_MS;
    await clockAt(issuedAt);
    const old = await client.newCode(undefined, hashId);

    // Act
    await clockAt(issuedAt + 25 * HOUR_MS);
    const renewed = await client.issueCode(undefined, hashId);
    const oldClaim = await client.claim(old, nacl.box.keyPair().publicKey);
    const newClaim = await client.claim(renewed.text().trim(), nacl.box.keyPair().publicKey);

    // Assess
    expect(renewed.status).toBe(200);
    expect(renewed.text().trim()).not.toBe(old);
    expect([oldClaim.status, ClaimError[oldClaim.message.error]]).toEqual([401, 'INVALID_ONE_TIME_CODE']);
    expect(newClaim.status).toBe(200);
  });
});
