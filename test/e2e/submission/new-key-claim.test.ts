/**
 * /new-key-claim and /new-key-claim/{hashId} over HTTP: upstream new_key_claim_test.rb (NK*) and
 * new_key_claim_hash_id_test.rb (NH*), with deviations 5 (regeneration), 6 (opaque originator)
 * and 10 (methods).
 */
import { randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { AppClient, loopbackFor, TOKEN_1, TOKEN_2 } from '../../support/app-client';
import { runtimeUrl } from '../../support/runtime';
import { ClaimError, openStore, PROTOBUF, TEXT_PLAIN, type Store } from './support';

const CODE = /^(?:[AEFHJKLQRSUWXYZ]{3}|[2456789]{3}){2}(?:[AEFHJKLQRSUWXYZ]{4}|[2456789]{4})\n$/;
const CORS_HEADERS = 'Accept, Content-Type, Content-Length, Accept-Encoding, X-CSRF-Token, Authorization, Referer, User-Agent';
const newHashId = () => randomBytes(64).toString('hex');

const client = new AppClient(runtimeUrl(), loopbackFor(__filename));
let store: Store;

beforeAll(async () => {
  store = await openStore(runtimeUrl());
});
afterAll(() => store.close());

/** The originator stored with the key pair of a freshly issued and claimed code. */
async function originatorOf(token: string): Promise<unknown> {
  const code = await client.newCode(token);
  const claimed = await client.claim(code, nacl.box.keyPair().publicKey);
  return (await store.keyPair(claimed.message.serverPublicKey))?.originator;
}

describe('new_key_claim_test.rb', () => {
  test('NK1 POST without Authorization is 401 unauthorized', async () => {
    // Act
    const response = await client.send('/new-key-claim', { method: 'POST' });

    // Assess
    expect(response.status).toBe(401);
    expect(response.headers['content-type']).toBe(TEXT_PLAIN);
    expect(response.text()).toBe('unauthorized\n');
  });

  test.each([
    ['a wrong token', 'Bearer not-the-right-token'],
    ['lower-case scheme', `bearer ${TOKEN_1}`],
    ['two spaces', `Bearer  ${TOKEN_1}`],
    ['a token prefix', `Bearer ${TOKEN_1.slice(0, -1)}`],
    ['no scheme', TOKEN_1],
  ])('NK2 POST with %s is 401 unauthorized', async (_name, authorization) => {
    // Act
    const response = await client.send('/new-key-claim', { method: 'POST', headers: { Authorization: authorization } });

    // Assess
    expect(response.status).toBe(401);
    expect(response.headers['content-type']).toBe(TEXT_PLAIN);
    expect(response.text()).toBe('unauthorized\n');
  });

  test('NK3 POST with the first token is 200 with a 10-character code; the originator is an opaque id (deviation 6)', async () => {
    // Act
    const response = await client.issueCode(TOKEN_1);

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe(TEXT_PLAIN);
    expect(response.headers['access-control-allow-origin']).toBe('*');
    expect(response.text()).toMatch(/^[A-Z0-9]{10}\n$/);
    expect(response.text()).toMatch(CODE);
    const originator = await originatorOf(TOKEN_1);
    expect(typeof originator).toBe('string');
    expect(originator).not.toContain(TOKEN_1);
    expect(await originatorOf(TOKEN_1)).toBe(originator);
  });

  test('NK4 POST with the second token is 200; its originator is a second opaque id (deviation 6)', async () => {
    // Act
    const response = await client.issueCode(TOKEN_2);
    const first = await originatorOf(TOKEN_1);
    const second = await originatorOf(TOKEN_2);

    // Assess
    expect(response.status).toBe(200);
    expect(response.text()).toMatch(CODE);
    expect(second).toEqual(expect.any(String));
    expect(second).not.toBe(first);
    expect(second).not.toContain(TOKEN_2);
  });

  test.each(['GET', 'PATCH', 'DELETE', 'PUT'])('NK5 %s /new-key-claim is 401 unauthorized, with or without a token', async (method) => {
    // Act
    const anonymous = await client.send('/new-key-claim', { method });
    const withToken = await client.issueCode(TOKEN_1, undefined, method);

    // Assess
    for (const response of [anonymous, withToken]) {
      expect(response.status).toBe(401);
      expect(response.headers['content-type']).toBe(TEXT_PLAIN);
      expect(response.text()).toBe('unauthorized\n');
    }
  });

  test('deviation 10: OPTIONS /new-key-claim is the CORS preflight (200, empty body)', async () => {
    // Act
    const response = await client.send('/new-key-claim', { method: 'OPTIONS' });

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.length).toBe(0);
    expect(response.headers['access-control-allow-origin']).toBe('*');
    expect(response.headers['access-control-allow-methods']).toBe('POST');
    expect(response.headers['access-control-allow-headers']).toBe(CORS_HEADERS);
  });

  test('deviation 10: OPTIONS /new-key-claim/{hashId} is the CORS preflight too', async () => {
    // Act
    const response = await client.send(`/new-key-claim/${newHashId()}`, { method: 'OPTIONS' });

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers['access-control-allow-methods']).toBe('POST');
  });

  test('issued codes are distinct', async () => {
    // Act
    const codes = await Promise.all(Array.from({ length: 10 }, () => client.newCode(TOKEN_1)));

    // Assess
    expect(new Set(codes).size).toBe(10);
  });
});

