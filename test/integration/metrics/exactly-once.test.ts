/**
 * aggregate-metrics against the shared runtime's DynamoDB Local (real transactions, conditions
 * and TTL): METRICS.md rules 1–2 — re-delivered batches, batches that failed half-way, re-sent
 * envelopes and records of more than 100 actions each move every counter exactly once.
 */
import './quiet';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { ledgerId } from '../../../lambdas/adapters/dynamo-aggregates';
import { itemIdentity } from '../../../lambdas/domain/metrics/aggregate-key';
import { LEDGER_TTL_SECONDS } from '../../../lambdas/domain/metrics/aggregate';
import { parseEnvelope, saveMetrics } from '../../../lambdas/domain/metrics/envelope';
import { StorageError } from '../../../lambdas/domain/settings';
import { makeAggregateMetricsHandler } from '../../../lambdas/handlers/aggregate-metrics';
import type { AggregateStore, RawMetricsItem } from '../../../lambdas/ports';
import { buildSaveMetricsContext } from '../../../lambdas/shared/metrics-context';
import { lambdaContext } from '../../support/builders/api-events';
import { FixedClock } from '../../support/builders/deterministic';
import { envelope, ITEM_TS, payloadItem, streamEvent, text, type Json } from '../../unit/metrics/builders';
import { metricsRig, skOf, uniqueRegion, type MetricsRig } from './support';

let rig: MetricsRig;
beforeAll(async () => {
  rig = await metricsRig();
});
afterAll(() => rig.destroy());

type Handler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;
function aggregator(options: Parameters<MetricsRig['aggregateContext']>[0] = {}): Handler {
  const context = rig.aggregateContext(options);
  const handler = makeAggregateMetricsHandler(async () => context);
  return (event) => handler(event, lambdaContext('aggregate-metrics'));
}

/** Fails the n-th countOnce call (1-based) once with a StorageError, as throttling would. */
function failingCall(n: number) {
  let calls = 0;
  return (store: AggregateStore): AggregateStore => ({
    countOnce(increments, ledgerExpiresAt, nowMs) {
      calls += 1;
      if (calls === n) return Promise.reject(new StorageError('countOnce cancelled: ThrottlingError'));
      return store.countOnce(increments, ledgerExpiresAt, nowMs);
    },
  });
}

const at = (region: string, identifier: string, fields: Json = {}) => payloadItem(identifier, { region, ...fields });
/** `n` events of one identifier in `region`, distinct by timestamp (same day). */
const many = (region: string, identifier: string, n: number) => Array.from({ length: n }, (_, i) => at(region, identifier, { timestamp: ITEM_TS + i }));

