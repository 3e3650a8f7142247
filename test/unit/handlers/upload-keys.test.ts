import '../../support/builders/quiet-logs';
import { makeUploadKeysHandler, UPLOAD_BODY_LIMIT } from '../../../lambdas/handlers/upload-keys';
import { covidshield } from '../../../proto';
import { apiEvent, bodyHex, lambdaContext } from '../../support/builders/api-events';
import { fakeSubmission, NOW, seedClaimedKeyPair, type FakeSubmission } from '../../support/builders/submission';
import { encodeUpload, sealedUpload, someKeys, uploadPlaintext } from '../../support/builders/uploads';

const PROTOBUF_HEADERS = { 'Content-Type': 'application/x-protobuf', 'X-Content-Type-Options': 'nosniff' };

async function setUp() {
  const sub = fakeSubmission();
  const pair = await seedClaimedKeyPair(sub, { createdAtMs: NOW });
  return { sub, pair, handler: makeUploadKeysHandler(async () => sub) };
}
const post = (handler: ReturnType<typeof makeUploadKeysHandler>, body: Uint8Array | null, method = 'POST') =>
  handler(apiEvent({ method, path: '/upload', body }), lambdaContext('upload-keys'));
const plaintext = (n: number, extra: Partial<covidshield.TemporaryExposureKey.$Properties> = {}) =>
  uploadPlaintext({ timestampSeconds: NOW / 1000, keys: someKeys(NOW, n, extra) });

describe('upload-keys handler', () => {
  test('success: 200 application/x-protobuf, body exactly 08 00', async () => {
    // Prepare
    const { sub, pair, handler } = await setUp();

    // Act
    const result = await post(handler, encodeUpload(sealedUpload(pair, plaintext(3))));

    // Assess
    expect(result).toEqual({ statusCode: 200, headers: PROTOBUF_HEADERS, body: 'CAA=', isBase64Encoded: true });
    expect(bodyHex(result)).toBe('08 00');
    expect(sub.fake.diagnosisKeys.size).toBe(3);
  });

  test('28 keys with all six fields fit the 2048-byte cap (deviation 2) and are stored', async () => {
    // Prepare
    const { sub, pair, handler } = await setUp();
    const body = encodeUpload(sealedUpload(pair, plaintext(28, { reportType: 1, daysSinceOnsetOfSymptoms: -14, transmissionRiskLevel: 8 })));

    // Act
    const result = await post(handler, body);

    // Assess
    expect(body.length).toBeGreaterThan(1024);
    expect(body.length).toBeLessThanOrEqual(UPLOAD_BODY_LIMIT);
    expect(bodyHex(result)).toBe('08 00');
    expect(sub.fake.diagnosisKeys.size).toBe(28);
  });

  test.each([
    ['a body over 2048 bytes', new Uint8Array(UPLOAD_BODY_LIMIT + 1).fill(0x0a)],
    ['an unparsable body', Uint8Array.from([0x0a, 0x50, 0x01])],
  ])('%s: 400 UNKNOWN (bytes 08 01)', async (_why, body) => {
    // Prepare
    const { handler } = await setUp();

    // Act
    const result = await post(handler, body);

    // Assess
    expect(result.statusCode).toBe(400);
    expect(result.headers).toEqual(PROTOBUF_HEADERS);
    expect(bodyHex(result)).toBe('08 01');
  });

  test('a body of exactly 2048 bytes is read: it gets as far as decryption (DECRYPTION_FAILED, bytes 08 03)', async () => {
    // Prepare: pad the box with garbage until the request is exactly the cap
    const { pair, handler } = await setUp();
    const sealed = sealedUpload(pair, plaintext(1));
    const sized = (n: number) => encodeUpload({ ...sealed, payload: new Uint8Array(n).fill(0x55) });
    let n = UPLOAD_BODY_LIMIT - 100;
    while (sized(n).length < UPLOAD_BODY_LIMIT) n += 1;
    const body = sized(n);

    // Act
    const result = await post(handler, body);

    // Assess
    expect(body).toHaveLength(UPLOAD_BODY_LIMIT);
    expect(result.statusCode).toBe(400);
    expect(bodyHex(result)).toBe('08 03');
  });

  test('an unknown server key: 401 INVALID_KEYPAIR (bytes 08 02)', async () => {
    // Prepare
    const { pair, handler } = await setUp();
    const request = { ...sealedUpload(pair, plaintext(1)), serverPublicKey: new Uint8Array(32).fill(3) };

    // Act
    const result = await post(handler, encodeUpload(request));

    // Assess
    expect(result.statusCode).toBe(401);
    expect(bodyHex(result)).toBe('08 02');
  });

  test('a too-large timestamp skew: 400 INVALID_TIMESTAMP (bytes 08 08)', async () => {
    // Prepare
    const { pair, handler } = await setUp();
    const request = sealedUpload(pair, uploadPlaintext({ timestampSeconds: NOW / 1000 - 7200, keys: someKeys(NOW, 1) }));

    // Act
    const result = await post(handler, encodeUpload(request));

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyHex(result)).toBe('08 08');
  });

  test.each(['GET', 'PUT', 'OPTIONS'])('%s: 405 text/plain "method not allowed\\n"', async (method) => {
    // Prepare
    const { sub, pair, handler } = await setUp();
    sub.fake.calls.length = 0;

    // Act
    const result = await post(handler, encodeUpload(sealedUpload(pair, plaintext(1))), method);

    // Assess
    expect(result).toEqual({
      statusCode: 405,
      headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' },
      body: 'method not allowed\n',
    });
    expect(sub.fake.calls).toEqual([]);
  });

  test('a storage failure: 500 SERVER_ERROR (bytes 08 05)', async () => {
    // Prepare
    const { sub, pair, handler } = await setUp();
    sub.fake.failWith('keyPairs.storeKeys');

    // Act
    const result = await post(handler, encodeUpload(sealedUpload(pair, plaintext(1))));

    // Assess
    expect(result).toEqual({ statusCode: 500, headers: PROTOBUF_HEADERS, body: 'CAU=', isBase64Encoded: true });
  });

  test('a bad configuration (the context factory throws): 500 SERVER_ERROR protobuf, no exception text', async () => {
    // Prepare
    const { pair } = await setUp();
    const handler = makeUploadKeysHandler(async () => {
      throw new Error('DIAGNOSIS_KEYS_TABLE_NAME is not set');
    });

    // Act
    const result = await post(handler, encodeUpload(sealedUpload(pair, plaintext(1))));

    // Assess
    expect(result).toEqual({ statusCode: 500, headers: PROTOBUF_HEADERS, body: 'CAU=', isBase64Encoded: true });
  });

  test('an unexpected exception inside the use case: 500 SERVER_ERROR protobuf', async () => {
    // Prepare
    const sub: FakeSubmission = fakeSubmission();
    const pair = await seedClaimedKeyPair(sub, { createdAtMs: NOW });
    sub.fake.failWith('keyPairs.get', new TypeError('cannot read properties of undefined'));
    const handler = makeUploadKeysHandler(async () => sub);

    // Act
    const result = await post(handler, encodeUpload(sealedUpload(pair, plaintext(1))));

    // Assess
    expect(result.statusCode).toBe(500);
    expect(bodyHex(result)).toBe('08 05');
  });
});