describe('new_key_claim_hash_id_test.rb (one hashId, in order)', () => {
  const hashId = newHashId();
  const codes: string[] = [];

  test.each([
    ['abcd', 'abcd'],
    ['127 hex characters', 'a'.repeat(127)],
    ['129 hex characters', 'a'.repeat(129)],
    ['upper-case hex', 'A'.repeat(128)],
    ['a non-hex letter', `${'a'.repeat(127)}!`],
  ])('NH1 POST /new-key-claim/<%s> is 404 page not found', async (_name, id) => {
    // Act
    const response = await client.issueCode(TOKEN_1, id);

    // Assess
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toBe(TEXT_PLAIN);
    expect(response.text()).toBe('404 page not found\n');
  });

  test.each(['GET', 'OPTIONS', 'PUT'])('NH1 %s /new-key-claim/abcd is 404 too (the route does not match)', async (method) => {
    // Act
    const response = await client.issueCode(TOKEN_1, 'abcd', method);

    // Assess
    expect(response.status).toBe(404);
    expect(response.text()).toBe('404 page not found\n');
  });

  test('NH1 POST /new-key-claim/ (empty hashId) is 404', async () => {
    // Act
    const response = await client.send('/new-key-claim/', { method: 'POST', headers: { Authorization: `Bearer ${TOKEN_1}` } });

    // Assess
    expect(response.status).toBe(404);
    expect(response.text()).toBe('404 page not found\n');
  });

  test.each(['GET', 'PATCH', 'DELETE', 'PUT'])('NH2 %s /new-key-claim/<hash> is 401 unauthorized', async (method) => {
    // Act
    const response = await client.send(`/new-key-claim/${newHashId()}`, { method });

    // Assess
    expect(response.status).toBe(401);
    expect(response.text()).toBe('unauthorized\n');
  });

  test('NH3 POST /new-key-claim/<hash> with the second token is 200 with a code', async () => {
    // Act
    const response = await client.issueCode(TOKEN_2, hashId);

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe(TEXT_PLAIN);
    expect(response.text()).toMatch(CODE);
    codes.push(response.text().trim());
  });

  test('NH4 the same POST again gives a different code and invalidates the old one', async () => {
    // Act
    const response = await client.issueCode(TOKEN_2, hashId);
    const old = await client.claim(codes[0], nacl.box.keyPair().publicKey);

    // Assess
    expect(response.status).toBe(200);
    expect(response.text()).toMatch(CODE);
    expect(response.text().trim()).not.toBe(codes[0]);
    expect(old.status).toBe(401);
    expect(old.message.error).toBe(ClaimError.INVALID_ONE_TIME_CODE);
    codes.push(response.text().trim());
  });

  test('deviation 5: every regeneration returns a new code and the previous one stops working', async () => {
    // Act
    for (let i = 0; i < 3; i += 1) codes.push(await client.newCode(TOKEN_2, hashId));
    const claims = await Promise.all(codes.slice(0, -1).map((code) => client.claim(code, nacl.box.keyPair().publicKey)));

    // Assess
    expect(new Set(codes).size).toBe(codes.length);
    expect(claims.map((c) => [c.status, c.message.error])).toEqual(claims.map(() => [401, ClaimError.INVALID_ONE_TIME_CODE]));
  });

  test('NH5 /claim-key with the latest code is 200 NONE with a 32-byte server key and tries 50', async () => {
    // Act
    const claimed = await client.claim(codes[codes.length - 1], nacl.box.keyPair().publicKey);

    // Assess
    expect(claimed.status).toBe(200);
    expect(claimed.contentType).toBe(PROTOBUF);
    expect(claimed.message.error).toBe(ClaimError.NONE);
    expect(claimed.message.serverPublicKey).toHaveLength(32);
    expect(claimed.message.triesRemaining).toBe(50);
  });

  test('NH6 POST /new-key-claim/<hash> after the claim is 403 forbidden', async () => {
    // Act
    const response = await client.issueCode(TOKEN_2, hashId);

    // Assess
    expect(response.status).toBe(403);
    expect(response.headers['content-type']).toBe(TEXT_PLAIN);
    expect(response.text()).toBe('forbidden\n');
  });
});
