import '../../support/builders/quiet-logs';
import { ConfigurationError } from '../../../lambdas/shared/env';
import { makeClaimKeyHandler } from '../../../lambdas/handlers/claim-key';
import { covidshield } from '../../../proto';
import { apiEvent, bodyBytes, bodyHex, lambdaContext } from '../../support/builders/api-events';
import { fakeSubmission, NOW, seedClaimedKeyPair, seedCode, type FakeSubmission } from '../../support/builders/submission';

const ErrorCode = covidshield.KeyClaimResponse.ErrorCode;
const PROTOBUF_HEADERS = { 'Content-Type': 'application/x-protobuf', 'X-Content-Type-Options': 'nosniff' };
const IP = '192.0.2.44';
const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
const claimBody = (oneTimeCode: string, appPublicKey: Uint8Array = new Uint8Array(32).fill(1)) =>
  covidshield.KeyClaimRequest.encode({ oneTimeCode, appPublicKey }).finish();

function handlerWith(sub: FakeSubmission = fakeSubmission()) {
  return { sub, handler: makeClaimKeyHandler(async () => sub) };
}
const post = (handler: ReturnType<typeof makeClaimKeyHandler>, body: Uint8Array | null, options: Parameters<typeof apiEvent>[0] = {}) =>
  handler(apiEvent({ path: '/claim-key', body, sourceIp: IP, ...options }), lambdaContext('claim-key'));
const decode = (result: { body: string; isBase64Encoded?: boolean }) => covidshield.KeyClaimResponse.decode(bodyBytes(result as never));

