/**
 * retrieve-auth (lambdas/edge/retrieve-auth.js) through the vm runner, with a fixed clock.
 * Case names RT* refer to reference/upstream-server.md §11 (retrieve_test.rb).
 */
import { createHmac } from 'node:crypto';
import { createEdgeFunction, type EdgeResult } from '../../../local/edge-runner';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const KEY_HEX = '3f9c1a7be4d2056819ac3b7ed0f4a2c65b8e1d9027fa4c3e6b5d8a1f0c2e7b94d1a6';
const NOW = Date.UTC(2021, 2, 10, 12, 34, 56); // 2021-03-10T12:34:56Z
const TODAY = Math.floor(NOW / DAY_MS);

/** The app's HMAC (reference §12): lowercase hex HMAC-SHA256(hex-decode(key), `${MCC}:${period}:${hour}`). */
function appHmac(period: string, options: { mcc?: string; nowMs?: number; keyHex?: string } = {}): string {
  const { mcc = '302', nowMs = NOW, keyHex = KEY_HEX } = options;
  return createHmac('sha256', Buffer.from(keyHex, 'hex'))
    .update(`${mcc}:${period}:${Math.floor(nowMs / HOUR_MS)}`)
    .digest('hex');
}

const day = (offset: number) => String(TODAY + offset).padStart(5, '0');

function edge(kvs: Record<string, string> = { hmacKey: KEY_HEX, regions: '302' }, now = () => NOW) {
  return createEdgeFunction({ kvs, now });
}

