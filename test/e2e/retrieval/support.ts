/**
 * Helpers shared by the retrieval e2e files: the app's retrieval URL and HMAC (reference §12), the
 * local clock with millisecond precision, bundle download and decoding, and export signature
 * verification with Node crypto and with the openssl command line.
 */
import { spawnSync } from 'node:child_process';
import { createHmac, createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeExport, type DecodedExport } from '../../../lambdas/domain/export-file';
import { enexport } from '../../../proto';
import { send, type RawResponse } from '../../support/app-client';
import { getJson } from '../../support/runtime';

export const ZIP = 'application/zip';
export const TEXT_PLAIN = 'text/plain; charset=utf-8';
/** Today's bundle and `00000` (deviation 12). */
export const CACHE_OPEN = 'public, max-age=600';
/** Closed days (upstream's header). */
export const CACHE_CLOSED = 'public, max-age=3600, max-stale=600';
export const MCC = '302';
export const ENTIRE_PERIOD = '00000';
export const SIGNATURE_INFO = { verificationKeyVersion: 'v1', verificationKeyId: '302', signatureAlgorithm: '1.2.840.10045.4.3.2' };

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
export const MINUTE_MS = 60_000;

/** UTC date number of a time (ms). */
export const dayOf = (ms: number) => Math.floor(ms / DAY_MS);
/** Hour number of a time (ms), as the app computes it for the HMAC. */
export const hourOf = (ms: number) => Math.floor(ms / HOUR_MS);
/** The 5-digit period string of a date number. */
export const periodOf = (day: number) => String(day).padStart(5, '0');
/** Epoch ms of a wall-clock time (UTC) on a date number. */
export const at = (day: number, hours = 0, minutes = 0, seconds = 0) => day * DAY_MS + hours * HOUR_MS + minutes * MINUTE_MS + seconds * 1000;
/** ENIN of the UTC midnight of a date number. */
export const midnightOf = (day: number) => day * 144;

/** As the app: lowercase hex HMAC-SHA256(hex-decode(HMAC_KEY), `${mcc}:${period}:${hour}`). */
export function retrieveHmac(hmacKeyHex: string, region: string, period: string, hour: number): string {
  return createHmac('sha256', Buffer.from(hmacKeyHex, 'hex')).update(`${region}:${period}:${hour}`).digest('hex');
}

/**
 * The clock of one runtime. `set` moves it (absolute, millisecond precision, never earlier than
 * the target); `now` is what the app's device clock would read, i.e. the server's time.
 */
export class ServerClock {
  private offsetMs = 0;

  constructor(private readonly baseUrl: string) {}

  async set(targetMs: number): Promise<number> {
    const state = await getJson<{ offsetSeconds: number; now: string }>(`${this.baseUrl}/_local/clock`, {
      method: 'POST',
      body: JSON.stringify({ offsetSeconds: (targetMs - Date.now()) / 1000 }),
    });
    this.offsetMs = Math.round(state.offsetSeconds * 1000);
    const now = Date.parse(state.now);
    if (now < targetMs || now > targetMs + 10_000) throw new Error(`clock at ${state.now}, wanted ${new Date(targetMs).toISOString()}`);
    return now;
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }
}

export interface Bundle {
  readonly response: RawResponse;
  readonly decoded: DecodedExport;
  /** The keys as plain objects: only the fields present on the wire, key data base64. */
  readonly keys: ExportedKey[];
  /** Key data (hex) of the keys, in bundle order. */
  readonly keyIds: string[];
}

export interface ExportedKey {
  keyData?: string;
  transmissionRiskLevel?: number;
  rollingStartIntervalNumber?: number;
  rollingPeriod?: number;
  reportType?: string;
  daysSinceOnsetOfSymptoms?: number;
}

/** Readable identity of a key: its key data in hex. */
export const keyId = (keyData: Uint8Array | string) => Buffer.from(keyData as Uint8Array).toString('hex');

/** Plain-object view of a decoded message: only present fields, int64 as numbers, bytes base64, enums by name. */
export const plain = { longs: Number, bytes: String, enums: String };

/** The export header fields (everything but the keys) as a plain object. */
export function exportHeader(decoded: DecodedExport): Record<string, unknown> {
  const { keys: _keys, ...header } = enexport.TemporaryExposureKeyExport.toObject(decoded.export, plain);
  return header;
}

/** The DER signature of the (only) TEKSignature of an export. */
export function signatureOf(decoded: DecodedExport, index = 0): Uint8Array {
  const signature = decoded.signatureList.signatures[index]?.signature;
  if (!signature) throw new Error(`export.sig has no signature ${index}`);
  return signature;
}

