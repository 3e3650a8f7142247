/**
 * A test client that talks to the server as the COVID Alert app does (reference §12): protobuf
 * bodies, tweetnacl key pairs, NaCl box uploads. Builders default to valid values.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import nacl from 'tweetnacl';
import { covidshield } from '../../proto';

export const TOKEN_1 = 'first-very-long-token';
export const TOKEN_2 = 'second-very-long-token';

export interface ClaimedKeySet {
  readonly code: string;
  readonly app: nacl.BoxKeyPair;
  readonly serverPublicKey: Uint8Array;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
  text(): string;
}

/**
 * One HTTP exchange from a chosen loopback source address. The server identifies a client by
 * its source IP (claim bans), so each test file can be its own "client" (127.0.0.2, …).
 */
export function send(url: string, init: { method?: string; headers?: Record<string, string>; body?: Uint8Array | string; localAddress?: string } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method ?? 'GET', headers: init.headers, localAddress: init.localAddress }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: () => body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body === undefined ? undefined : Buffer.from(init.body));
  });
}

/** A distinct loopback address per test file, derived from its name. */
export function loopbackFor(name: string): string {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `127.${1 + (h % 250)}.${(h >>> 8) % 256}.${1 + ((h >>> 16) % 250)}`;
}

export class AppClient {
  constructor(
    readonly baseUrl: string,
    /** Source address of every request (default 127.0.0.1). */
    readonly localAddress?: string,
  ) {}

  /** Any request to the server from this client's address. */
  send(path: string, init: { method?: string; headers?: Record<string, string>; body?: Uint8Array | string } = {}): Promise<RawResponse> {
    return send(`${this.baseUrl}${path}`, { ...init, localAddress: this.localAddress });
  }

  issueCode(token = TOKEN_1, hashId?: string, method = 'POST'): Promise<RawResponse> {
    return this.send(`/new-key-claim${hashId ? `/${hashId}` : ''}`, { method, headers: { Authorization: `Bearer ${token}` } });
  }

  async newCode(token = TOKEN_1, hashId?: string): Promise<string> {
    const response = await this.issueCode(token, hashId);
    if (response.status !== 200) throw new Error(`new-key-claim answered ${response.status}`);
    return response.text().trim();
  }

  async claimRaw(body: Uint8Array, method = 'POST'): Promise<{ status: number; contentType: string | null; message: covidshield.KeyClaimResponse; bytes: Buffer }> {
    const response = await this.send('/claim-key', {
      method,
      headers: { 'Content-Type': 'application/x-protobuf', 'Cache-Control': 'no-store' },
      body,
    });
    const contentType = (response.headers['content-type'] as string | undefined) ?? null;
    const message = contentType === 'application/x-protobuf' ? covidshield.KeyClaimResponse.decode(response.body) : new covidshield.KeyClaimResponse();
    return { status: response.status, contentType, message, bytes: response.body };
  }

  claim(oneTimeCode: string, appPublicKey: Uint8Array) {
    return this.claimRaw(covidshield.KeyClaimRequest.encode({ oneTimeCode, appPublicKey }).finish());
  }

  /** new-key-claim then claim-key with a fresh app key pair (upstream helper new_valid_keyset). */
  async newKeySet(token = TOKEN_1): Promise<ClaimedKeySet> {
    const code = await this.newCode(token);
    const app = nacl.box.keyPair();
    const claimed = await this.claim(code, app.publicKey);
    if (claimed.status !== 200) throw new Error(`claim-key answered ${claimed.status}`);
    return { code, app, serverPublicKey: claimed.message.serverPublicKey };
  }

  async uploadRaw(body: Uint8Array, method = 'POST'): Promise<{ status: number; contentType: string | null; error: number; bytes: Buffer }> {
    const response = await this.send('/upload', { method, headers: { 'Content-Type': 'application/x-protobuf' }, body });
    const contentType = (response.headers['content-type'] as string | undefined) ?? null;
    const error = contentType === 'application/x-protobuf' ? covidshield.EncryptedUploadResponse.decode(response.body).error : -1;
    return { status: response.status, contentType, error, bytes: response.body };
  }

  /** Encrypts an Upload for a key set and posts it; every part may be overridden. */
  upload(keySet: ClaimedKeySet, upload: covidshield.Upload.$Properties | Uint8Array, overrides: Partial<covidshield.EncryptedUploadRequest.$Properties> = {}) {
    const plaintext = upload instanceof Uint8Array ? upload : covidshield.Upload.encode(upload).finish();
    const nonce = new Uint8Array(randomBytes(24));
    const payload = nacl.box(plaintext, nonce, keySet.serverPublicKey, keySet.app.secretKey);
    return this.uploadRaw(
      covidshield.EncryptedUploadRequest.encode({
        serverPublicKey: keySet.serverPublicKey,
        appPublicKey: keySet.app.publicKey,
        nonce,
        payload,
        ...overrides,
      }).finish(),
    );
  }
}

/** ENIN of the UTC midnight of the day containing `ms`. */
export const midnightInterval = (ms: number) => Math.floor(ms / 86_400_000) * 144;

let keyCounter = 0;
/** A valid TEK (all six fields unless overridden), distinct key data each call. */
export function tek(overrides: Partial<covidshield.TemporaryExposureKey.$Properties> = {}, nowMs = Date.now()): covidshield.TemporaryExposureKey.$Properties {
  keyCounter += 1;
  return {
    keyData: new Uint8Array(randomBytes(16)),
    transmissionRiskLevel: 3,
    rollingStartIntervalNumber: midnightInterval(nowMs) - 144 * (keyCounter % 13 + 1),
    rollingPeriod: 144,
    reportType: covidshield.TemporaryExposureKey.ReportType.CONFIRMED_TEST,
    daysSinceOnsetOfSymptoms: 0,
    ...overrides,
  };
}

export const uploadOf = (keys: covidshield.TemporaryExposureKey.$Properties[], nowMs = Date.now()): covidshield.Upload.$Properties => ({
  timestamp: { seconds: Math.floor(nowMs / 1000) },
  keys,
});

/**
 * The exact EncryptedUploadRequest bytes `AppClient.upload` would post for a key set (fresh
 * nonce), for tests that need to know or shape the body (size caps, concurrent identical bodies).
 */
export function sealUpload(
  keySet: ClaimedKeySet,
  upload: covidshield.Upload.$Properties | Uint8Array,
  overrides: Partial<covidshield.EncryptedUploadRequest.$Properties> = {},
): Uint8Array {
  const plaintext = upload instanceof Uint8Array ? upload : covidshield.Upload.encode(upload).finish();
  const nonce = new Uint8Array(randomBytes(24));
  return covidshield.EncryptedUploadRequest.encode({
    serverPublicKey: keySet.serverPublicKey,
    appPublicKey: keySet.app.publicKey,
    nonce,
    payload: nacl.box(plaintext, nonce, keySet.serverPublicKey, keySet.app.secretKey),
    ...overrides,
  }).finish();
}
