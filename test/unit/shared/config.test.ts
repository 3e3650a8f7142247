import { generateKeyPairSync } from 'node:crypto';
import {
  ecdsaKeyToHex,
  parseApiKey,
  parseEcdsaKey,
  parseHmacKey,
  parseInteger,
  parseKeyClaimTokens,
  parseRegionCode,
} from '../../../lambdas/shared/config';

describe('parseKeyClaimTokens (KEY_CLAIM_TOKEN, upstream format)', () => {
  test('parses several token=REGION entries', () => {
    // Act
    const parsed = parseKeyClaimTokens('first-very-long-token=302:second-very-long-token=ON');

    // Assess
    expect(parsed).toEqual({
      ok: true,
      value: [
        { token: 'first-very-long-token', region: '302' },
        { token: 'second-very-long-token', region: 'ON' },
      ],
    });
  });

  test('splits each entry once on "=", so a region may not contain "="', () => {
    expect(parseKeyClaimTokens('first-very-long-token=30=2').ok).toBe(false);
  });

  test.each([
    ['too short', 'short-token=302', /token must be 20–63 characters \(got 11\)/],
    ['too long', `${'x'.repeat(64)}=302`, /got 64/],
    ['no region', 'first-very-long-token', /expected token=REGION/],
    ['empty region', 'first-very-long-token=', /region must be 1–31/],
    ['region too long', `first-very-long-token=${'R'.repeat(32)}`, /region must be 1–31/],
    ['duplicate', 'first-very-long-token=302:first-very-long-token=ON', /duplicate token/],
  ])('rejects %s', (_name, raw, message) => {
    // Act
    const parsed = parseKeyClaimTokens(raw);

    // Assess
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? [] : parsed.problems.join('\n')).toMatch(message);
  });

  test('reports every bad entry at once and never echoes a token', () => {
    // Act
    const parsed = parseKeyClaimTokens('secret-a=302:secret-b=302');

    // Assess
    expect(parsed.ok ? [] : parsed.problems).toHaveLength(2);
    expect(JSON.stringify(parsed)).not.toContain('secret-a');
  });
});

describe('parseHmacKey (RETRIEVE_HMAC_KEY)', () => {
  test('accepts 64+ hex characters of either case and decodes them', () => {
    const parsed = parseHmacKey('aA'.repeat(40));
    expect(parsed.ok && parsed.value.length).toBe(40);
  });

  test.each([['a'.repeat(62)], ['g'.repeat(64)], ['a'.repeat(65)]])('rejects %s', (raw) => {
    expect(parseHmacKey(raw).ok).toBe(false);
  });
});

describe('parseEcdsaKey (ECDSA_KEY)', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  test('accepts the upstream format, hex of DER SEC1, and derives the public key PEM', () => {
    // Act
    const parsed = parseEcdsaKey(ecdsaKeyToHex(privateKey));

    // Assess
    expect(parsed.ok).toBe(true);
    expect(parsed.ok && parsed.value.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });

  test('accepts a PEM', () => {
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(parseEcdsaKey(pem).ok).toBe(true);
  });

  test('rejects other curves and garbage', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    expect(parseEcdsaKey(ecdsaKeyToHex(p384))).toEqual({ ok: false, problems: ['ECDSA_KEY: must be a P-256 (prime256v1) key'] });
    expect(parseEcdsaKey('abcd').ok).toBe(false);
    expect(parseEcdsaKey('not hex').ok).toBe(false);
  });
});

describe('small parsers', () => {
  test('region code is three digits', () => {
    expect(parseRegionCode('302').ok).toBe(true);
    expect(parseRegionCode('30').ok).toBe(false);
  });

  test('api key is 20–128 printable characters', () => {
    expect(parseApiKey('x'.repeat(20)).ok).toBe(true);
    expect(parseApiKey('x'.repeat(19)).ok).toBe(false);
    expect(parseApiKey(`${'x'.repeat(20)} y`).ok).toBe(false);
  });

  test('integers within bounds', () => {
    expect(parseInteger('PORT', '8000', 0, 65535)).toEqual({ ok: true, value: 8000 });
    expect(parseInteger('PORT', '70000', 0, 65535).ok).toBe(false);
    expect(parseInteger('PORT', '80a', 0, 65535).ok).toBe(false);
  });
});
