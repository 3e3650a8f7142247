/**
 * The deployed file's constraints (size, imports) and the vm runner that executes it locally.
 */
import { createHmac } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import {
  ALLOWED_IMPORTS,
  EDGE_FUNCTION_PATH,
  EdgeFunctionError,
  createEdgeFunction,
  transformImports,
} from '../../../local/edge-runner';

const source = readFileSync(EDGE_FUNCTION_PATH, 'utf8');
const NOW = Date.UTC(2021, 2, 10, 12, 0, 0);

/** A minimal function source, run through the same runner. */
function run(body: string, kvs: Record<string, string> = {}) {
  const fn = createEdgeFunction({ kvs, now: () => NOW, source: `import crypto from 'crypto';\nimport cf from 'cloudfront';\n${body}` });
  return fn.handle({ method: 'GET', uri: '/x' });
}

describe('retrieve-auth.js as deployed', () => {
  test('is under the 10 KB CloudFront Functions code limit, comments included', () => {
    // Act
    const bytes = statSync(EDGE_FUNCTION_PATH).size;

    // Assess
    expect(bytes).toBeLessThan(10 * 1024);
  });

  test('imports exactly crypto and cloudfront, each once, and nothing else', () => {
    // Act
    const moduleLines = source.split('\n').filter((line) => /^\s*(import|export)\b/.test(line));

    // Assess
    expect(moduleLines).toEqual(["import crypto from 'crypto';", "import cf from 'cloudfront';"]);
    expect(source.match(/import cf from 'cloudfront';/g)).toHaveLength(1);
    expect(source).not.toMatch(/\brequire\s*\(/);
    expect(source).not.toMatch(/\bimport\s*\(/);
  });

  test('defines the runtime entry point async function handler(event)', () => {
    // Assess
    expect(source).toMatch(/^async function handler\(event\) \{$/m);
  });
});

describe('transformImports', () => {
  test('replaces each allowed import line in place with a binding, keeping line numbers', () => {
    // Act
    const { code, imports } = transformImports(source);

    // Assess
    const before = source.split('\n');
    const after = code.split('\n');
    expect(after).toHaveLength(before.length);
    expect(after.slice(0, 2)).toEqual(["const crypto = __edgeModules['crypto'];", "const cf = __edgeModules['cloudfront'];"]);
    expect(after.slice(2)).toEqual(before.slice(2));
    expect(imports).toEqual({ crypto: 'crypto', cf: 'cloudfront' });
    expect(ALLOWED_IMPORTS).toEqual(['crypto', 'cloudfront']);
  });

  test.each([
    ["import fs from 'fs';", /not offered/],
    ["import { createHmac } from 'crypto';", /unsupported module statement/],
    ["const fs = require('fs');", /unsupported module statement/],
    ['export default handler;', /unsupported module statement/],
    ["import a from 'cloudfront';\nimport b from 'cloudfront';", /imported twice/],
  ])('refuses %s', (text, message) => {
    // Act + Assess
    expect(() => transformImports(text)).toThrow(message);
  });
});

describe('createEdgeFunction sandbox', () => {
  test('Date.now() and new Date() read the injected clock', async () => {
    // Act
    const result = await run(`async function handler(event) {
      return { statusCode: 200, body: Date.now() + ' ' + new Date().toISOString() + ' ' + (new Date() instanceof Date) };
    }`);

    // Assess
    expect(result).toEqual({ kind: 'response', status: 200, headers: {}, body: `${NOW} ${new Date(NOW).toISOString()} true` });
  });

  test('crypto offers createHmac with hex, base64 and base64url digests, and refuses other algorithms', async () => {
    // Act
    const result = await run(`async function handler(event) {
      const h = (enc) => crypto.createHmac('sha256', 'k').update('m').digest(enc);
      let refused = false;
      try { crypto.createHmac('sha512', 'k'); } catch (e) { refused = true; }
      return { statusCode: 200, body: [h('hex'), h('base64'), h('base64url'), refused, typeof crypto.timingSafeEqual].join(' ') };
    }`);

    // Assess
    const mac = (enc: 'hex' | 'base64' | 'base64url') => createHmac('sha256', 'k').update('m').digest(enc);
    expect(result).toMatchObject({ body: `${mac('hex')} ${mac('base64')} ${mac('base64url')} true undefined` });
  });

  test('the KeyValueStore shim resolves values, rejects absent keys and answers exists()', async () => {
    // Act
    const result = await run(
      `async function handler(event) {
        const kvs = cf.kvs();
        let missing = 'resolved';
        try { await kvs.get('nope'); } catch (e) { missing = 'rejected'; }
        return { statusCode: 200, body: [await kvs.get('a'), missing, await kvs.exists('a'), await kvs.exists('nope')].join(' ') };
      }`,
      { a: 'value-a' },
    );

    // Assess
    expect(result).toMatchObject({ body: 'value-a rejected true false' });
  });

  test('code generation from strings is refused, as in CloudFront', async () => {
    // Act
    const attempt = run(`async function handler(event) { return { statusCode: 200, body: String(eval('1 + 1')) }; }`);

    // Assess
    await expect(attempt).rejects.toThrow(EdgeFunctionError);
  });

  test('a function that changes the read-only method is an error', async () => {
    // Act
    const attempt = run(`async function handler(event) { event.request.method = 'POST'; return event.request; }`);

    // Assess
    await expect(attempt).rejects.toThrow(/read-only request method/);
  });

  test('a source without a handler cannot be loaded', () => {
    // Act + Assess
    expect(() => createEdgeFunction({ kvs: {}, now: () => NOW, source: 'function other() {}' })).toThrow(EdgeFunctionError);
  });

  test('request headers reach the function in the CloudFront shape; a base64 body is decoded', async () => {
    // Act
    const fn = createEdgeFunction({
      kvs: {},
      now: () => NOW,
      source: `async function handler(event) {
        const h = event.request.headers;
        return { statusCode: 418, statusDescription: 'Teapot', headers: { 'x-seen': { value: h['x-one'].value + '|' + h['x-two'].multiValue.length + '|' + (h.cookie === undefined) } },
          body: { encoding: 'base64', data: 'aGVsbG8=' } };
      }`,
    });
    const result = await fn.handle({ method: 'get', uri: '/x', headers: { 'X-One': '1', 'x-two': ['a', 'b'], cookie: 'c=1' } });

    // Assess
    expect(result).toEqual({ kind: 'response', status: 418, headers: { 'x-seen': '1|2|true' }, body: 'hello' });
  });
});
