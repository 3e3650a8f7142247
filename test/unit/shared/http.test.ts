import { header, protobuf, requestBody, text } from '../../../lambdas/shared/http';
import { services } from '../../../lambdas/handlers/services';

describe('requestBody', () => {
  const b64 = (bytes: Buffer) => ({ body: bytes.toString('base64'), isBase64Encoded: true });

  test('decodes base64 bodies exactly', () => {
    const bytes = Buffer.from([0, 255, 1, 254]);
    expect(requestBody(b64(bytes), 10)).toEqual({ ok: true, body: bytes });
  });

  test('accepts exactly the cap and refuses one byte more', () => {
    expect(requestBody(b64(Buffer.alloc(256)), 256).ok).toBe(true);
    expect(requestBody(b64(Buffer.alloc(257)), 256)).toEqual({ ok: false, reason: 'too-large' });
  });

  test('refuses a huge body without decoding it, and malformed base64', () => {
    expect(requestBody({ body: 'A'.repeat(4_000_000), isBase64Encoded: true }, 2048)).toEqual({ ok: false, reason: 'too-large' });
    expect(requestBody({ body: '@@@@', isBase64Encoded: true }, 2048)).toEqual({ ok: false, reason: 'unreadable' });
  });

  test('a null body is empty; a plain body is taken as UTF-8', () => {
    expect(requestBody({ body: null, isBase64Encoded: false }, 10)).toEqual({ ok: true, body: Buffer.alloc(0) });
    expect(requestBody({ body: 'héllo', isBase64Encoded: false }, 10)).toEqual({ ok: true, body: Buffer.from('héllo') });
  });
});

describe('responses', () => {
  test('plain-text errors follow Go http.Error: trailing newline, nosniff', () => {
    expect(text(401, 'unauthorized')).toEqual({
      statusCode: 401,
      headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' },
      body: 'unauthorized\n',
    });
  });

  test('protobuf bodies are base64 for API Gateway', () => {
    expect(protobuf(200, new Uint8Array([8, 0]))).toMatchObject({ body: 'CAA=', isBase64Encoded: true, headers: { 'Content-Type': 'application/x-protobuf' } });
  });

  test('header lookup ignores case', () => {
    expect(header({ headers: { AuThOrIzAtIoN: 'Bearer x' } }, 'authorization')).toBe('Bearer x');
  });
});

describe('services handler', () => {
  test('ping answers OK with no-store; present answers 204', async () => {
    await expect(services({ path: '/services/ping' })).resolves.toMatchObject({ statusCode: 200, body: 'OK\n', headers: { 'Cache-Control': 'no-store' } });
    await expect(services({ path: '/services/present' })).resolves.toMatchObject({ statusCode: 204, body: '' });
  });
});
