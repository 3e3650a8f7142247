/**
 * The /save-metrics envelope: validation (each rule → its reason), tolerance (unknown fields,
 * iOS casing, string per-event values), the upstream split of bodies over 100 KiB, and the
 * save-metrics use case with an in-memory raw store.
 */
import {
  MAX_CHUNKS,
  parseEnvelope,
  randomUuid,
  RAW_TTL_SECONDS,
  saveMetrics,
  splitForStorage,
  SPLIT_THRESHOLD_BYTES,
  utf8Length,
} from '../../../lambdas/domain/metrics/envelope';
import { StorageError } from '../../../lambdas/domain/settings';
import type { RawMetricsItem, RawMetricsStore } from '../../../lambdas/ports';
import { FixedClock, SeededRandom } from '../../support/builders/deterministic';
import { envelope, payloadItem, text, type Json } from './builders';

const without = (value: Json, name: string): Json => Object.fromEntries(Object.entries(value).filter(([k]) => k !== name));

describe('envelope validation: each rule and its reason', () => {
  test.each<[string, string, string]>([
    ['not JSON', '{"payload": [', 'body is not valid JSON'],
    ['empty body', '', 'body is not valid JSON'],
    ['a JSON array', '[]', 'body must be a JSON object'],
    ['a JSON string', '"x"', 'body must be a JSON object'],
    ['metricstimestamp missing', text(without(envelope(), 'metricstimestamp')), 'metricstimestamp is required'],
    ['metricstimestamp a string', text(envelope(undefined, { metricstimestamp: '1650000000000' })), 'metricstimestamp must be an integer'],
    ['metricstimestamp fractional', text(envelope(undefined, { metricstimestamp: 1.5 })), 'metricstimestamp must be an integer'],
    ['appversion missing', text(without(envelope(), 'appversion')), 'appversion is required'],
    ['appversion a number', text(envelope(undefined, { appversion: 154 })), 'appversion must be a string'],
    ['appversion 11 characters', text(envelope(undefined, { appversion: '1.5.4.12345' })), 'appversion must be at most 10 characters'],
    ['appos missing', text(without(envelope(), 'appos')), 'appos is required'],
    ['appos 21 characters', text(envelope(undefined, { appos: 'a'.repeat(21) })), 'appos must be at most 20 characters'],
    ['osversion an object', text(envelope(undefined, { osversion: { major: 30 } })), 'osversion must be a string'],
    ['symptomonset not boolean', text(envelope(undefined, { symptomonset: 'yes' })), 'symptomonset must be a boolean'],
    ['payload missing', text(without(envelope(), 'payload')), 'payload is required'],
    ['payload empty', text(envelope([])), 'payload must be a non-empty array'],
    ['payload an object', text(envelope(undefined, { payload: { identifier: 'installed' } })), 'payload must be a non-empty array'],
    ['an item not an object', text(envelope([payloadItem('installed'), 'installed' as never])), 'payload[1] must be an object'],
    ['identifier missing', text(envelope([without(payloadItem('installed'), 'identifier')])), 'payload[0].identifier is required'],
    ['identifier a number', text(envelope([payloadItem(7 as never)])), 'payload[0].identifier must be a string'],
    ['region missing', text(envelope([without(payloadItem('installed'), 'region')])), 'payload[0].region is required'],
    ['region null', text(envelope([payloadItem('installed', { region: null })])), 'payload[0].region must be a string'],
    ['timestamp missing', text(envelope([without(payloadItem('installed'), 'timestamp')])), 'payload[0].timestamp is required'],
    ['timestamp a string', text(envelope([payloadItem('installed', { timestamp: '1650000000000' })])), 'payload[0].timestamp must be a number'],
    ['timestamp overflowing to Infinity', text(envelope([payloadItem('installed')])).replace(/"timestamp":\d+/, '"timestamp":1e400'), 'payload[0].timestamp must be a number'],
    ['an extra value an object', text(envelope([payloadItem('exposed', { isUserExposed: { v: true } })])), 'payload[0]."isUserExposed" must be a string'],
    ['an extra value null', text(envelope([payloadItem('exposed', { count: null })])), 'payload[0]."count" must be a string'],
  ])('%s → 400 "%s"', (_what, body, reason) => {
    // Act
    const result = parseEnvelope(body);

    // Assess
    expect(result).toEqual({ ok: false, reason });
  });

  test('appversion of exactly 10 and appos of exactly 20 characters are accepted (code points)', () => {
    // Prepare
    const body = text(envelope(undefined, { appversion: '1.5.4.1234', appos: 'é'.repeat(20) }));

    // Act
    const result = parseEnvelope(body);

    // Assess
    expect(result.ok).toBe(true);
  });

  test('unknown fields are ignored (top level and per item) and kept in the document', () => {
    // Prepare
    const body = text(envelope([payloadItem('installed', { brandNewField: 'x', nested: 'y' })], { newTopLevel: { any: ['thing'] }, symptomonset: true }));

    // Act
    const result = parseEnvelope(body);

    // Assess
    expect(result.ok).toBe(true);
    expect(result.ok && result.document.newTopLevel).toEqual({ any: ['thing'] });
  });

  test('the iOS native casing androidReleaseVersion is accepted and read as androidreleaseversion', () => {
    // Prepare
    const body = text({ metricstimestamp: 1, appversion: '1.5.4', appos: 'ios', androidReleaseVersion: 'unavailable', payload: [payloadItem('active-user')] });

    // Act
    const result = parseEnvelope(body);

    // Assess
    expect(result.ok && result.envelope.androidreleaseversion).toBe('unavailable');
  });

  test('per-event values are strings as the apps send them; numbers and booleans are tolerated', () => {
    // Prepare
    const body = text(envelope([payloadItem('background-check', { count: '14', utcDay: 1649894400000, frameworkenabled: false })]));

    // Act
    const result = parseEnvelope(body);

    // Assess
    expect(result.ok && result.envelope.payload[0]).toEqual(payloadItem('background-check', { count: '14', utcDay: 1649894400000, frameworkenabled: false }));
  });
});

