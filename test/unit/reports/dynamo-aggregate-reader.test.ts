/**
 * DynamoAggregateReader against a mocked document client (aws-sdk-client-mock): the IdentifierIndex
 * query with `date BETWEEN`, pagination through LastEvaluatedKey, attribute mapping and errors.
 */
import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoAggregateReader } from '../../../lambdas/adapters/dynamo-aggregate-reader';
import type { AggregateRow } from '../../../lambdas/domain/metrics/report-ports';
import { StorageError } from '../../../lambdas/domain/settings';

const meta = { $metadata: {} };
const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'ca-central-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }));
const dbMock = mockClient(db);

beforeEach(() => dbMock.reset());

async function collect(pages: AsyncIterable<readonly AggregateRow[]>): Promise<(readonly AggregateRow[])[]> {
  const out: (readonly AggregateRow[])[] = [];
  for await (const page of pages) out.push(page);
  return out;
}

describe('DynamoAggregateReader', () => {
  test('queries IdentifierIndex by identifier and date range, following LastEvaluatedKey with the page size', async () => {
    // Prepare
    const lastKey = { pk: 'ON', sk: 'k1', identifier: 'active-user', date: '2021-03-01' };
    dbMock
      .on(QueryCommand)
      .resolvesOnce({ ...meta, Items: [{ pk: 'ON', region: 'ON', identifier: 'active-user', date: '2021-03-01', metricCount: 3 }], LastEvaluatedKey: lastKey })
      .resolvesOnce({ ...meta, Items: [{ pk: 'QC', region: 'QC', identifier: 'active-user', date: '2021-03-02', metricCount: 4 }] });
    const reader = new DynamoAggregateReader(db, 'aggregate_metrics', 2);

    // Act
    const pages = await collect(reader.rows('active-user', '0000-01-01', '2021-03-09'));

    // Assess
    expect(pages.map((p) => p.map((r) => [r.region, r.date, r.metricCount]))).toEqual([[['ON', '2021-03-01', 3]], [['QC', '2021-03-02', 4]]]);
    const inputs = dbMock.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(inputs).toHaveLength(2);
    expect(inputs[0]).toMatchObject({
      TableName: 'aggregate_metrics',
      IndexName: 'IdentifierIndex',
      KeyConditionExpression: '#identifier = :identifier AND #date BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':identifier': 'active-user', ':from': '0000-01-01', ':to': '2021-03-09' },
      Limit: 2,
    });
    expect(inputs[0].ExclusiveStartKey).toBeUndefined();
    expect(inputs[1].ExclusiveStartKey).toEqual(lastKey);
    expect(inputs[0].ProjectionExpression).toContain('#metricCount');
    expect(inputs[0].ExpressionAttributeNames).toMatchObject({ '#count': 'count', '#region': 'region', '#date': 'date' });
  });

  test('maps items to rows: missing attributes read as empty text, region falls back to pk', async () => {
    // Prepare
    dbMock.on(QueryCommand).resolves({
      ...meta,
      Items: [{ pk: 'None', identifier: 'background-check', date: '2021-03-01', count: '1-6', appos: 'android', metricCount: 12 }],
    });
    const reader = new DynamoAggregateReader(db, 'aggregate_metrics');

    // Act
    const [[item]] = await collect(reader.rows('background-check', '2021-01-01', '2021-03-09'));

    // Assess
    expect(item).toEqual({
      identifier: 'background-check',
      date: '2021-03-01',
      region: 'None',
      appos: 'android',
      appversion: '',
      count: '1-6',
      pushnotification: '',
      frameworkenabled: '',
      withDate: '',
      isUserExposed: '',
      metricCount: 12,
    });
    expect(dbMock.commandCalls(QueryCommand)[0].args[0].input.Limit).toBeUndefined();
  });

  test('an empty result yields no page', async () => {
    // Prepare
    dbMock.on(QueryCommand).resolves({ ...meta, Items: [] });

    // Act
    const pages = await collect(new DynamoAggregateReader(db, 'aggregate_metrics').rows('otk-entered', '0000-01-01', '2021-03-09'));

    // Assess
    expect(pages).toEqual([]);
  });

  test('SDK failures become StorageError with the cause', async () => {
    // Prepare
    const cause = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
    dbMock.on(QueryCommand).rejects(cause);

    // Act
    const result = collect(new DynamoAggregateReader(db, 'aggregate_metrics').rows('installed', '0000-01-01', '2021-03-09'));

    // Assess
    await expect(result).rejects.toBeInstanceOf(StorageError);
    await expect(result).rejects.toMatchObject({ message: 'reading aggregate metrics failed: ProvisionedThroughputExceededException', cause });
  });
});
