/**
 * The aggregate-metrics use case against an in-memory store with the ledger semantics:
 * pre-aggregation, skips, transaction planning (≤ 100 actions, distinct keys) and exactly-once
 * counting under re-delivery, re-sending and failures part-way through a record.
 */
import { itemIdentity } from '../../../lambdas/domain/metrics/aggregate-key';
import {
  aggregateBatch,
  countRecord,
  KNOWN_IDENTIFIERS,
  LEDGER_TTL_SECONDS,
  MAX_TRANSACTION_ACTIONS,
  planRecord,
  planTransactions,
  type RawStreamRecord,
} from '../../../lambdas/domain/metrics/aggregate';
import { parseEnvelope, type MetricsEnvelope } from '../../../lambdas/domain/metrics/envelope';
import { StorageError } from '../../../lambdas/domain/settings';
import type { AggregateIncrement } from '../../../lambdas/ports';
import { FixedClock } from '../../support/builders/deterministic';
import { envelope, InMemoryAggregateStore, ITEM_TS, payloadItem, text, type Json } from './builders';

const NOW = Date.UTC(2022, 3, 16, 3, 0, 0);

function parsed(value: Json): MetricsEnvelope {
  const result = parseEnvelope(text(value));
  if (!result.ok) throw new Error(result.reason);
  return result.envelope;
}
const insert = (sequenceNumber: string, value: Json): RawStreamRecord => ({ sequenceNumber, eventName: 'INSERT', rawId: `raw-${sequenceNumber}`, raw: text(value) });
/** `n` events of one identifier, distinct by timestamp. */
const events = (identifier: string, n: number, fields: Json = {}) => Array.from({ length: n }, (_, i) => payloadItem(identifier, { ...fields, timestamp: ITEM_TS + i }));
const deps = (store = new InMemoryAggregateStore()) => ({ aggregates: store, clock: new FixedClock(NOW) });
const sumIds = (increments: readonly AggregateIncrement[]) => increments.reduce((n, i) => n + i.itemIds.length, 0);

describe('planRecord', () => {
  test('pre-aggregates items by key; skips ExposureNotificationCheck, unknown identifiers, bad timestamps and repeats', () => {
    // Prepare
    const value = envelope([
      ...events('installed', 3),
      payloadItem('installed', { timestamp: ITEM_TS }), // identical to the first: counted once
      payloadItem('ExposureNotificationCheck', { step: '8', region: 'None' }),
      payloadItem('brand-new-event'),
      payloadItem('active-user', { timestamp: -5 }),
      payloadItem('active-user', { region: 'QC' }),
    ]);

    // Act
    const plan = planRecord(parsed(value));

    // Assess
    expect(plan.increments.map((i) => [i.key.pk, i.attributes.identifier, i.itemIds.length])).toEqual([
      ['ON', 'installed', 3],
      ['QC', 'active-user', 1],
    ]);
    expect(plan.skipped).toEqual({ debug: 1, unknown: 1, badTimestamp: 1, repeated: 1 });
    expect(plan.items).toBe(8);
  });

  test('items of different UTC days are different keys', () => {
    // Prepare
    const value = envelope([payloadItem('installed', { timestamp: Date.UTC(2022, 3, 15, 23, 59, 59, 999) }), payloadItem('installed', { timestamp: Date.UTC(2022, 3, 16) })]);

    // Act
    const plan = planRecord(parsed(value));

    // Assess
    expect(plan.increments.map((i) => i.attributes.date)).toEqual(['2022-04-15', '2022-04-16']);
  });

  test('every identifier of reference §1.4 (and native, retired) is known; the debug event is not', () => {
    // Act / Assess
    expect([...KNOWN_IDENTIFIERS]).toEqual(expect.arrayContaining(['installed', 'onboarded', 'exposed', 'otk-entered-v2', 'en-toggle', 'exposed-clear', 'background-check', 'background-process', 'qr-code-successfully-scanned', 'error-400-keys-bad-cert', 'error-400-keys-download', 'error-500-qr-url', 'error-500-qr-parse', 'active-user', 'scheduled-check-started-today', 'scheduled-check-successful-today', 'otk-entered']));
    expect(KNOWN_IDENTIFIERS.has('ExposureNotificationCheck')).toBe(false);
  });
});

