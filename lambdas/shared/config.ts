/**
 * Parsers for the configuration values of the contract table (spec/ARCHITECTURE.md §2), in the
 * upstream formats. Pure: each returns a value or a list of problems, so callers can report every
 * problem at once. Used by the local runtime's config and by the Lambdas' env reading.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

export type Parsed<T> = { ok: true; value: T } | { ok: false; problems: string[] };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(...problems: string[]): Parsed<T> => ({ ok: false, problems });

export interface KeyClaimToken {
  readonly token: string;
  /** Region label of the token (statistics only; storage always uses REGION_CODE). */
  readonly region: string;
}

export const TOKEN_MIN_LENGTH = 20;
export const TOKEN_MAX_LENGTH = 63;
export const TOKEN_REGION_MAX_LENGTH = 31;

/**
 * `KEY_CLAIM_TOKEN`: `token1=REGION1:token2=REGION2…`. Split on `:`, each entry split once on
 * `=`; tokens 20–63 characters, regions 1–31 characters (upstream §2.2). Never echoes a token in
 * a problem message: entries are named by position.
 */
export function parseKeyClaimTokens(raw: string): Parsed<KeyClaimToken[]> {
  const problems: string[] = [];
  const tokens: KeyClaimToken[] = [];
  const seen = new Set<string>();
  raw.split(':').forEach((entry, index) => {
    const where = `KEY_CLAIM_TOKEN entry ${index + 1}`;
    const eq = entry.indexOf('=');
    if (eq < 0) {
      problems.push(`${where}: expected token=REGION`);
      return;
    }
    const token = entry.slice(0, eq);
    const region = entry.slice(eq + 1);
    if (token.length < TOKEN_MIN_LENGTH || token.length > TOKEN_MAX_LENGTH) {
      problems.push(`${where}: token must be ${TOKEN_MIN_LENGTH}–${TOKEN_MAX_LENGTH} characters (got ${token.length})`);
    }
    if (/\s/.test(token)) problems.push(`${where}: token must not contain whitespace`);
    if (region.length < 1 || region.length > TOKEN_REGION_MAX_LENGTH || region.includes('=')) {
      problems.push(`${where}: region must be 1–${TOKEN_REGION_MAX_LENGTH} characters without '='`);
    }
    if (seen.has(token)) problems.push(`${where}: duplicate token`);
    seen.add(token);
    tokens.push({ token, region });
  });
  return problems.length ? fail(...problems) : ok(tokens);
}

export function formatKeyClaimTokens(tokens: readonly KeyClaimToken[]): string {
  return tokens.map((t) => `${t.token}=${t.region}`).join(':');
}

/**
 * `RETRIEVE_HMAC_KEY` (and `SUBMISSION_HMAC_KEY`): hex text of at least 64 characters
 * (≥ 32 bytes), as upstream.
 */
export function parseHmacKey(raw: string, name = 'RETRIEVE_HMAC_KEY'): Parsed<Buffer> {
  if (!/^[0-9a-fA-F]*$/.test(raw) || raw.length % 2 !== 0) {
    return fail(`${name}: must be hex text with an even number of digits`);
  }
  if (raw.length < 64) {
    return fail(`${name}: must be at least 64 hex characters (got ${raw.length})`);
  }
  return ok(Buffer.from(raw, 'hex'));
}

export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKeyPem: string;
}

/**
 * `ECDSA_KEY`: hex of a DER SEC1 ("EC PRIVATE KEY") P-256 private key (upstream format); a PEM
 * (SEC1 or PKCS#8) is accepted too. Anything but a P-256 key is refused.
 */
export function parseEcdsaKey(raw: string): Parsed<SigningKey> {
  let privateKey: KeyObject;
  try {
    const text = raw.trim();
    if (text.startsWith('-----BEGIN')) {
      privateKey = createPrivateKey({ key: text, format: 'pem' });
    } else {
      if (!/^[0-9a-fA-F]+$/.test(text) || text.length % 2 !== 0) {
        return fail('ECDSA_KEY: must be hex of a DER SEC1 P-256 private key, or a PEM');
      }
      privateKey = createPrivateKey({ key: Buffer.from(text, 'hex'), format: 'der', type: 'sec1' });
    }
  } catch {
    return fail('ECDSA_KEY: not a parsable EC private key (hex DER SEC1 or PEM expected)');
  }
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    return fail('ECDSA_KEY: must be a P-256 (prime256v1) key');
  }
  const publicKeyPem = createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString();
  return ok({ privateKey, publicKeyPem });
}

/** Hex DER SEC1 form of a private key, the format `ECDSA_KEY` is generated in. */
export function ecdsaKeyToHex(key: KeyObject): string {
  return key.export({ format: 'der', type: 'sec1' }).toString('hex');
}

/** `REGION_CODE`: the MCC served, three digits. */
export function parseRegionCode(raw: string): Parsed<string> {
  return /^[0-9]{3}$/.test(raw) ? ok(raw) : fail(`REGION_CODE: must be three digits (an MCC), got "${raw}"`);
}

/** `EXPORT_REGION`: the region string written into export bundles, e.g. CA. */
export function parseExportRegion(raw: string): Parsed<string> {
  return /^[A-Z]{2,8}$/.test(raw) ? ok(raw) : fail(`EXPORT_REGION: must be 2–8 upper-case letters, got "${raw}"`);
}

/** `METRICS_API_KEY`: API Gateway API keys are 20–128 printable characters. */
export function parseApiKey(raw: string): Parsed<string> {
  return /^[\x21-\x7e]{20,128}$/.test(raw)
    ? ok(raw)
    : fail('METRICS_API_KEY: must be 20–128 printable ASCII characters without spaces');
}

/** An integer within [min, max], named for the message. */
export function parseInteger(name: string, raw: string, min: number, max: number): Parsed<number> {
  if (!/^-?[0-9]+$/.test(raw.trim())) return fail(`${name}: must be an integer, got "${raw}"`);
  const value = Number(raw.trim());
  return value >= min && value <= max ? ok(value) : fail(`${name}: must be between ${min} and ${max}, got ${value}`);
}
