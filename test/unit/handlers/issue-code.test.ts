import '../../support/builders/quiet-logs';
import { HASH_ID_PATTERN, makeIssueCodeHandler } from '../../../lambdas/handlers/issue-code';
import { isWellFormedCode } from '../../../lambdas/domain/codes';
import { submissionContextFromEnv } from '../../../lambdas/shared/submission-context';
import { ENV } from '../../../lib/env-names';
import { apiEvent, lambdaContext } from '../../support/builders/api-events';
import { fakeSubmission, hashIdOf, NOW, seedClaimedKeyPair, TOKENS } from '../../support/builders/submission';

const TEXT = 'text/plain; charset=utf-8';
const CORS_HEADERS = 'Accept, Content-Type, Content-Length, Accept-Encoding, X-CSRF-Token, Authorization, Referer, User-Agent';
const auth = (token: string = TOKENS.ontario.token) => ({ Authorization: `Bearer ${token}` });

function handlerWith(sub = fakeSubmission()) {
  return { sub, handler: makeIssueCodeHandler(async () => sub) };
}
const invoke = (handler: ReturnType<typeof makeIssueCodeHandler>, options: Parameters<typeof apiEvent>[0]) =>
  handler(apiEvent({ path: '/new-key-claim', ...options }), lambdaContext('issue-code'));

