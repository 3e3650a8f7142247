/**
 * aggregate-metrics through the handler and the DynamoDB adapter with the document client mocked
 * (aws-sdk-client-mock): the transaction it writes, ledger cancellations retried without the
 * counted items, partial batch failures by sequence number, poison records, contention.
 */
import './quiet';
import { DynamoDBClient, ThrottlingException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { AGGREGATE_UPDATE_EXPRESSION, DynamoAggregateStore, ledgerId } from '../../../lambdas/adapters/dynamo-aggregates';
import { StorageError } from '../../../lambdas/domain/settings';
import { makeAggregateMetricsHandler } from '../../../lambdas/handlers/aggregate-metrics';
import { buildAggregateContext } from '../../../lambdas/shared/metrics-context';
import { lambdaContext } from '../../support/builders/api-events';
import { FixedClock } from '../../support/builders/deterministic';
import { envelope, ITEM_TS, payloadItem, streamEvent, text } from './builders';

const ddb = mockClient(DynamoDBDocumentClient);
const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'ca-central-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }));
const TABLES = { aggregateMetrics: 'aggregate-table', metricsLedger: 'ledger-table' };
const NOW = Date.UTC(2022, 3, 16, 3, 0, 0);
const meta = { $metadata: {} };
const cancelled = (...codes: string[]) => new TransactionCanceledException({ message: 'Transaction cancelled', ...meta, CancellationReasons: codes.map((Code) => ({ Code })) });

type TransactItems = NonNullable<TransactWriteCommand['input']['TransactItems']>;
const transactItems = (call: number): TransactItems => ddb.commandCalls(TransactWriteCommand)[call].args[0].input.TransactItems ?? [];
const ledgerIds = (items: TransactItems) => items.flatMap((a) => (a.Put ? [a.Put.Item?.id as string] : []));
const increments = (items: TransactItems) => items.flatMap((a) => (a.Update ? [a.Update.ExpressionAttributeValues?.[':n'] as number] : []));

function handlerWith() {
  const context = buildAggregateContext({ db, tables: TABLES, clock: new FixedClock(NOW), storeOptions: { backoffMs: () => 0 }, errors: { record: () => undefined } });
  return makeAggregateMetricsHandler(async () => context);
}
const invoke = (event: ReturnType<typeof streamEvent>) => handlerWith()(event, lambdaContext('aggregate-metrics'));

beforeEach(() => {
  ddb.reset();
  ddb.on(TransactWriteCommand).resolves({});
});

describe('aggregate-metrics handler', () => {
  test('one transaction per record: a conditional ledger Put per item and ADD metricCount :n per key', async () => {
    // Prepare
    const raw = text(envelope([payloadItem('installed'), payloadItem('installed', { timestamp: ITEM_TS + 1 }), payloadItem('exposed', { isUserExposed: 'false' })]));

    // Act
    const response = await invoke(streamEvent({ sequenceNumber: '100', raw }));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const items = transactItems(0);
    expect(items).toHaveLength(5);
    expect(items[0].Put).toEqual({
      TableName: 'ledger-table',
      Item: { id: expect.stringMatching(/^item#[0-9a-f]{64}$/), expiresAt: NOW / 1000 + 48 * 3600 },
      ConditionExpression: 'attribute_not_exists(id) OR expiresAt < :now',
      ExpressionAttributeValues: { ':now': NOW / 1000 },
    });
    expect(items[2].Update).toMatchObject({
      TableName: 'aggregate-table',
      Key: { pk: 'ON', sk: 'ON#installed#2022-04-15#android#30#1.5.4#google#Pixel 4a#11#*#*#*#*#*#*#*#*' },
      UpdateExpression: AGGREGATE_UPDATE_EXPRESSION,
    });
    expect(AGGREGATE_UPDATE_EXPRESSION.startsWith('ADD metricCount :n SET ')).toBe(true);
    expect(increments(items)).toEqual([2, 1]);
    const update = items[4].Update;
    const names = update?.ExpressionAttributeNames ?? {};
    const values = update?.ExpressionAttributeValues ?? {};
    const attributes = Object.fromEntries(Object.entries(names).map(([alias, name]) => [name, values[alias.replace('#', ':')]]));
    expect(attributes).toEqual({
      identifier: 'exposed',
      date: '2022-04-15',
      region: 'ON',
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
      withDate: '',
      isUserExposed: 'false',
      version: 6,
    });
  });

  test('TransactionCanceled with ConditionalCheckFailed on ledger entries: retried without those items', async () => {
    // Prepare: the first of three installed events was counted before
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled('ConditionalCheckFailed', 'None', 'None', 'None')).resolves({});
    const raw = text(envelope([0, 1, 2].map((i) => payloadItem('installed', { timestamp: ITEM_TS + i }))));

    // Act
    const response = await invoke(streamEvent({ sequenceNumber: '100', raw }));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(2);
    const [first, second] = [transactItems(0), transactItems(1)];
    expect(increments(first)).toEqual([3]);
    expect(ledgerIds(second)).toEqual(ledgerIds(first).slice(1));
    expect(increments(second)).toEqual([2]);
  });

  test('every ledger entry counted already: nothing more is written', async () => {
    // Prepare
    ddb.on(TransactWriteCommand).rejects(cancelled('ConditionalCheckFailed', 'ConditionalCheckFailed', 'None'));
    const raw = text(envelope([0, 1].map((i) => payloadItem('installed', { timestamp: ITEM_TS + i }))));

    // Act
    const response = await invoke(streamEvent({ sequenceNumber: '100', raw }));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });

  test('partial batch failure: the throttled record is reported by its sequence number, the others commit', async () => {
    // Prepare
    ddb
      .on(TransactWriteCommand)
      .resolvesOnce({})
      .rejectsOnce(new ThrottlingException({ message: 'Rate exceeded', ...meta }))
      .resolves({});
    const event = streamEvent(
      { sequenceNumber: '111', raw: text(envelope([payloadItem('installed')])) },
      { sequenceNumber: '222', raw: text(envelope([payloadItem('onboarded')])) },
      { sequenceNumber: '333', raw: text(envelope([payloadItem('active-user')])) },
    );

    // Act
    const response = await invoke(event);

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '222' }] });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(3);
  });

  test('a cancellation for throttling is a failure to retry, not "already counted"', async () => {
    // Prepare
    ddb.on(TransactWriteCommand).rejects(cancelled('None', 'ThrottlingError'));

    // Act
    const response = await invoke(streamEvent({ sequenceNumber: '9', raw: text(envelope()) }));

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '9' }] });
  });

  test('TransactionConflict is retried in the adapter, then reported as a failure', async () => {
    // Prepare
    ddb.on(TransactWriteCommand).rejects(cancelled('TransactionConflict', 'None'));

    // Act
    const response = await invoke(streamEvent({ sequenceNumber: '9', raw: text(envelope()) }));

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '9' }] });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(4);
  });

  test('a conflict that clears on retry commits', async () => {
    // Prepare
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled('None', 'TransactionConflict')).resolves({});

    // Act
    const response = await invoke(streamEvent({ sequenceNumber: '9', raw: text(envelope()) }));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(2);
  });

  test('a poison record (unparsable raw) is reported; REMOVE and TTL deletions are ignored', async () => {
    // Prepare
    const event = streamEvent(
      { sequenceNumber: '1', raw: '{"metricstimestamp": 1, "payl' },
      { sequenceNumber: '2', eventName: 'REMOVE' },
      { sequenceNumber: '3', eventName: 'UNKNOWN_TO_SDK_VERSION' },
      { sequenceNumber: '4', raw: text(envelope()) },
    );

    // Act
    const response = await invoke(event);

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '1' }] });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });

  test('a record of 150 items is written as two transactions of at most 100 actions', async () => {
    // Prepare
    const raw = text(envelope(Array.from({ length: 150 }, (_, i) => payloadItem('active-user', { timestamp: ITEM_TS + i }))));

    // Act
    await invoke(streamEvent({ sequenceNumber: '1', raw }));

    // Assess
    const calls = ddb.commandCalls(TransactWriteCommand);
    expect(calls.map((_, i) => transactItems(i).length)).toEqual([100, 52]);
    expect(calls.map((_, i) => increments(transactItems(i)))).toEqual([[99], [51]]);
    expect(new Set([...ledgerIds(transactItems(0)), ...ledgerIds(transactItems(1))]).size).toBe(150);
  });
});

describe('DynamoAggregateStore errors', () => {
  const store = new DynamoAggregateStore(db, TABLES, { backoffMs: () => 0 });
  const increment = { key: { pk: 'ON', sk: 's' }, attributes: {} as never, itemIds: ['a', 'b'] };

  test('other cancellation reasons and SDK errors are StorageError', async () => {
    // Prepare
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled('None', 'None', 'ValidationError')).rejectsOnce(new Error('socket hang up'));

    // Act / Assess (in order: the mock answers once each)
    await expect(store.countOnce([increment], 1, NOW)).rejects.toMatchObject({ name: 'StorageError', message: 'countOnce cancelled: ValidationError' });
    await expect(store.countOnce([increment], 1, NOW)).rejects.toBeInstanceOf(StorageError);
  });

  test('already-counted names the items of the ledger actions that failed their condition', async () => {
    // Prepare
    ddb.on(TransactWriteCommand).rejects(cancelled('None', 'ConditionalCheckFailed', 'None'));

    // Act
    const outcome = await store.countOnce([increment], 1, NOW);

    // Assess
    expect(outcome).toEqual({ kind: 'already-counted', itemIds: ['b'] });
    expect(ledgerId('b')).toBe('item#b');
  });
});