/** An envelope whose JSON text is `bytes` long or a little more, with `items` similar items. */
function bigEnvelope(items: number, padding: number): Json {
  return envelope(Array.from({ length: items }, (_, i) => payloadItem('background-process', { status: 'success', durationInSeconds: String(i), pad: 'p'.repeat(padding) })));
}

describe('splitting bodies over 100 KiB (upstream SPLIT_THRESHOLD 102400)', () => {
  test('a body of exactly the threshold is stored as received, unparsed', () => {
    // Prepare
    const base = text(envelope([payloadItem('installed', { pad: '' })]));
    const body = base.replace('"pad":""', `"pad":"${'p'.repeat(SPLIT_THRESHOLD_BYTES - utf8Length(base))}"`);
    const parsed = parseEnvelope(body);

    // Act
    const result = splitForStorage(body, parsed.ok ? parsed.document : {});

    // Assess
    expect(utf8Length(body)).toBe(SPLIT_THRESHOLD_BYTES);
    expect(result).toEqual({ ok: true, chunks: [body] });
  });

  test('a body just over 100 KiB splits into full-envelope chunks that reassemble to the same payload', () => {
    // Prepare
    const value = bigEnvelope(200, 400);
    const body = text(value);
    const parsed = parseEnvelope(body);

    // Act
    const result = splitForStorage(body, parsed.ok ? parsed.document : {});

    // Assess
    expect(utf8Length(body)).toBeGreaterThan(SPLIT_THRESHOLD_BYTES);
    expect(utf8Length(body)).toBeLessThan(SPLIT_THRESHOLD_BYTES + 10_000);
    expect(result.ok).toBe(true);
    const chunks = result.ok ? result.chunks.map((c) => JSON.parse(c) as Json) : [];
    expect(chunks).toHaveLength(2);
    for (const chunk of chunks) {
      expect(without(chunk, 'payload')).toEqual(without(value, 'payload'));
      expect(utf8Length(text(chunk))).toBeLessThanOrEqual(SPLIT_THRESHOLD_BYTES);
    }
    expect(chunks.flatMap((c) => c.payload as Json[])).toEqual(value.payload);
  });

  test('halving goes on per part until each part fits; a single oversized item is kept whole', () => {
    // Prepare: one item of ~110 KB, then small ones: [6] → [3][3] → [2][1] → [1][1]
    const value = envelope([payloadItem('installed', { pad: 'x'.repeat(110_000) }), ...Array.from({ length: 5 }, () => payloadItem('installed'))]);
    const body = text(value);
    const parsed = parseEnvelope(body);

    // Act
    const result = splitForStorage(body, parsed.ok ? parsed.document : {});

    // Assess
    const chunks = result.ok ? result.chunks.map((c) => JSON.parse(c) as Json) : [];
    expect(chunks.map((c) => (c.payload as Json[]).length)).toEqual([1, 1, 1, 3]);
    expect(chunks.flatMap((c) => c.payload as Json[])).toEqual(value.payload);
  });

  test(`a body that would need more than ${MAX_CHUNKS} chunks is refused`, () => {
    // Prepare: a 101 KB unknown top-level field is copied into every chunk
    const value = envelope(Array.from({ length: 60 }, () => payloadItem('installed')), { blob: 'b'.repeat(SPLIT_THRESHOLD_BYTES) });
    const body = text(value);
    const parsed = parseEnvelope(body);

    // Act
    const result = splitForStorage(body, parsed.ok ? parsed.document : {});

    // Assess
    expect(result.ok ? `${result.chunks.length} chunks` : result.reason).toBe(`payload cannot be stored in at most ${MAX_CHUNKS} chunks of ${SPLIT_THRESHOLD_BYTES} bytes`);
  });
});