describe('issue-code handler', () => {
  test('POST with a valid bearer token answers 200 text/plain with the code and a newline, CORS origin *', async () => {
    // Prepare
    const { sub, handler } = handlerWith();

    // Act
    const result = await invoke(handler, { headers: auth() });

    // Assess
    expect(result.statusCode).toBe(200);
    expect(result.headers).toEqual({ 'Content-Type': TEXT, 'Access-Control-Allow-Origin': '*' });
    expect(result.body).toMatch(/^[A-Z0-9]{10}\n$/);
    expect(isWellFormedCode(result.body.trimEnd())).toBe(true);
    await expect(sub.codes.findCode(sub.hasher.digest('code', result.body.trimEnd()), NOW)).resolves.toMatchObject({ source: 'ON' });
  });

  test('the Authorization header is found whatever its casing', async () => {
    // Prepare
    const { handler } = handlerWith();

    // Act
    const result = await invoke(handler, { headers: { authorization: `Bearer ${TOKENS.federal.token}` } });

    // Assess
    expect(result.statusCode).toBe(200);
  });

  test.each([
    ['no header', {}],
    ['wrong scheme', { Authorization: `Token ${TOKENS.ontario.token}` }],
    ['two spaces', { Authorization: `Bearer  ${TOKENS.ontario.token}` }],
    ['unknown token', { Authorization: 'Bearer not-a-token-0123456789abcdef' }],
  ])('POST with %s answers 401 unauthorized\\n', async (_why, headers) => {
    // Prepare
    const { sub, handler } = handlerWith();

    // Act
    const result = await invoke(handler, { headers });

    // Assess
    expect(result).toEqual({ statusCode: 401, headers: { 'Content-Type': TEXT, 'X-Content-Type-Options': 'nosniff' }, body: 'unauthorized\n' });
    expect(sub.fake.calls).toEqual([]);
  });

  test.each(['GET', 'PUT', 'DELETE', 'HEAD', 'PATCH'])('%s answers 401 unauthorized\\n, even with a valid token', async (method) => {
    // Prepare
    const { sub, handler } = handlerWith();

    // Act
    const result = await invoke(handler, { method, headers: auth() });

    // Assess
    expect(result).toMatchObject({ statusCode: 401, body: 'unauthorized\n' });
    expect(sub.fake.calls).toEqual([]);
  });

  test('OPTIONS answers 200 with an empty body and the CORS headers', async () => {
    // Prepare
    const { handler } = handlerWith();

    // Act
    const result = await invoke(handler, { method: 'OPTIONS' });

    // Assess
    expect(result).toEqual({
      statusCode: 200,
      headers: { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Methods': 'POST', 'Access-Control-Allow-Headers': CORS_HEADERS },
      body: '',
    });
  });

  describe('/new-key-claim/{hashId}', () => {
    test(`a hashId matching ${HASH_ID_PATTERN} issues a code; a second request regenerates it`, async () => {
      // Prepare
      const { handler } = handlerWith();
      const hashId = hashIdOf('hashid-handler');

      // Act
      const first = await invoke(handler, { path: `/new-key-claim/${hashId}`, pathParameters: { hashId }, headers: auth() });
      const second = await invoke(handler, { path: `/new-key-claim/${hashId}`, pathParameters: { hashId }, headers: auth() });

      // Assess
      expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
      expect(second.body).not.toBe(first.body);
    });

    test('a hashId whose code was claimed answers 403 forbidden\\n', async () => {
      // Prepare
      const { sub, handler } = handlerWith();
      const hashId = hashIdOf('claimed');
      await seedClaimedKeyPair(sub, { createdAtMs: NOW, hashId });

      // Act
      const result = await invoke(handler, { path: `/new-key-claim/${hashId}`, pathParameters: { hashId }, headers: auth() });

      // Assess
      expect(result).toEqual({ statusCode: 403, headers: { 'Content-Type': TEXT, 'X-Content-Type-Options': 'nosniff' }, body: 'forbidden\n' });
    });

    test.each([
      ['127 characters', 'a'.repeat(127)],
      ['129 characters', 'a'.repeat(129)],
      ['upper-case hex', hashIdOf('x').toUpperCase()],
      ['a dash', `${'a'.repeat(127)}-`],
      ['empty', ''],
    ])('a hashId of %s answers 404 "404 page not found\\n" before the method check', async (_why, hashId) => {
      // Prepare
      const { sub, handler } = handlerWith();

      // Act
      const results = await Promise.all(
        ['POST', 'OPTIONS', 'GET'].map((method) => invoke(handler, { method, path: `/new-key-claim/${hashId}`, pathParameters: { hashId }, headers: auth() })),
      );

      // Assess
      for (const result of results) {
        expect(result).toEqual({ statusCode: 404, headers: { 'Content-Type': TEXT, 'X-Content-Type-Options': 'nosniff' }, body: '404 page not found\n' });
      }
      expect(sub.fake.calls).toEqual([]);
    });

    test('commas and digits are allowed by the upstream pattern', async () => {
      // Prepare
      const { handler } = handlerWith();
      const hashId = `${'0123456789,'.repeat(11)}abcdefghijklmnopqrstuvwxyz`.slice(0, 128);

      // Act
      const result = await invoke(handler, { path: `/new-key-claim/${hashId}`, pathParameters: { hashId }, headers: auth() });

      // Assess
      expect(hashId).toHaveLength(128);
      expect(result.statusCode).toBe(200);
    });
  });

  describe('server errors', () => {
    test('every retry colliding answers 500 server error\\n, never 200 without a code (deviation 5)', async () => {
      // Prepare
      const sub = fakeSubmission();
      const codes = { ...sub.codes, insertCode: async () => ({ kind: 'retry' }) as const };
      const handler = makeIssueCodeHandler(async () => ({ ...sub, codes }));

      // Act
      const result = await invoke(handler, { headers: auth() });

      // Assess
      expect(result).toEqual({ statusCode: 500, headers: { 'Content-Type': TEXT, 'X-Content-Type-Options': 'nosniff' }, body: 'server error\n' });
    });

    test('a storage failure answers 500 server error\\n', async () => {
      // Prepare
      const { sub, handler } = handlerWith();
      sub.fake.failWith('codes.insertCode');

      // Act
      const result = await invoke(handler, { headers: auth() });

      // Assess
      expect(result).toMatchObject({ statusCode: 500, body: 'server error\n' });
    });

    test('a bad configuration (the context factory throws) answers 500 server error\\n without its text', async () => {
      // Prepare
      const env = { [ENV.submissionTable]: 's', [ENV.diagnosisKeysTable]: 'd', KEY_CLAIM_TOKEN: 'short=ON', SUBMISSION_HMAC_KEY: 'not-hex' };
      const handler = makeIssueCodeHandler(() => submissionContextFromEnv('issue-code', env));

      // Act
      const result = await invoke(handler, { headers: { Authorization: 'Bearer short' } });

      // Assess
      expect(result).toEqual({ statusCode: 500, headers: { 'Content-Type': TEXT, 'X-Content-Type-Options': 'nosniff' }, body: 'server error\n' });
    });
  });
});
