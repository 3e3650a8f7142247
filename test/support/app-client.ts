/**
 * A test client that talks to the server as the COVID Alert app does (reference §12): protobuf
 * bodies, tweetnacl key pairs, NaCl box uploads. Builders default to valid values.
 */
import { randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { covidshield } from '../../proto';

export const TOKEN_1 = 'first-very-long-token';
export const TOKEN_2 = 'second-very-long-token';

export interface ClaimedKeySet {
  readonly code: string;
  readonly app: nacl.BoxKeyPair;
  readonly serverPublicKey: Uint8Array;
}

export class AppClient {
  constructor(readonly baseUrl: string) {}

  async issueCode(token = TOKEN_1, hashId?: string): Promise<Response> {
    return fetch(`${this.baseUrl}/new-key-claim${hashId ? `/${hashId}` : ''}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
    });
  }

  async newCode(token = TOKEN_1, hashId?: string): Promise<string> {
    const response = await this.issueCode(token, hashId);
    if (response.status !== 200) throw new Error(`new-key-claim answered ${response.status}`);
    return (await response.text()).trim();
  }

  async claimRaw(body: Uint8Array, init: RequestInit = {}): Promise<{ status: number; contentType: string | null; message: covidshield.KeyClaimResponse; bytes: Buffer }> {
    const response = await fetch(`${this.baseUrl}/claim-key`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-protobuf', 'Cache-Control': 'no-store' },
      body,
      ...init,
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    return { status: response.status, contentType: response.headers.get('content-type'), message: covidshield.KeyClaimResponse.decode(bytes), bytes };
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

  async uploadRaw(body: Uint8Array, init: RequestInit = {}): Promise<{ status: number; contentType: string | null; error: number; bytes: Buffer }> {
    const response = await fetch(`${this.baseUrl}/upload`, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body, ...init });
    const bytes = Buffer.from(await response.arrayBuffer());
    return { status: response.status, contentType: response.headers.get('content-type'), error: covidshield.EncryptedUploadResponse.decode(bytes).error, bytes };
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