/** The signature list as a plain object, signatures base64. */
export const signatureListOf = (decoded: DecodedExport) => enexport.TEKSignatureList.toObject(decoded.signatureList, plain);

/** GET /retrieve/… from the app's point of view, for one runtime. */
export class RetrievalClient {
  constructor(
    readonly baseUrl: string,
    readonly hmacKeyHex: string,
    /** The device clock (= the server clock) used for the HMAC hour. */
    readonly clock: { now(): number },
    readonly localAddress?: string,
  ) {}

  /** The HMAC the app would send now (or for another hour) for a region and period. */
  hmac(period: string, options: { region?: string; hour?: number } = {}): string {
    return retrieveHmac(this.hmacKeyHex, options.region ?? MCC, period, options.hour ?? hourOf(this.clock.now()));
  }

  /** Any request to /retrieve/{region}/{period}/{hmac}; the HMAC defaults to the app's. */
  retrieve(period: string, options: { method?: string; region?: string; hmac?: string } = {}): Promise<RawResponse> {
    const region = options.region ?? MCC;
    const hmac = options.hmac ?? this.hmac(period, { region });
    return this.path(`/retrieve/${region}/${period}/${hmac}`, options.method);
  }

  /** Any request to a path of the runtime. */
  path(path: string, method = 'GET'): Promise<RawResponse> {
    return send(`${this.baseUrl}${path}`, { method, headers: { 'Cache-Control': 'no-store' }, localAddress: this.localAddress });
  }

  /** A bundle that must be served: 200 application/zip, decoded. */
  async bundle(period: string): Promise<Bundle> {
    const response = await this.retrieve(period);
    if (response.status !== 200 || response.headers['content-type'] !== ZIP) {
      throw new Error(`/retrieve/${MCC}/${period} answered ${response.status} ${String(response.headers['content-type'])}: ${response.text().slice(0, 80)}`);
    }
    return bundleOf(response);
  }

  /** Key ids (hex) of each period's bundle, fetched concurrently. */
  async keyIdsByPeriod(periods: readonly string[]): Promise<Record<string, string[]>> {
    const bundles = await Promise.all(periods.map((p) => this.bundle(p)));
    return Object.fromEntries(periods.map((p, i) => [p, bundles[i].keyIds]));
  }
}

export function bundleOf(response: RawResponse): Bundle {
  const decoded = decodeExport(response.body);
  // Decoded messages are class instances even where the generated type says $Properties.
  const messages = decoded.export.keys as enexport.TemporaryExposureKey[];
  const keys = messages.map((k) => enexport.TemporaryExposureKey.toObject(k, plain) as ExportedKey);
  return { response, decoded, keys, keyIds: messages.map((k) => keyId(k.keyData)) };
}

/** POST /_local/run/build-exports; resolves when the run has finished. */
export async function runBuildExports(baseUrl: string): Promise<{ periods: string[]; keysPerPeriod: Record<string, number> }> {
  const response = await fetch(`${baseUrl}/_local/run/build-exports`, { method: 'POST' });
  const body = (await response.json()) as { result: { periods: string[]; keysPerPeriod: Record<string, number> } };
  if (response.status !== 200) throw new Error(`build-exports answered ${response.status}: ${JSON.stringify(body)}`);
  return body.result;
}

/** ECDSA P-256 / SHA-256 verification of a DER signature with Node crypto. */
export function verifiesWithNode(data: Uint8Array, derSignature: Uint8Array, publicKeyPem: string): boolean {
  return verify('sha256', data, { key: createPublicKey(publicKeyPem), dsaEncoding: 'der' }, derSignature);
}

/** `openssl dgst -sha256 -verify pub.pem -signature sig.der export.bin` in a temporary directory. */
export function verifyWithOpenssl(data: Uint8Array, derSignature: Uint8Array, publicKeyPem: string): { status: number | null; output: string } {
  const work = mkdtempSync(join(tmpdir(), 'export-verify-'));
  try {
    writeFileSync(join(work, 'pub.pem'), publicKeyPem);
    writeFileSync(join(work, 'sig.der'), derSignature);
    writeFileSync(join(work, 'export.bin'), data);
    const run = spawnSync('openssl', ['dgst', '-sha256', '-verify', 'pub.pem', '-signature', 'sig.der', 'export.bin'], { cwd: work, encoding: 'utf8' });
    if (run.error) throw run.error;
    return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Sorted copy of key ids (hex compares bytewise, as the bundles order key data). */
export const sorted = (ids: Iterable<string>) => [...ids].sort();