describe('planTransactions', () => {
  const increment = (sk: string, n: number): AggregateIncrement => ({
    key: { pk: 'ON', sk },
    attributes: {} as AggregateIncrement['attributes'],
    itemIds: Array.from({ length: n }, (_, i) => `${sk}-${i}`),
  });

  test.each([
    ['one small increment', [increment('a', 3)], [[['a', 3]]]],
    ['fills up to exactly 100 actions', [increment('a', 49), increment('b', 49)], [[['a', 49], ['b', 49]]]],
    ['opens a second transaction past 100', [increment('a', 49), increment('b', 50)], [[['a', 49]], [['b', 50]]]],
    ['splits an increment of 150 items; the pieces never share a transaction', [increment('a', 150)], [[['a', 99]], [['a', 51]]]],
    ['packs other keys next to a piece', [increment('a', 150), increment('b', 10)], [[['a', 99]], [['a', 51], ['b', 10]]]],
  ])('%s', (_what, increments, expected) => {
    // Act
    const transactions = planTransactions(increments);

    // Assess
    expect(transactions.map((t) => t.map((i) => [i.key.sk, i.itemIds.length]))).toEqual(expected);
    for (const t of transactions) {
      expect(t.length + sumIds(t)).toBeLessThanOrEqual(MAX_TRANSACTION_ACTIONS);
      expect(new Set(t.map((i) => i.key.sk)).size).toBe(t.length);
    }
    expect(transactions.flatMap((t) => t.flatMap((i) => i.itemIds)).sort()).toEqual(increments.flatMap((i) => i.itemIds).sort());
  });
});

