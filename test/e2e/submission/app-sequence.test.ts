/**
 * The COVID Alert app's sequence end to end (issue acceptance): a health authority issues a code
 * with its bearer token, the app claims it with a fresh Curve25519 key and uploads 28 keys with
 * all six fields in a NaCl box. Then the stored state: what is kept, that failed uploads leave
 * nothing behind, and that no code, token or client address is stored in clear.
 */
import { randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { covidshield } from '../../../proto';
import { AppClient, loopbackFor, midnightInterval, send, TOKEN_1, TOKEN_2 } from '../../support/app-client';
import { runtimeUrl } from '../../support/runtime';
import { ClaimError, DAY_MS, openStore, PROTOBUF, ReportType, TEXT_PLAIN, textOf, UploadError, type Store } from './support';

const client = new AppClient(runtimeUrl(), loopbackFor(__filename));
let store: Store;

beforeAll(async () => {
  store = await openStore(runtimeUrl());
});
afterAll(() => store.close());

/** 28 keys as the app builds them: two per day over the last 14 days, all six fields set. */
function appKeys(nowMs: number): covidshield.TemporaryExposureKey.$Properties[] {
  const reportTypes = [ReportType.CONFIRMED_TEST, ReportType.CONFIRMED_CLINICAL_DIAGNOSIS, ReportType.SELF_REPORT];
  return Array.from({ length: 28 }, (_, i) => ({
    keyData: new Uint8Array(randomBytes(16)),
    transmissionRiskLevel: i % 9,
    rollingStartIntervalNumber: midnightInterval(nowMs) - 144 * (i % 14),
    rollingPeriod: 144 - (i % 3),
    reportType: reportTypes[i % 3],
    daysSinceOnsetOfSymptoms: (i % 29) - 14,
  }));
}

test('issue → claim → upload 28 keys with all six fields: 200 with exactly the bytes 08 00, every key stored as sent', async () => {
  // Prepare
  const issued = await send(`${runtimeUrl()}/new-key-claim`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN_1}` },
    localAddress: client.localAddress,
  });
  const code = issued.text().trim();
  const app = nacl.box.keyPair();
  const claim = await send(`${runtimeUrl()}/claim-key`, {
    method: 'POST',
    headers: { 'Content-Type': PROTOBUF },
    body: covidshield.KeyClaimRequest.encode({ oneTimeCode: code, appPublicKey: app.publicKey }).finish(),
    localAddress: client.localAddress,
  });
  const claimed = covidshield.KeyClaimResponse.decode(claim.body);
  const hourBefore = Math.floor(Date.now() / 3_600_000);
  const keys = appKeys(Date.now());
  const nonce = new Uint8Array(randomBytes(24));
  const plaintext = covidshield.Upload.encode({ timestamp: { seconds: Math.floor(Date.now() / 1000) }, keys }).finish();
  const body = covidshield.EncryptedUploadRequest.encode({
    serverPublicKey: claimed.serverPublicKey,
    appPublicKey: app.publicKey,
    nonce,
    payload: nacl.box(plaintext, nonce, claimed.serverPublicKey, app.secretKey),
  }).finish();

  // Act
  const upload = await send(`${runtimeUrl()}/upload`, {
    method: 'POST',
    headers: { 'Content-Type': PROTOBUF },
    body,
    localAddress: client.localAddress,
  });
  const hourAfter = Math.floor(Date.now() / 3_600_000);

  // Assess
  expect([issued.status, issued.headers['content-type']]).toEqual([200, TEXT_PLAIN]);
  expect([claim.status, claim.headers['content-type'], claimed.error, claimed.triesRemaining]).toEqual([200, PROTOBUF, ClaimError.NONE, 50]);
  expect(body.length).toBeGreaterThan(1024);
  expect(upload.status).toBe(200);
  expect(upload.headers['content-type']).toBe(PROTOBUF);
  expect(upload.body.toString('hex')).toBe('0800');
  const stored = await store.keys(keys.map((k) => k.keyData!));
  expect(stored).toHaveLength(28);
  for (const key of keys) {
    const item = stored.find((s) => Buffer.from(s.keyData as Uint8Array).equals(Buffer.from(key.keyData!)));
    expect(item).toMatchObject({
      region: '302',
      rollingStartIntervalNumber: key.rollingStartIntervalNumber,
      rollingPeriod: key.rollingPeriod,
      transmissionRiskLevel: key.transmissionRiskLevel,
      reportType: key.reportType,
      daysSinceOnsetOfSymptoms: key.daysSinceOnsetOfSymptoms,
    });
    expect(item?.submissionHour).toBeGreaterThanOrEqual(hourBefore);
    expect(item?.submissionHour).toBeLessThanOrEqual(hourAfter);
    // Kept until 15 days after the end of the submission day (the 00000 bundle covers today−15),
    // as an epoch-seconds TTL: the start of UTC day D + 16.
    expect(item?.expiresAt).toBe((Math.floor((item?.submissionHour as number) / 24) + 16) * 86_400);
  }
  expect(new Set(stored.map((s) => s.submissionHour)).size).toBe(1);
  expect((await store.keyPair(claimed.serverPublicKey))?.remainingKeys).toBe(43 - 28);
});

test('a TOO_MANY_KEYS upload leaves none of its keys behind, and the quota unchanged', async () => {
  // Prepare
  const set = await client.newKeySet();
  const first = appKeys(Date.now());
  expect((await client.upload(set, { timestamp: { seconds: Math.floor(Date.now() / 1000) }, keys: first })).status).toBe(200);
  const second = appKeys(Date.now()).slice(0, 16);

  // Act
  const response = await client.upload(set, { timestamp: { seconds: Math.floor(Date.now() / 1000) }, keys: second });

  // Assess
  expect([response.status, UploadError[response.error]]).toEqual([400, 'TOO_MANY_KEYS']);
  expect(await store.keys(second.map((k) => k.keyData!))).toEqual([]);
  expect((await store.keyPair(set.serverPublicKey))?.remainingKeys).toBe(15);
});

test('an upload rejected by its last key leaves none of the 27 valid keys behind', async () => {
  // Prepare
  const set = await client.newKeySet();
  const keys = appKeys(Date.now());
  keys[27] = { ...keys[27], transmissionRiskLevel: 9 };

  // Act
  const response = await client.upload(set, { timestamp: { seconds: Math.floor(Date.now() / 1000) }, keys });

  // Assess
  expect([response.status, UploadError[response.error]]).toEqual([400, 'INVALID_TRANSMISSION_RISK_LEVEL']);
  expect(await store.keys(keys.map((k) => k.keyData!))).toEqual([]);
  expect((await store.keyPair(set.serverPublicKey))?.remainingKeys).toBe(43);
});

test('a 15-key upload that partly repeats stored keys stores and charges only the new ones', async () => {
  // Prepare
  const set = await client.newKeySet();
  const keys = appKeys(Date.now()).slice(0, 15);
  expect((await client.upload(set, { timestamp: { seconds: Math.floor(Date.now() / 1000) }, keys: keys.slice(0, 10) })).status).toBe(200);

  // Act
  const response = await client.upload(set, { timestamp: { seconds: Math.floor(Date.now() / 1000) }, keys });

  // Assess
  expect([response.status, UploadError[response.error]]).toEqual([200, 'NONE']);
  expect(await store.keys(keys.map((k) => k.keyData!))).toHaveLength(15);
  expect((await store.keyPair(set.serverPublicKey))?.remainingKeys).toBe(43 - 15);
});

test('privacy: no code, bearer token or client address is stored in clear in either table', async () => {
  // Prepare: unclaimed, claimed and regenerated codes from both tokens, failures that create a
  // ban counter for this address, and an upload.
  const codes = [await client.newCode(TOKEN_1), await client.newCode(TOKEN_2)];
  const hashId = randomBytes(64).toString('hex');
  codes.push(await client.newCode(TOKEN_2, hashId), await client.newCode(TOKEN_2, hashId));
  const set = await client.newKeySet(TOKEN_2);
  codes.push(set.code);
  expect((await client.upload(set, { timestamp: { seconds: Math.floor(Date.now() / 1000) }, keys: appKeys(Date.now()).slice(0, 3) })).status).toBe(200);
  const failed = await client.claim('12341234', nacl.box.keyPair().publicKey);
  expect(failed.message.triesRemaining).toBe(49);

  // Act
  const submission = await store.scan(store.tables.submission);
  const diagnosisKeys = await store.scan(store.tables.diagnosisKeys);

  // Assess
  expect(submission.some((item) => String(item.pk).startsWith('ban#'))).toBe(true);
  expect(submission.some((item) => String(item.pk).startsWith('code#'))).toBe(true);
  const everything = textOf([...submission, ...diagnosisKeys]);
  for (const code of codes) {
    expect(everything).not.toContain(code);
    expect(everything.toLowerCase()).not.toContain(code.toLowerCase());
  }
  expect(everything).not.toContain(hashId);
  expect(everything).not.toContain(TOKEN_1);
  expect(everything).not.toContain(TOKEN_2);
  expect(everything).not.toContain('very-long-token');
  expect(everything).not.toContain('127.');
  expect(everything).not.toContain(client.localAddress!);
});

test('a key pair is usable for 15 days only: its expiresAt is the issue day\'s UTC midnight + 15 days', async () => {
  // Prepare
  const issuedDay = Math.floor(Date.now() / DAY_MS);

  // Act
  const set = await client.newKeySet();

  // Assess
  const keyPair = await store.keyPair(set.serverPublicKey);
  const possible = [issuedDay, Math.floor(Date.now() / DAY_MS)].map((day) => (day + 15) * 86_400);
  expect(possible).toContain(keyPair?.expiresAt);
});