describe('claim-key handler', () => {
  test('success: 200 protobuf, exactly server_public_key and tries_remaining 50 (no error field)', async () => {
    // Prepare
    const { sub, handler } = handlerWith();
    const seeded = await seedCode(sub, { createdAtMs: NOW });

    // Act
    const result = await post(handler, claimBody(seeded.code));

    // Assess
    expect(result.statusCode).toBe(200);
    expect(result.headers).toEqual(PROTOBUF_HEADERS);
    expect(result.isBase64Encoded).toBe(true);
    expect(bodyHex(result)).toBe(`12 20 ${hex(seeded.server.publicKey)} 18 32`);
  });

  test('an unknown code: 401 INVALID_ONE_TIME_CODE, tries 49 and an empty remaining_ban_duration (bytes 22 00)', async () => {
    // Prepare
    const { handler } = handlerWith();

    // Act
    const result = await post(handler, claimBody('QQQ777QQQQ'));

    // Assess
    expect(result.statusCode).toBe(401);
    expect(result.headers).toEqual(PROTOBUF_HEADERS);
    expect(bodyHex(result)).toBe('08 02 18 31 22 00');
  });

  test('the 50th failure: 401 with tries 0 and a ban of 3600 s; the next request 429 TEMPORARY_BAN with nanos', async () => {
    // Prepare
    const { sub, handler } = handlerWith();
    for (let i = 0; i < 49; i += 1) await post(handler, claimBody('QQQ777QQQQ'));

    // Act
    const fiftieth = await post(handler, claimBody('QQQ777QQQQ'));
    sub.clock.advance(600_500);
    const banned = await post(handler, claimBody('QQQ777QQQQ'));

    // Assess
    expect(fiftieth.statusCode).toBe(401);
    expect(bodyHex(fiftieth)).toBe('08 02 18 00 22 03 08 90 1c');
    expect(banned.statusCode).toBe(429);
    expect(banned.headers).toEqual(PROTOBUF_HEADERS);
    expect(decode(banned).toJSON()).toEqual({ error: 'TEMPORARY_BAN', triesRemaining: 0, remainingBanDuration: { seconds: '2999', nanos: 500_000_000 } });
    expect(bodyBytes(banned).subarray(0, 4)).toEqual(Buffer.from([0x08, 0x05, 0x18, 0x00]));
  });

  test('the ban follows requestContext.identity.sourceIp; X-Forwarded-For is ignored (deviation 7)', async () => {
    // Prepare
    const { handler } = handlerWith();
    for (let i = 0; i < 50; i += 1) await post(handler, claimBody('QQQ777QQQQ'), { headers: { 'X-Forwarded-For': `10.0.0.${i}` } });

    // Act
    const sameIpOtherHeader = await post(handler, claimBody('QQQ777QQQQ'), { headers: { 'X-Forwarded-For': '198.51.100.1' } });
    const otherIpSpoofedHeader = await post(handler, claimBody('QQQ777QQQQ'), { sourceIp: '198.51.100.1', headers: { 'X-Forwarded-For': IP } });

    // Assess
    expect(sameIpOtherHeader.statusCode).toBe(429);
    expect(otherIpSpoofedHeader.statusCode).toBe(401);
    expect(decode(otherIpSpoofedHeader).triesRemaining).toBe(49);
  });

  test.each([
    ['an unparsable body', Uint8Array.from([0xff, 0xff, 0xff])],
    ['a body over 256 bytes', claimBody('A'.repeat(250))],
  ])('%s: 400 UNKNOWN with tries 50 (bytes 08 01 18 32)', async (_why, body) => {
    // Prepare
    const { handler } = handlerWith();

    // Act
    const result = await post(handler, body);

    // Assess
    expect(result.statusCode).toBe(400);
    expect(result.headers).toEqual(PROTOBUF_HEADERS);
    expect(bodyHex(result)).toBe('08 01 18 32');
  });

  test('a body of exactly 256 bytes is read (not UNKNOWN)', async () => {
    // Prepare
    const { handler } = handlerWith();
    const body = claimBody('Q'.repeat(220));
    const padded = claimBody('Q'.repeat(220 + 256 - body.length));

    // Act
    const result = await post(handler, padded);

    // Assess
    expect(padded).toHaveLength(256);
    expect(result.statusCode).toBe(401);
    expect(decode(result).error).toBe(ErrorCode.INVALID_ONE_TIME_CODE);
  });

  test('an app key of 31 bytes: 400 INVALID_KEY (bytes 08 04 18 32)', async () => {
    // Prepare
    const { sub, handler } = handlerWith();
    const seeded = await seedCode(sub, { createdAtMs: NOW });

    // Act
    const result = await post(handler, claimBody(seeded.code, new Uint8Array(31)));

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyHex(result)).toBe('08 04 18 32');
  });

  test('an app key already bound: 401 INVALID_KEY', async () => {
    // Prepare
    const { sub, handler } = handlerWith();
    const bound = await seedClaimedKeyPair(sub, { createdAtMs: NOW });
    const seeded = await seedCode(sub, { createdAtMs: NOW });

    // Act
    const result = await post(handler, claimBody(seeded.code, bound.app.publicKey));

    // Assess
    expect(result.statusCode).toBe(401);
    expect(bodyHex(result)).toBe('08 04 18 32');
  });

  test.each(['GET', 'PUT', 'OPTIONS'])('%s: 405 text/plain "method not allowed\\n" (deviation 10)', async (method) => {
    // Prepare
    const { sub, handler } = handlerWith();

    // Act
    const result = await post(handler, claimBody('QQQ777QQQQ'), { method });

    // Assess
    expect(result).toEqual({
      statusCode: 405,
      headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' },
      body: 'method not allowed\n',
    });
    expect(sub.fake.calls).toEqual([]);
  });

  test('a storage failure: 500 SERVER_ERROR protobuf', async () => {
    // Prepare
    const { sub, handler } = handlerWith();
    sub.fake.failWith('bans.get');

    // Act
    const result = await post(handler, claimBody('QQQ777QQQQ'));

    // Assess
    expect(result.statusCode).toBe(500);
    expect(result.headers).toEqual(PROTOBUF_HEADERS);
    expect(bodyHex(result)).toBe('08 03 18 32');
  });

  test('a bad configuration (the context factory throws): 500 SERVER_ERROR protobuf, no exception text', async () => {
    // Prepare
    const handler = makeClaimKeyHandler(async () => {
      throw new ConfigurationError(['SUBMISSION_HMAC_KEY: must be hex text with an even number of digits']);
    });

    // Act
    const result = await post(handler, claimBody('QQQ777QQQQ'));

    // Assess
    expect(result.statusCode).toBe(500);
    expect(result.headers).toEqual(PROTOBUF_HEADERS);
    expect(decode(result).error).toBe(ErrorCode.SERVER_ERROR);
    expect(bodyHex(result)).toBe('08 03'); // tries_remaining unknown, so absent rather than 0
    expect(bodyBytes(result).toString('latin1')).not.toMatch(/HMAC|configuration|hex/);
  });
});
