/**
 * Concurrent requests over HTTP: a code is claimed once, a quota is never overdrawn, and key data
 * is stored and charged once server-wide, whatever the interleaving.
 */
import nacl from 'tweetnacl';
import { AppClient, loopbackFor, tek, uploadOf } from '../../support/app-client';
import { runtimeUrl } from '../../support/runtime';
import { ClaimError, openStore, UploadError, type Store } from './support';

const client = new AppClient(runtimeUrl(), loopbackFor(__filename));
let store: Store;

beforeAll(async () => {
  store = await openStore(runtimeUrl());
});
afterAll(() => store.close());

test('20 concurrent claims of one code with 20 distinct app keys: exactly one 200, the others 401 INVALID_ONE_TIME_CODE', async () => {
  // Prepare
  const code = await client.newCode();
  const appKeys = Array.from({ length: 20 }, () => nacl.box.keyPair().publicKey);

  // Act
  const responses = await Promise.all(appKeys.map((key) => client.claim(code, key)));

  // Assess
  const winners = responses.filter((r) => r.status === 200);
  const losers = responses.filter((r) => r.status !== 200);
  expect(winners).toHaveLength(1);
  expect(winners[0].message.serverPublicKey).toHaveLength(32);
  expect(losers.map((r) => [r.status, ClaimError[r.message.error]])).toEqual(losers.map(() => [401, 'INVALID_ONE_TIME_CODE']));
  const winnerKey = appKeys[responses.indexOf(winners[0])];
  const keyPair = await store.keyPair(winners[0].message.serverPublicKey);
  expect(Buffer.from(keyPair?.appPublicKey as Uint8Array).equals(Buffer.from(winnerKey))).toBe(true);
});

test('10 concurrent uploads of 5 new keys each against one key pair (quota 43): exactly 8 succeed, 2 are TOO_MANY_KEYS', async () => {
  // Prepare
  const set = await client.newKeySet();
  const batches = Array.from({ length: 10 }, () => Array.from({ length: 5 }, () => tek()));

  // Act
  const responses = await Promise.all(batches.map((keys) => client.upload(set, uploadOf(keys))));
  const remaining = (await store.keyPair(set.serverPublicKey))?.remainingKeys;
  const lastThree = await client.upload(set, uploadOf([tek(), tek(), tek()]));
  const oneMore = await client.upload(set, uploadOf([tek()]));

  // Assess
  const outcomes = responses.map((r) => `${r.status} ${UploadError[r.error]}`);
  expect(outcomes.filter((o) => o === '200 NONE')).toHaveLength(8);
  expect(outcomes.filter((o) => o === '400 TOO_MANY_KEYS')).toHaveLength(2);
  expect(remaining).toBe(3);
  for (const [i, response] of responses.entries()) {
    const stored = await store.keys(batches[i].map((k) => k.keyData!));
    expect(stored).toHaveLength(response.status === 200 ? 5 : 0);
  }
  expect([lastThree.status, UploadError[lastThree.error]]).toEqual([200, 'NONE']);
  expect([oneMore.status, UploadError[oneMore.error]]).toEqual([400, 'INVALID_KEYPAIR']);
});

test('the same key data uploaded concurrently by two key pairs is stored once and charged once', async () => {
  // Prepare
  const [first, second] = await Promise.all([client.newKeySet(), client.newKeySet()]);
  const keys = Array.from({ length: 5 }, () => tek());

  // Act
  const responses = await Promise.all([first, second].map((set) => client.upload(set, uploadOf(keys))));

  // Assess
  expect(responses.map((r) => [r.status, UploadError[r.error]])).toEqual([
    [200, 'NONE'],
    [200, 'NONE'],
  ]);
  const stored = await store.keys(keys.map((k) => k.keyData!));
  expect(stored).toHaveLength(5);
  const all = await store.scan(store.tables.diagnosisKeys);
  for (const key of keys) {
    expect(all.filter((item) => Buffer.from(item.keyData as Uint8Array).equals(Buffer.from(key.keyData!)))).toHaveLength(1);
  }
  const remaining = [(await store.keyPair(first.serverPublicKey))?.remainingKeys, (await store.keyPair(second.serverPublicKey))?.remainingKeys];
  expect((remaining as number[]).reduce((a, b) => a + b)).toBe(86 - 5);
  expect(remaining.sort()).toEqual([38, 43]);
});

test('the same upload body sent 5 times concurrently is stored and charged once', async () => {
  // Prepare
  const set = await client.newKeySet();
  const upload = uploadOf(Array.from({ length: 4 }, () => tek()));

  // Act
  const responses = await Promise.all(Array.from({ length: 5 }, () => client.upload(set, upload)));

  // Assess
  expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
  expect((await store.keyPair(set.serverPublicKey))?.remainingKeys).toBe(39);
});

test('concurrent claims of 10 different codes from one client all succeed', async () => {
  // Prepare
  const codes = await Promise.all(Array.from({ length: 10 }, () => client.newCode()));

  // Act
  const responses = await Promise.all(codes.map((code) => client.claim(code, nacl.box.keyPair().publicKey)));

  // Assess
  expect(responses.map((r) => r.status)).toEqual(codes.map(() => 200));
});