class RecordingRawStore implements RawMetricsStore {
  readonly writes: (readonly RawMetricsItem[])[] = [];
  failure?: Error;

  async putAll(items: readonly RawMetricsItem[]): Promise<void> {
    if (this.failure) throw this.failure;
    this.writes.push(items);
  }
}

describe('saveMetrics use case', () => {
  const NOW = Date.UTC(2022, 3, 15, 12, 0, 0);
  const deps = (raw = new RecordingRawStore()) => ({ raw, clock: new FixedClock(NOW), random: new SeededRandom('save-metrics') });

  test('a small body: one raw item {random uuid, the body as received, now + 24 h}', async () => {
    // Prepare
    const d = deps();
    const body = `${text(envelope())}\n`;

    // Act
    const result = await saveMetrics(d, body);

    // Assess
    expect(result).toEqual({ kind: 'RECORD CREATED', chunks: 1, events: 1 });
    expect(d.raw.writes).toHaveLength(1);
    expect(d.raw.writes[0]).toEqual([{ id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/), raw: body, expiresAt: NOW / 1000 + RAW_TTL_SECONDS }]);
  });

  test('a large body: every chunk in ONE putAll call, distinct ids', async () => {
    // Prepare
    const d = deps();

    // Act
    const result = await saveMetrics(d, text(bigEnvelope(200, 400)));

    // Assess
    expect(result).toEqual({ kind: 'RECORD CREATED', chunks: 2, events: 200 });
    expect(d.raw.writes).toHaveLength(1);
    expect(new Set(d.raw.writes[0].map((i) => i.id)).size).toBe(2);
  });

  test('an invalid body writes nothing', async () => {
    // Prepare
    const d = deps();

    // Act
    const result = await saveMetrics(d, text(envelope([])));

    // Assess
    expect(result).toEqual({ kind: 'INVALID PAYLOAD', reason: 'payload must be a non-empty array' });
    expect(d.raw.writes).toHaveLength(0);
  });

  test('a StorageError is UPLOAD FAILED; any other error propagates', async () => {
    // Prepare
    const failing = new RecordingRawStore();
    failing.failure = new StorageError('putAll failed: ThrottlingException');
    const broken = new RecordingRawStore();
    broken.failure = new TypeError('bug');

    // Act
    const result = await saveMetrics(deps(failing), text(envelope()));
    const bug = saveMetrics(deps(broken), text(envelope()));

    // Assess
    expect(result).toEqual({ kind: 'UPLOAD FAILED' });
    await expect(bug).rejects.toBeInstanceOf(TypeError);
  });

  test('randomUuid is a v4 UUID of the Random port bytes', () => {
    // Prepare
    const random = { bytes: (n: number) => new Uint8Array(n).fill(0xff) };

    // Act
    const id = randomUuid(random);

    // Assess
    expect(id).toBe('ffffffff-ffff-4fff-bfff-ffffffffffff');
  });
});
