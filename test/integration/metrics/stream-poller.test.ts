/**
 * The whole metrics path on the shared runtime's DynamoDB Local: POST bodies through the
 * save-metrics handler (real raw_metrics table), `drain()` the table's real stream with a poller
 * of this test's own (in-memory checkpoints, started at LATEST), aggregate, read counters back.
 * The raw_metrics stream is shared with every other test: assertions only look at this test's
 * own region values and raw item ids.
 */
import './quiet';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { makeAggregateMetricsHandler } from '../../../lambdas/handlers/aggregate-metrics';
import { makeSaveMetricsHandler } from '../../../lambdas/handlers/save-metrics';
import type { RawMetricsItem } from '../../../lambdas/ports';
import { buildSaveMetricsContext } from '../../../lambdas/shared/metrics-context';
import { createStreamPoller, type StreamFailure, type StreamPoller } from '../../../local/stream-poller';
import { apiEvent, lambdaContext } from '../../support/builders/api-events';
import { envelope, ITEM_TS, payloadItem, text, type Json } from '../../unit/metrics/builders';
import { metricsRig, skOf, uniqueRegion, type MetricsRig } from './support';

let rig: MetricsRig;
beforeAll(async () => {
  rig = await metricsRig();
});
afterAll(() => rig.destroy());

/** save-metrics as the local runtime wires it (API key checked), remembering the raw items it wrote. */
function saver() {
  const written: RawMetricsItem[] = [];
  const context = buildSaveMetricsContext({ db: rig.db, rawMetricsTable: rig.tables.rawMetrics, requireApiKey: true, apiKey: rig.apiKey });
  const recording = { ...context, raw: { putAll: async (items: readonly RawMetricsItem[]) => (await context.raw.putAll(items), void written.push(...items)) } };
  const handler = makeSaveMetricsHandler(async () => recording);
  const post = (body: string) =>
    handler(apiEvent({ path: '/save-metrics', body: Buffer.from(body), headers: { 'x-api-key': rig.apiKey, 'Content-Type': 'application/json' } }), lambdaContext('save-metrics'));
  return { post, written };
}

/** aggregate-metrics, optionally behind a wrapper that rewrites its answer per invocation. */
function aggregate(wrap?: (event: DynamoDBStreamEvent, response: DynamoDBBatchResponse) => DynamoDBBatchResponse) {
  const context = rig.aggregateContext();
  const handler = makeAggregateMetricsHandler(async () => context);
  return async (event: DynamoDBStreamEvent) => {
    const response = await handler(event, lambdaContext('aggregate-metrics'));
    return wrap ? wrap(event, response) : response;
  };
}

async function primedPoller(handler: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>, failures: StreamFailure[] = []): Promise<StreamPoller> {
  const poller = createStreamPoller({
    streamsClient: rig.streams,
    tableName: rig.tables.rawMetrics,
    handler,
    startingPosition: 'LATEST',
    maxRetries: 2,
    onFailure: (f) => void failures.push(f),
  });
  await poller.drain(); // positions the poller at the end of every open shard
  return poller;
}

const at = (region: string, identifier: string, fields: Json = {}) => payloadItem(identifier, { region, ...fields });
const idOf = (r: { dynamodb?: { Keys?: { id?: { S?: string } } } }) => r.dynamodb?.Keys?.id?.S;

describe('save-metrics → raw_metrics stream → poller → aggregate-metrics', () => {
  test('bodies posted (one split into chunks) are counted once per event after drain(); a second drain changes nothing', async () => {
    // Prepare
    const region = uniqueRegion();
    const poller = await primedPoller(aggregate());
    const { post, written } = saver();
    const big = envelope(Array.from({ length: 200 }, (_, i) => at(region, 'background-process', { status: 'success', durationInSeconds: '12', timestamp: ITEM_TS + i, pad: 'p'.repeat(400) })));
    const responses = [await post(text(envelope([at(region, 'installed'), at(region, 'active-user')]))), await post(text(big))];

    // Act
    const drained = await poller.drain();
    const counters = await rig.counters(region);
    await poller.drain();

    // Assess
    expect(responses.map((r) => [r.statusCode, r.body])).toEqual([
      [200, '{"status":"RECORD CREATED"}'],
      [200, '{"status":"RECORD CREATED"}'],
    ]);
    expect(written).toHaveLength(3);
    expect(drained.records).toBeGreaterThanOrEqual(3);
    expect(counters).toEqual({
      [skOf(region, 'installed')]: 1,
      [skOf(region, 'active-user')]: 1,
      [skOf(region, 'background-process', '2022-04-15#android#30#1.5.4#google#Pixel 4a#11#*#*#*#*#*#< 30#*#*')]: 200,
    });
    expect(await rig.counters(region)).toEqual(counters);
  });

  test('a record reported failed is retried by the poller and counted exactly once', async () => {
    // Prepare
    const region = uniqueRegion();
    const { post, written } = saver();
    let failedOnce = false;
    const poller = await primedPoller(
      aggregate((event, response) => {
        const mine = event.Records.find((r) => written.some((w) => w.id === idOf(r)));
        if (failedOnce || !mine?.dynamodb?.SequenceNumber) return response;
        failedOnce = true;
        return { batchItemFailures: [...response.batchItemFailures, { itemIdentifier: mine.dynamodb.SequenceNumber }] };
      }),
    );
    await post(text(envelope([at(region, 'exposed', { isUserExposed: 'true' })])));

    // Act
    await poller.drain();

    // Assess
    expect(failedOnce).toBe(true);
    expect(await rig.counters(region)).toEqual({ [skOf(region, 'exposed', '2022-04-15#android#30#1.5.4#google#Pixel 4a#11#*#*#*#*#*#*#*#true')]: 1 });
  });

  test('a record that keeps failing goes to the failure destination after 1 + maxRetries attempts; later records still count', async () => {
    // Prepare
    const region = uniqueRegion();
    const { post, written } = saver();
    const failures: StreamFailure[] = [];
    const attempts = new Map<string, number>();
    const poller = await primedPoller(
      aggregate((event, response) => {
        const doomed = event.Records.filter((r) => idOf(r) === written[0]?.id);
        for (const r of doomed) attempts.set(String(idOf(r)), (attempts.get(String(idOf(r))) ?? 0) + 1);
        return { batchItemFailures: [...response.batchItemFailures, ...doomed.map((r) => ({ itemIdentifier: String(r.dynamodb?.SequenceNumber) }))] };
      }),
      failures,
    );
    await post(text(envelope([at(region, 'en-toggle', { state: 'false' })])));
    await post(text(envelope([at(region, 'installed')])));

    // Act
    await poller.drain();

    // Assess
    const mine = failures.filter((f) => idOf(f.record) === written[0].id);
    expect(mine.map((f) => [f.reason, f.attempts])).toEqual([['reported', 3]]);
    expect(attempts.get(written[0].id)).toBe(3);
    expect((await rig.counters(region))[skOf(region, 'installed')]).toBe(1);
  });
});
