/**
 * The /save-metrics envelope (reference/metrics-upstream.md §1–§2, spec/METRICS.md): validation
 * as upstream's gateway schema 1.4.2, the upstream split of large bodies, and the save-metrics use
 * case. Pure apart from the ports it is given (no SDK, no env, no Date.now, no Math.random).
 *
 * Accepted exactly as the apps send it: unknown fields are ignored (and kept in the stored text),
 * per-event extra values are strings (numbers and booleans are tolerated, since upstream never
 * checked item types and its aggregator has rules for them; objects, arrays and null are refused
 * so that no key part can ever be `[object Object]`), and the iOS native casing
 * `androidReleaseVersion` is read as `androidreleaseversion`.
 */
import type { Clock, Random, RawMetricsItem, RawMetricsStore } from '../../ports';
import { StorageError } from '../settings';
import type { MetricValue } from './bucketing';

export const MAX_APPVERSION_LENGTH = 10;
export const MAX_APPOS_LENGTH = 20;
/** Bodies whose JSON text is larger than this are split into chunks (upstream SPLIT_THRESHOLD). */
export const SPLIT_THRESHOLD_BYTES = 102_400;
/**
 * At most this many chunks per body. A body ≤ 120 000 bytes needs 2–3; only pathological bodies
 * (a huge envelope field copied into every chunk) need more, and they are refused rather than
 * written as a transaction near DynamoDB's 100-item / 4 MB limits.
 */
export const MAX_CHUNKS = 25;
/** raw_metrics retention (upstream: receive time + 86 400 s). */
export const RAW_TTL_SECONDS = 24 * 3600;

/** One payload event; every field other than the three required ones is an extra value. */
export interface PayloadItem {
  readonly identifier: string;
  readonly region: string;
  /** Epoch ms of the event on the device clock. */
  readonly timestamp: number;
  readonly [field: string]: MetricValue;
}

export const DEVICE_FIELDS = ['appos', 'osversion', 'appversion', 'manufacturer', 'model', 'androidreleaseversion'] as const;
export type DeviceField = (typeof DEVICE_FIELDS)[number];

export interface MetricsEnvelope {
  /** Push time, epoch ms. Not used for counting nor for an item's identity. */
  readonly metricstimestamp: number;
  readonly appversion: string;
  readonly appos: string;
  readonly osversion?: MetricValue;
  readonly manufacturer?: MetricValue;
  readonly model?: MetricValue;
  /** From `androidreleaseversion`, or the iOS native `androidReleaseVersion`. */
  readonly androidreleaseversion?: MetricValue;
  readonly payload: readonly PayloadItem[];
}

export type ParsedEnvelope =
  | { readonly ok: true; readonly envelope: MetricsEnvelope; /** the parsed JSON object, every field */ readonly document: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly reason: string };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isScalar = (value: unknown): value is MetricValue =>
  typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
const codePoints = (text: string) => [...text].length;
/** Field names come from the client: quote and shorten them before they go into a reason. */
const fieldName = (name: string) => JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name);

function requiredString(document: Record<string, unknown>, name: string, maxLength: number): string | undefined {
  const value = document[name];
  if (value === undefined) return `${name} is required`;
  if (typeof value !== 'string') return `${name} must be a string`;
  if (codePoints(value) > maxLength) return `${name} must be at most ${maxLength} characters`;
  return undefined;
}

function payloadProblem(item: unknown, index: number): string | undefined {
  const where = `payload[${index}]`;
  if (!isObject(item)) return `${where} must be an object`;
  for (const name of ['identifier', 'region'] as const) {
    if (item[name] === undefined) return `${where}.${name} is required`;
    if (typeof item[name] !== 'string') return `${where}.${name} must be a string`;
  }
  if (item.timestamp === undefined) return `${where}.timestamp is required`;
  if (typeof item.timestamp !== 'number' || !Number.isFinite(item.timestamp)) return `${where}.timestamp must be a number`;
  for (const [name, value] of Object.entries(item)) {
    if (!isScalar(value)) return `${where}.${fieldName(name)} must be a string`;
  }
  return undefined;
}

/** Parses and validates a body (UTF-8 JSON text); the reason names the first rule broken. */
export function parseEnvelope(text: string): ParsedEnvelope {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'body is not valid JSON' };
  }
  if (!isObject(document)) return { ok: false, reason: 'body must be a JSON object' };
  const problem = envelopeProblem(document);
  if (problem) return { ok: false, reason: problem };
  const device = (name: string): MetricValue | undefined => (document[name] === undefined ? undefined : (document[name] as MetricValue));
  const envelope: MetricsEnvelope = {
    metricstimestamp: document.metricstimestamp as number,
    appversion: document.appversion as string,
    appos: document.appos as string,
    osversion: device('osversion'),
    manufacturer: device('manufacturer'),
    model: device('model'),
    androidreleaseversion: device('androidreleaseversion') ?? device('androidReleaseVersion'),
    payload: document.payload as PayloadItem[],
  };
  return { ok: true, envelope, document };
}