describe('countRecord / aggregateBatch: exactly once', () => {
  test('counts each item once, ADDing the pre-aggregated number; ledger entries live 48 h', async () => {
    // Prepare
    const d = deps();

    // Act
    const outcome = await countRecord(d, insert('1', envelope([...events('installed', 3), payloadItem('active-user')])));

    // Assess
    expect(outcome).toEqual({ kind: 'counted', counted: 4, alreadyCounted: 0, skipped: 0 });
    expect(d.aggregates.calls).toBe(1);
    expect([...d.aggregates.counters.values()]).toEqual([3, 1]);
    expect(new Set(d.aggregates.ledger.values())).toEqual(new Set([NOW / 1000 + LEDGER_TTL_SECONDS]));
  });

  test('the same batch delivered twice moves no counter twice', async () => {
    // Prepare
    const d = deps();
    const batch = [insert('1', envelope(events('installed', 2))), insert('2', envelope([payloadItem('exposed', { isUserExposed: 'false' })]))];

    // Act
    const first = await aggregateBatch(d, batch);
    const second = await aggregateBatch(d, batch);

    // Assess
    expect(first.summary).toMatchObject({ counted: 3, alreadyCounted: 0 });
    expect(second.summary).toMatchObject({ counted: 0, alreadyCounted: 3 });
    expect(second.failedSequenceNumbers).toEqual([]);
    expect(d.aggregates.total()).toBe(3);
  });

  test('a re-sent envelope (new metricstimestamp, the old events plus a new one) counts only the new one', async () => {
    // Prepare
    const d = deps();
    const old = events('active-user', 2);
    await countRecord(d, insert('1', envelope(old)));

    // Act
    const outcome = await countRecord(d, insert('2', envelope([...old, payloadItem('active-user', { timestamp: ITEM_TS + 99 })], { metricstimestamp: 1_650_000_500_000 })));

    // Assess
    expect(outcome).toEqual({ kind: 'counted', counted: 1, alreadyCounted: 2, skipped: 0 });
    expect(d.aggregates.total()).toBe(3);
  });

  test('an identical item counts again once its ledger entry has expired (48 h window)', async () => {
    // Prepare
    const d = deps();
    const value = envelope([payloadItem('installed')]);
    await countRecord(d, insert('1', value));
    d.clock.advance((LEDGER_TTL_SECONDS + 1) * 1000);

    // Act
    const outcome = await countRecord(d, insert('2', value));

    // Assess
    expect(outcome).toMatchObject({ kind: 'counted', counted: 1 });
    expect(d.aggregates.total()).toBe(2);
  });

  test('a record of 150 distinct items (2 transactions) that fails in its 2nd transaction counts exactly once when retried', async () => {
    // Prepare
    const d = deps();
    const record = insert('1', envelope(events('background-process', 150, { status: 'success', durationInSeconds: '12' })));
    d.aggregates.failOnCall = { call: 2, error: new StorageError('countOnce cancelled: ThrottlingError') };

    // Act
    const failed = await aggregateBatch(d, [record]);
    const retried = await aggregateBatch(d, [record]);
    const again = await aggregateBatch(d, [record]);

    // Assess
    expect(failed.failedSequenceNumbers).toEqual(['1']);
    expect(failed.outcomes[0].outcome).toMatchObject({ kind: 'failed', reason: 'storage', counted: 99 });
    expect(retried.failedSequenceNumbers).toEqual([]);
    expect(retried.summary).toMatchObject({ counted: 51, alreadyCounted: 99 });
    expect(again.summary).toMatchObject({ counted: 0, alreadyCounted: 150 });
    expect(d.aggregates.total()).toBe(150);
  });

  test('partial batch failure: the failed record is reported by sequence number, the others still count', async () => {
    // Prepare
    const d = deps();
    d.aggregates.failOnCall = { call: 2, error: new StorageError('countOnce failed: ProvisionedThroughputExceededException') };
    const batch = [insert('100', envelope([payloadItem('installed')])), insert('200', envelope([payloadItem('onboarded')])), insert('300', envelope([payloadItem('exposed')]))];

    // Act
    const result = await aggregateBatch(d, batch);
    const retry = await aggregateBatch(d, batch.slice(1));

    // Assess
    expect(result.failedSequenceNumbers).toEqual(['200']);
    expect(result.summary).toMatchObject({ counted: 2, failed: 1 });
    expect(retry.failedSequenceNumbers).toEqual([]);
    expect(retry.summary).toMatchObject({ counted: 1, alreadyCounted: 1 });
    expect(d.aggregates.total()).toBe(3);
  });

  test.each([
    ['REMOVE', { sequenceNumber: '1', eventName: 'REMOVE', rawId: 'x' }],
    ['a DynamoDB Local TTL deletion', { sequenceNumber: '1', eventName: 'UNKNOWN_TO_SDK_VERSION', rawId: 'x' }],
    ['MODIFY', { sequenceNumber: '1', eventName: 'MODIFY', rawId: 'x', raw: text(envelope()) }],
  ])('%s is ignored', async (_what, record: RawStreamRecord) => {
    // Prepare
    const d = deps();

    // Act
    const result = await aggregateBatch(d, [record]);

    // Assess
    expect(result.summary).toMatchObject({ ignored: 1, counted: 0 });
    expect(result.failedSequenceNumbers).toEqual([]);
    expect(d.aggregates.calls).toBe(0);
  });

  test.each([
    ['unparsable raw JSON', '{"payload": [', 'body is not valid JSON'],
    ['an invalid envelope', text({ payload: [] }), 'metricstimestamp is required'],
    ['no raw attribute', undefined, 'no raw text in the new image'],
  ])('%s is a poison record: reported, nothing counted', async (_what, raw, reason) => {
    // Prepare
    const d = deps();

    // Act
    const result = await aggregateBatch(d, [{ sequenceNumber: '7', eventName: 'INSERT', rawId: 'r', ...(raw === undefined ? {} : { raw }) }, insert('8', envelope())]);

    // Assess
    expect(result.outcomes[0].outcome).toEqual({ kind: 'poison', reason });
    expect(result.failedSequenceNumbers).toEqual(['7']);
    expect(d.aggregates.total()).toBe(1);
  });

  test('contention (conflicts the store gave up on) fails the record for a later retry', async () => {
    // Prepare
    const d = deps({ countOnce: async () => ({ kind: 'contention' }) } as never);

    // Act
    const result = await aggregateBatch(d, [insert('5', envelope())]);

    // Assess
    expect(result.failedSequenceNumbers).toEqual(['5']);
    expect(result.outcomes[0].outcome).toMatchObject({ kind: 'failed', reason: 'contention' });
  });

  test('a store that answers already-counted for no pending item cannot make the record loop', async () => {
    // Prepare
    const d = deps({ countOnce: async () => ({ kind: 'already-counted', itemIds: ['not-pending'] }) } as never);

    // Act
    const result = await aggregateBatch(d, [insert('5', envelope())]);

    // Assess
    expect(result.failedSequenceNumbers).toEqual(['5']);
  });

  test('error identifiers are reported once per newly counted item', async () => {
    // Prepare
    const recorded: [string, number][] = [];
    const d = { ...deps(), errors: { record: (identifier: string, count: number) => recorded.push([identifier, count]) } };
    const record = insert('1', envelope([...events('error-500-qr-parse', 2), payloadItem('installed')]));

    // Act
    await countRecord(d, record);
    await countRecord(d, record);

    // Assess
    expect(recorded).toEqual([['error-500-qr-parse', 2]]);
  });

  test('the ledger id is the item identity', async () => {
    // Prepare
    const d = deps();
    const value = envelope([payloadItem('installed')]);
    const env = parsed(value);

    // Act
    await countRecord(d, insert('1', value));

    // Assess
    expect([...d.aggregates.ledger.keys()]).toEqual([itemIdentity(env, env.payload[0])]);
  });
});
