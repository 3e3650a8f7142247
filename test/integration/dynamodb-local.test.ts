/**
 * Proves, against the running DynamoDB Local, the features the design depends on: tables built
 * from the shared definitions, conditional writes, cancelled transactions, and streams.
 */
import { randomUUID } from 'node:crypto';
import { DescribeTableCommand, DescribeTimeToLiveCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, ListStreamsCommand } from '@aws-sdk/client-dynamodb-streams';
import { GetCommand, PutCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { TABLE_LIST, TABLES } from '../../lib/definitions';
import { documentClient, dynamoDbClient, dynamoDbStreamsClient, type EndpointOptions } from '../../lambdas/adapters/aws-clients';
import { runtimeInfo } from '../support/runtime';

let options: EndpointOptions;
let tables: Record<string, string>;
let raw: DynamoDBClient;
let doc: DynamoDBDocumentClient;

beforeAll(async () => {
  const info = await runtimeInfo();
  options = {
    endpoint: info.dynamodb.endpoint,
    region: info.dynamodb.region,
    credentials: { accessKeyId: info.dynamodb.accessKeyId, secretAccessKey: info.dynamodb.secretAccessKey },
  };
  tables = info.dynamodb.tables;
  raw = dynamoDbClient(options);
  doc = documentClient(options);
});

afterAll(() => {
  raw.destroy();
  doc.destroy();
});

describe('tables built from lib/definitions.ts', () => {
  test.each(TABLE_LIST.map((def) => [def.role, def] as const))('%s has the defined keys, indexes, TTL and stream', async (_role, def) => {
    // Act
    const { Table } = await raw.send(new DescribeTableCommand({ TableName: tables[def.role] }));
    const ttl = await raw.send(new DescribeTimeToLiveCommand({ TableName: tables[def.role] }));

    // Assess
    expect(Table?.KeySchema).toEqual([
      { AttributeName: def.partitionKey.name, KeyType: 'HASH' },
      ...(def.sortKey ? [{ AttributeName: def.sortKey.name, KeyType: 'RANGE' }] : []),
    ]);
    expect((Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName).sort()).toEqual(def.indexes.map((i) => i.indexName).sort());
    if (def.ttlAttribute) {
      expect(ttl.TimeToLiveDescription).toMatchObject({ AttributeName: def.ttlAttribute, TimeToLiveStatus: 'ENABLED' });
    } else {
      expect(ttl.TimeToLiveDescription?.TimeToLiveStatus).not.toBe('ENABLED');
    }
    expect(Table?.StreamSpecification?.StreamViewType).toBe(def.stream);
  });
});

describe('conditional writes', () => {
  test('a second put with attribute_not_exists fails with ConditionalCheckFailedException and leaves the first item', async () => {
    // Prepare
    const pk = `test#${randomUUID()}`;
    const put = (value: string) =>
      doc.send(
        new PutCommand({
          TableName: tables.submission,
          Item: { pk, value },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    await put('first');

    // Act
    const second = put('second');

    // Assess
    await expect(second).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    await expect(second).rejects.toMatchObject({ Item: { pk: { S: pk }, value: { S: 'first' } } });
    const stored = await doc.send(new GetCommand({ TableName: tables.submission, Key: { pk } }));
    expect(stored.Item).toEqual({ pk, value: 'first' });
  });

  test('a conditional counter never goes below zero', async () => {
    // Prepare
    const pk = `test#${randomUUID()}`;
    await doc.send(new PutCommand({ TableName: tables.submission, Item: { pk, remaining: 2 } }));
    const take = (n: number) =>
      doc.send(
        new UpdateCommand({
          TableName: tables.submission,
          Key: { pk },
          UpdateExpression: 'ADD remaining :minus',
          ConditionExpression: 'remaining >= :n',
          ExpressionAttributeValues: { ':minus': -n, ':n': n },
        }),
      );

    // Act
    await take(2);
    const overdraft = take(1);

    // Assess
    await expect(overdraft).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    const stored = await doc.send(new GetCommand({ TableName: tables.submission, Key: { pk } }));
    expect(stored.Item?.remaining).toBe(0);
  });
});

describe('transactions', () => {
  test('a failed condition cancels the whole transaction with per-action reasons, writing nothing', async () => {
    // Prepare
    const existing = `test#${randomUUID()}`;
    const fresh = `test#${randomUUID()}`;
    await doc.send(new PutCommand({ TableName: tables.submission, Item: { pk: existing, state: 'claimed' } }));

    // Act
    const transaction = doc.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: tables.submission, Item: { pk: fresh, state: 'new' }, ConditionExpression: 'attribute_not_exists(pk)' } },
          {
            Update: {
              TableName: tables.submission,
              Key: { pk: existing },
              UpdateExpression: 'SET #s = :claimed',
              ConditionExpression: '#s = :unclaimed',
              ExpressionAttributeNames: { '#s': 'state' },
              ExpressionAttributeValues: { ':claimed': 'claimed', ':unclaimed': 'unclaimed' },
            },
          },
        ],
      }),
    );

    // Assess
    await expect(transaction).rejects.toBeInstanceOf(TransactionCanceledException);
    const reasons = await transaction.catch((e: TransactionCanceledException) => e.CancellationReasons?.map((r) => r.Code));
    expect(reasons).toEqual(['None', 'ConditionalCheckFailed']);
    const notWritten = await doc.send(new GetCommand({ TableName: tables.submission, Key: { pk: fresh } }));
    expect(notWritten.Item).toBeUndefined();
  });
});

describe('streams', () => {
  test('an item written to the raw metrics table is read back from its stream as a NEW_IMAGE INSERT', async () => {
    // Prepare
    const streams = dynamoDbStreamsClient(options);
    const id = randomUUID();
    const item = { id, raw: JSON.stringify({ payload: [{ identifier: 'installed' }] }), expiresAt: 2_000_000_000 };
    const { Streams } = await streams.send(new ListStreamsCommand({ TableName: tables.rawMetrics }));
    const streamArn = Streams?.[0]?.StreamArn;
    expect(streamArn).toBeDefined();

    // Act
    await doc.send(new PutCommand({ TableName: tables.rawMetrics, Item: item }));
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    const images: Record<string, unknown>[] = [];
    for (const shard of StreamDescription?.Shards ?? []) {
      const { ShardIterator } = await streams.send(
        new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      let iterator = ShardIterator;
      // Read the shard to its current end (an open shard returns an empty page at its end).
      for (let page = 0; iterator && page < 50; page += 1) {
        const out = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
        for (const record of out.Records ?? []) {
          if (record.eventName === 'INSERT' && record.dynamodb?.NewImage) {
            images.push(unmarshall(record.dynamodb.NewImage as Parameters<typeof unmarshall>[0]));
          }
        }
        if ((out.Records ?? []).length === 0) break;
        iterator = out.NextShardIterator;
      }
    }
    streams.destroy();

    // Assess
    expect(StreamDescription?.StreamViewType).toBe(TABLES.rawMetrics.stream);
    expect(images).toContainEqual(item);
  });
});