function envelopeProblem(document: Record<string, unknown>): string | undefined {
  if (document.metricstimestamp === undefined) return 'metricstimestamp is required';
  if (typeof document.metricstimestamp !== 'number' || !Number.isSafeInteger(document.metricstimestamp)) {
    return 'metricstimestamp must be an integer';
  }
  const text = requiredString(document, 'appversion', MAX_APPVERSION_LENGTH) ?? requiredString(document, 'appos', MAX_APPOS_LENGTH);
  if (text) return text;
  for (const name of ['osversion', 'manufacturer', 'model', 'androidreleaseversion', 'androidReleaseVersion']) {
    if (document[name] !== undefined && !isScalar(document[name])) return `${name} must be a string`;
  }
  if (document.symptomonset !== undefined && typeof document.symptomonset !== 'boolean') return 'symptomonset must be a boolean';
  if (document.payload === undefined) return 'payload is required';
  if (!Array.isArray(document.payload) || document.payload.length === 0) return 'payload must be a non-empty array';
  for (const [index, item] of document.payload.entries()) {
    const problem = payloadProblem(item, index);
    if (problem) return problem;
  }
  return undefined;
}

export const utf8Length = (text: string): number => Buffer.byteLength(text, 'utf8');

export type SplitResult = { readonly ok: true; readonly chunks: readonly string[] } | { readonly ok: false; readonly reason: string };

/**
 * The texts to store for one accepted body. Up to SPLIT_THRESHOLD_BYTES the body is stored as
 * received (upstream). Above, the payload array is halved – recursively, until every chunk's
 * text fits or holds a single item – and each chunk is the full envelope (every top-level field,
 * known or not) with its part of the payload, in order. Upstream halved until the *first* chunk
 * fit and then cut equal parts; halving each part on its own also bounds the later chunks.
 */
export function splitForStorage(text: string, document: Readonly<Record<string, unknown>>, threshold = SPLIT_THRESHOLD_BYTES): SplitResult {
  if (utf8Length(text) <= threshold) return { ok: true, chunks: [text] };
  const chunks: string[] = [];
  const split = (payload: readonly unknown[]): void => {
    const chunk = JSON.stringify({ ...document, payload });
    if (payload.length === 1 || utf8Length(chunk) <= threshold) {
      chunks.push(chunk);
      return;
    }
    const half = Math.ceil(payload.length / 2);
    split(payload.slice(0, half));
    split(payload.slice(half));
  };
  split(document.payload as unknown[]);
  return chunks.length <= MAX_CHUNKS
    ? { ok: true, chunks }
    : { ok: false, reason: `payload cannot be stored in at most ${MAX_CHUNKS} chunks of ${threshold} bytes` };
}

/** A random (v4) UUID from the Random port. */
export function randomUuid(random: Random): string {
  const b = Buffer.from(random.bytes(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export interface SaveMetricsDeps {
  readonly raw: RawMetricsStore;
  readonly clock: Clock;
  readonly random: Random;
}

export type SaveMetricsResult =
  | { readonly kind: 'RECORD CREATED'; readonly chunks: number; readonly events: number }
  | { readonly kind: 'INVALID PAYLOAD'; readonly reason: string }
  | { readonly kind: 'UNSPLITTABLE'; readonly reason: string }
  | { readonly kind: 'UPLOAD FAILED' };

/**
 * save-metrics: validate, split, and write every chunk in one transaction (or nothing). Counting
 * happens later, from the raw table's stream.
 */
export async function saveMetrics(deps: SaveMetricsDeps, text: string): Promise<SaveMetricsResult> {
  const parsed = parseEnvelope(text);
  if (!parsed.ok) return { kind: 'INVALID PAYLOAD', reason: parsed.reason };
  const split = splitForStorage(text, parsed.document);
  if (!split.ok) return { kind: 'UNSPLITTABLE', reason: split.reason };
  const expiresAt = Math.floor(deps.clock.nowMs() / 1000) + RAW_TTL_SECONDS;
  const items: RawMetricsItem[] = split.chunks.map((raw) => ({ id: randomUuid(deps.random), raw, expiresAt }));
  try {
    await deps.raw.putAll(items);
  } catch (error) {
    if (error instanceof StorageError) return { kind: 'UPLOAD FAILED' };
    throw error;
  }
  return { kind: 'RECORD CREATED', chunks: items.length, events: parsed.envelope.payload.length };
}