const ERROR_HEADERS = {
  'content-type': 'text/plain; charset=utf-8',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

const response = (status: number, body: string): EdgeResult => ({ kind: 'response', status, headers: ERROR_HEADERS, body });
const rewrite = (uri: string): EdgeResult => ({ kind: 'rewrite', uri, querystring: '' });

const NOT_FOUND = response(404, '404 page not found\n');
const UNAUTHORIZED = response(401, 'unauthorized\n');

describe('retrieve-auth: period window (fixed clock)', () => {
  test('RT2: today is served (rewritten to its export object)', async () => {
    // Prepare
    const fn = edge();

    // Act
    const result = await fn.handle({ method: 'GET', uri: `/retrieve/302/${day(0)}/${appHmac(day(0))}` });

    // Assess
    expect(result).toEqual(rewrite(`/exports/302/${day(0)}.zip`));
  });

  test('RT3 and RT5: today-1 and today-14 are served', async () => {
    // Prepare
    const fn = edge();

    // Act
    const yesterday = await fn.handle({ method: 'GET', uri: `/retrieve/302/${day(-1)}/${appHmac(day(-1))}` });
    const oldest = await fn.handle({ method: 'GET', uri: `/retrieve/302/${day(-14)}/${appHmac(day(-14))}` });

    // Assess
    expect(yesterday).toEqual(rewrite(`/exports/302/${day(-1)}.zip`));
    expect(oldest).toEqual(rewrite(`/exports/302/${day(-14)}.zip`));
  });

  test('RT6: today-15 is 410 requested data no longer valid', async () => {
    // Prepare
    const fn = edge();

    // Act
    const result = await fn.handle({ method: 'GET', uri: `/retrieve/302/${day(-15)}/${appHmac(day(-15))}` });

    // Assess
    expect(result).toEqual(response(410, 'requested data no longer valid\n'));
  });

  test('RT4: today+1 is 404 cannot request future data, with the exact plain-text headers', async () => {
    // Prepare
    const fn = edge();

    // Act
    const result = await fn.handle({ method: 'GET', uri: `/retrieve/302/${day(1)}/${appHmac(day(1))}` });

    // Assess
    expect(result).toEqual({
      kind: 'response',
      status: 404,
      headers: {
        'content-type': 'text/plain; charset=utf-8',
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-store',
      },
      body: 'cannot request future data\n',
    });
  });

  test('00000 (the 15-day bundle) is served', async () => {
    // Prepare
    const fn = edge();

    // Act
    const result = await fn.handle({ method: 'GET', uri: `/retrieve/302/00000/${appHmac('00000')}` });

    // Assess
    expect(result).toEqual(rewrite('/exports/302/00000.zip'));
  });

  test('the day boundary follows the injected clock, read per request', async () => {
    // Prepare: one second before and at the UTC midnight that starts TODAY+1
    let nowMs = (TODAY + 1) * DAY_MS - 1000;
    const fn = edge(undefined, () => nowMs);
    const period = day(1);

    // Act
    const before = await fn.handle({ method: 'GET', uri: `/retrieve/302/${period}/${appHmac(period, { nowMs })}` });
    nowMs += 1000;
    const after = await fn.handle({ method: 'GET', uri: `/retrieve/302/${period}/${appHmac(period, { nowMs })}` });

    // Assess
    expect(before).toEqual(response(404, 'cannot request future data\n'));
    expect(after).toEqual(rewrite(`/exports/302/${period}.zip`));
  });

  test('the querystring is dropped on rewrite', async () => {
    // Prepare
    const fn = edge();

    // Act
    const inUri = await fn.handle({ method: 'GET', uri: `/retrieve/302/${day(-1)}/${appHmac(day(-1))}?cachebuster=1&a=2` });
    const separate = await fn.handle({
      method: 'GET',
      uri: `/retrieve/302/${day(-1)}/${appHmac(day(-1))}`,
      querystring: { x: ['1', '2'] },
    });

    // Assess
    expect(inUri).toEqual(rewrite(`/exports/302/${day(-1)}.zip`));
    expect(separate).toEqual(rewrite(`/exports/302/${day(-1)}.zip`));
  });
});

describe('retrieve-auth: methods', () => {
  test.each(['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])('RT7: %s with a valid HMAC is 405 method not allowed', async (method) => {
    // Prepare
    const fn = edge();

    // Act
    const result = await fn.handle({ method, uri: `/retrieve/302/${day(-1)}/${appHmac(day(-1))}` });

    // Assess
    expect(result).toEqual(response(405, 'method not allowed\n'));
  });

  test('HEAD is allowed like GET (deviation 10)', async () => {
    // Prepare
    const fn = edge();

    // Act
    const result = await fn.handle({ method: 'HEAD', uri: `/retrieve/302/${day(-1)}/${appHmac(day(-1))}` });

    // Assess
    expect(result).toEqual(rewrite(`/exports/302/${day(-1)}.zip`));
  });

  test('auth is checked before the method: POST with a bad HMAC is 401', async () => {
    // Prepare
    const fn = edge();

    // Act
    const result = await fn.handle({ method: 'POST', uri: `/retrieve/302/${day(-1)}/${'0'.repeat(64)}` });

    // Assess
    expect(result).toEqual(UNAUTHORIZED);
  });

  test('the method is checked before the period: DELETE on a future day is 405', async () => {
    // Prepare
    const fn = edge();

    // Act
    const result = await fn.handle({ method: 'DELETE', uri: `/retrieve/302/${day(1)}/${appHmac(day(1))}` });

    // Assess
    expect(result).toEqual(response(405, 'method not allowed\n'));
  });
});

describe('retrieve-auth: HMAC', () => {
  test('RT11/RT12: the HMAC for today-2 opens today-2 but not today-3', async () => {
    // Prepare
    const fn = edge();
    const mac = appHmac(day(-2));

    // Act
    const own = await fn.handle({ method: 'GET', uri: `/retrieve/302/${day(-2)}/${mac}` });
    const other = await fn.handle({ method: 'GET', uri: `/retrieve/302/${day(-3)}/${mac}` });

    // Assess
    expect(own).toEqual(rewrite(`/exports/302/${day(-2)}.zip`));
    expect(other).toEqual(UNAUTHORIZED);
  });

  test('RT13: an HMAC with its first 8 hex characters replaced is 401', async () => {
    // Prepare
    const fn = edge();
    const mac = appHmac(day(-1));
    const flipped = [...mac.slice(0, 8)].map((c) => ((parseInt(c, 16) + 1) % 16).toString(16)).join('') + mac.slice(8);

    // Act
    const result = await fn.handle({ method: 'GET', uri: `/retrieve/302/${day(-1)}/${flipped}` });

    // Assess
    expect(flipped).not.toBe(mac);
    expect(result).toEqual(UNAUTHORIZED);
  });

  test('an upper-case hex HMAC is accepted', async () => {
    // Prepare
    const fn = edge();

    // Act
    const result = await fn.handle({ method: 'GET', uri: `/retrieve/302/${day(-1)}/${appHmac(day(-1)).toUpperCase()}` });

    // Assess
    expect(result).toEqual(rewrite(`/exports/302/${day(-1)}.zip`));
  });

  test.each([
    [-1, true],
    [1, true],
    [-2, false],
    [2, false],
  ])('an HMAC computed at hour H%+d is accepted: %s', async (hours, accepted) => {
    // Prepare
    const fn = edge();
    const mac = appHmac(day(-1), { nowMs: NOW + hours * HOUR_MS });

    // Act
    const result = await fn.handle({ method: 'GET', uri: `/retrieve/302/${day(-1)}/${mac}` });

    // Assess
    expect(result).toEqual(accepted ? rewrite(`/exports/302/${day(-1)}.zip`) : UNAUTHORIZED);
  });

  test.each([
    ['63 hex characters', (mac: string) => mac.slice(0, 63)],
    ['65 hex characters', (mac: string) => `${mac}0`],
    ['a non-hex character', (mac: string) => `g${mac.slice(1)}`],
    ['an empty segment', () => ''],
    ['base64url of the right bytes', (mac: string) => Buffer.from(mac, 'hex').toString('base64url')],
  ])('auth with %s is 401', async (_name, mangle) => {
    // Prepare
    const fn = edge();

    // Act
    const result = await fn.handle({ method: 'GET', uri: `/retrieve/302/${day(-1)}/${mangle(appHmac(day(-1)))}` });

    // Assess
    expect(result).toEqual(UNAUTHORIZED);
  });

  test('the HMAC uses the key as hex bytes: an HMAC keyed with the key text is 401', async () => {
    // Prepare
    const fn = edge();
    const keyedWithText = createHmac('sha256', KEY_HEX)
      .update(`302:${day(-1)}:${Math.floor(NOW / HOUR_MS)}`)
      .digest('hex');

    // Act
    const result = await fn.handle({ method: 'GET', uri: `/retrieve/302/${day(-1)}/${keyedWithText}` });

    // Assess
    expect(result).toEqual(UNAUTHORIZED);
  });

  test("the app's example key (80 hex characters) works", async () => {
    // Prepare
    const keyHex = 'a'.repeat(80);
    const fn = edge({ hmacKey: keyHex });

    // Act
    const result = await fn.handle({ method: 'GET', uri: `/retrieve/302/00000/${appHmac('00000', { keyHex })}` });

    // Assess
    expect(result).toEqual(rewrite('/exports/302/00000.zip'));
  });

  test('without hmacKey in the KeyValueStore every request is 401 (fail closed)', async () => {
    // Prepare
    const fn = edge({ regions: '302' });
    const periods = [day(0), day(-1), day(-14), '00000'];

    // Act
    const results = await Promise.all(
      periods.map((period) => fn.handle({ method: 'GET', uri: `/retrieve/302/${period}/${appHmac(period)}` })),
    );

    // Assess
    expect(results).toEqual(periods.map(() => UNAUTHORIZED));
  });

  test.each([
    ['shorter than 64 hex characters', KEY_HEX.slice(0, 62)],
    ['of odd length', `${KEY_HEX}a`],
    ['not hex', `${KEY_HEX.slice(0, -2)}zz`],
    ['empty', ''],
  ])('a malformed hmacKey (%s) fails closed with 401', async (_name, hmacKey) => {
    // Prepare
    const fn = edge({ hmacKey });

    // Act
    const result = await fn.handle({ method: 'GET', uri: `/retrieve/302/${day(-1)}/${appHmac(day(-1), { keyHex: hmacKey || KEY_HEX })}` });

    // Assess
    expect(result).toEqual(UNAUTHORIZED);
  });
});

describe('retrieve-auth: route and region (deviation 9)', () => {
  test.each([
    '/retrieve',
    '/retrieve/302',
    '/retrieve/302/',
    '/retrieve/30/19000/x',
    '/retrieve/3020/19000/x',
    '/retrieve/abc/19000/x',
    '/retrieve/302/1900/x',
    '/retrieve/302/190000/x',
    '/retrieve/302/19000/a/b',
    '/retrieve//302/19000/x',
    '/exposure-configuration/CA.json',
  ])('%s is 404 page not found', async (uri) => {
    // Prepare
    const fn = edge();

    // Act
    const result = await fn.handle({ method: 'GET', uri });

    // Assess
    expect(result).toEqual(NOT_FOUND);
  });

  test('RT14: /retrieve/302/<day> without the HMAC segment is 404', async () => {
    // Prepare
    const fn = edge();

    // Act
    const result = await fn.handle({ method: 'GET', uri: `/retrieve/302/${day(-1)}` });

    // Assess
    expect(result).toEqual(NOT_FOUND);
  });

  test('an unconfigured region is 404 before the HMAC is checked', async () => {
    // Prepare
    const fn = edge();

    // Act
    const badHmac = await fn.handle({ method: 'GET', uri: `/retrieve/303/${day(-1)}/${'0'.repeat(64)}` });
    const goodHmac = await fn.handle({ method: 'GET', uri: `/retrieve/303/${day(-1)}/${appHmac(day(-1), { mcc: '303' })}` });

    // Assess
    expect(badHmac).toEqual(NOT_FOUND);
    expect(goodHmac).toEqual(NOT_FOUND);
  });

  test('without regions in the KeyValueStore only 302 is served', async () => {
    // Prepare
    const fn = edge({ hmacKey: KEY_HEX });

    // Act
    const served = await fn.handle({ method: 'GET', uri: `/retrieve/302/${day(-1)}/${appHmac(day(-1))}` });
    const other = await fn.handle({ method: 'GET', uri: `/retrieve/303/${day(-1)}/${appHmac(day(-1), { mcc: '303' })}` });

    // Assess
    expect(served).toEqual(rewrite(`/exports/302/${day(-1)}.zip`));
    expect(other).toEqual(NOT_FOUND);
  });

  test('the HMAC message uses the region from the URL', async () => {
    // Prepare
    const fn = edge({ hmacKey: KEY_HEX, regions: '302, 303' });

    // Act
    const own = await fn.handle({ method: 'GET', uri: `/retrieve/303/${day(-1)}/${appHmac(day(-1), { mcc: '303' })}` });
    const macFor302 = await fn.handle({ method: 'GET', uri: `/retrieve/303/${day(-1)}/${appHmac(day(-1))}` });

    // Assess
    expect(own).toEqual(rewrite(`/exports/303/${day(-1)}.zip`));
    expect(macFor302).toEqual(UNAUTHORIZED);
  });
});