describe('exactly once against DynamoDB Local', () => {
  test('the same stream batch delivered twice moves each counter exactly once', async () => {
    // Prepare
    const region = uniqueRegion();
    const event = streamEvent(
      { sequenceNumber: '101', raw: text(envelope(many(region, 'installed', 2))) },
      { sequenceNumber: '102', raw: text(envelope([at(region, 'exposed', { isUserExposed: 'false' }), ...many(region, 'active-user', 3)])) },
      { sequenceNumber: '103', eventName: 'REMOVE' },
    );
    const handle = aggregator();

    // Act
    const first = await handle(event);
    const second = await handle(event);

    // Assess
    expect([first, second]).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    expect(await rig.counters(region)).toEqual({
      [skOf(region, 'installed')]: 2,
      [skOf(region, 'active-user')]: 3,
      [skOf(region, 'exposed', '2022-04-15#android#30#1.5.4#google#Pixel 4a#11#*#*#*#*#*#*#*#false')]: 1,
    });
  });

  test('a batch that fails half-way reports the failed record and, retried from it, counts exactly once', async () => {
    // Prepare
    const region = uniqueRegion();
    const records = [
      { sequenceNumber: '201', raw: text(envelope([at(region, 'installed')])) },
      { sequenceNumber: '202', raw: text(envelope([at(region, 'onboarded', { pushnotification: 'granted', frameworkenabled: 'true' })])) },
      { sequenceNumber: '203', raw: text(envelope(many(region, 'installed', 4).slice(1))) },
    ];
    const handle = aggregator({ wrapStore: failingCall(2) });

    // Act
    const first = await handle(streamEvent(...records));
    // Lambda re-delivers from the first failed record on.
    const retry = await handle(streamEvent(...records.slice(1)));

    // Assess
    expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: '202' }] });
    expect(retry).toEqual({ batchItemFailures: [] });
    expect(await rig.counters(region)).toEqual({
      [skOf(region, 'installed')]: 4,
      [skOf(region, 'onboarded', '2022-04-15#android#30#1.5.4#google#Pixel 4a#11#granted#true#*#*#*#*#*#*')]: 1,
    });
  });

  test('the same envelope posted twice (two raw items, different metricstimestamp) is counted once', async () => {
    // Prepare
    const region = uniqueRegion();
    const stored: RawMetricsItem[] = [];
    const context = buildSaveMetricsContext({ db: rig.db, rawMetricsTable: rig.tables.rawMetrics });
    const save = { ...context, raw: { putAll: (items: readonly RawMetricsItem[]) => (stored.push(...items), context.raw.putAll(items)) } };
    const events = [at(region, 'active-user'), at(region, 'background-check', { count: '14', utcDay: '1649894400000' })];
    await saveMetrics(save, text(envelope(events, { metricstimestamp: 1_650_000_000_000 })));
    await saveMetrics(save, text(envelope(events, { metricstimestamp: 1_650_000_777_000 })));
    const inTable = await Promise.all(stored.map((i) => rig.db.send(new GetCommand({ TableName: rig.tables.rawMetrics, Key: { id: i.id }, ConsistentRead: true }))));

    // Act
    const result = await aggregator()(streamEvent(...stored.map((item, i) => ({ sequenceNumber: `30${i}`, id: item.id, raw: item.raw }))));

    // Assess
    expect(inTable.map((o) => o.Item?.raw)).toEqual(stored.map((i) => i.raw));
    expect(stored.map((i) => i.raw)).toHaveLength(2);
    expect(result).toEqual({ batchItemFailures: [] });
    expect(await rig.counters(region)).toEqual({
      [skOf(region, 'active-user')]: 1,
      [skOf(region, 'background-check', '2022-04-15#android#30#1.5.4#google#Pixel 4a#11#*#*#*#*#13-30#*#*#*')]: 1,
    });
  });

  test('a record of more than 100 actions (150 items) counts exactly once, failed part-way and re-delivered', async () => {
    // Prepare: 150 active-user events (one key: pieces of 99 + 51) and 5 installed events
    const region = uniqueRegion();
    const event = streamEvent({ sequenceNumber: '401', raw: text(envelope([...many(region, 'active-user', 150), ...many(region, 'installed', 5)])) });
    const handle = aggregator({ wrapStore: failingCall(2) });

    // Act
    const failed = await handle(event);
    const afterFailure = await rig.counters(region);
    const retried = await handle(event);
    const redelivered = await handle(event);

    // Assess
    expect(failed).toEqual({ batchItemFailures: [{ itemIdentifier: '401' }] });
    expect(afterFailure).toEqual({ [skOf(region, 'active-user')]: 99 });
    expect([retried, redelivered]).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    expect(await rig.counters(region)).toEqual({ [skOf(region, 'active-user')]: 150, [skOf(region, 'installed')]: 5 });
  });

  test('ledger entries live 48 h: an identical item counts again only after its entry expired (clock moved)', async () => {
    // Prepare
    const region = uniqueRegion();
    const value = envelope([at(region, 'installed')]);
    const start = Date.now();
    const clock = new FixedClock(start);
    const handle = aggregator({ clock });
    await handle(streamEvent({ sequenceNumber: '501', raw: text(value) }));
    const parsed = parseEnvelope(text(value));
    const id = parsed.ok ? itemIdentity(parsed.envelope, parsed.envelope.payload[0]) : '';
    const ledger = await rig.db.send(new GetCommand({ TableName: rig.tables.metricsLedger, Key: { id: ledgerId(id) }, ConsistentRead: true }));

    // Act
    clock.advance((LEDGER_TTL_SECONDS - 60) * 1000);
    await handle(streamEvent({ sequenceNumber: '502', raw: text(value) }));
    const within = await rig.counters(region);
    clock.advance(120 * 1000);
    await handle(streamEvent({ sequenceNumber: '503', raw: text(value) }));

    // Assess
    expect(ledger.Item).toEqual({ id: ledgerId(id), expiresAt: Math.floor(start / 1000) + LEDGER_TTL_SECONDS });
    expect(within).toEqual({ [skOf(region, 'installed')]: 1 });
    expect(await rig.counters(region)).toEqual({ [skOf(region, 'installed')]: 2 });
  });

  test('the aggregate item carries the descriptive attributes the reports read', async () => {
    // Prepare
    const region = uniqueRegion();
    const raw = text(envelope([at(region, 'otk-entered-v2', { withDate: 'true', isUserExposed: 'proximity' })]));

    // Act
    await aggregator()(streamEvent({ sequenceNumber: '601', raw }));

    // Assess
    const sk = skOf(region, 'otk-entered-v2', '2022-04-15#android#30#1.5.4#google#Pixel 4a#11#*#*#*#*#*#*#true#proximity');
    const { Item } = await rig.db.send(new GetCommand({ TableName: rig.tables.aggregateMetrics, Key: { pk: region, sk }, ConsistentRead: true }));
    expect(Item).toEqual({
      pk: region,
      sk,
      metricCount: 1,
      identifier: 'otk-entered-v2',
      date: '2022-04-15',
      region,
      appos: 'android',
      osversion: '30',
      appversion: '1.5.4',
      manufacturer: 'google',
      model: 'Pixel 4a',
      androidreleaseversion: '11',
      pushnotification: '',
      frameworkenabled: '',
      state: '',
      status: '',
      hoursSinceExposureDetectedAt: '',
      count: '',
      duration: '',
      withDate: 'true',
      isUserExposed: 'proximity',
      version: 6,
    });
  });
});
