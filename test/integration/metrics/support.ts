/**
 * Shared plumbing of the metrics integration tests: clients for the shared runtime's DynamoDB
 * Local, the real contexts (save-metrics, aggregate-metrics) and a read-back of counters. Every
 * test uses its own region value, so its aggregate rows (pk = region) and ledger entries (the
 * identity includes the region) never meet another test's.
 */
import './quiet';
import { randomUUID } from 'node:crypto';
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { documentClient, dynamoDbStreamsClient, type EndpointOptions } from '../../../lambdas/adapters/aws-clients';
import { systemClock } from '../../../lambdas/adapters/system';
import type { AggregateStore, Clock } from '../../../lambdas/ports';
import { buildAggregateContext, type AggregateContext } from '../../../lambdas/shared/metrics-context';
import { runtimeInfo } from '../../support/runtime';

export interface MetricsRig {
  readonly db: DynamoDBDocumentClient;
  readonly streams: DynamoDBStreamsClient;
  readonly tables: { readonly rawMetrics: string; readonly aggregateMetrics: string; readonly metricsLedger: string };
  readonly apiKey: string;
  aggregateContext(options?: { clock?: Clock; wrapStore?: (store: AggregateStore) => AggregateStore }): AggregateContext;
  /** metricCount per sort key of one region (strongly consistent). */
  counters(region: string): Promise<Record<string, number>>;
  destroy(): void;
}

export async function metricsRig(): Promise<MetricsRig> {
  const info = await runtimeInfo();
  const options: EndpointOptions = {
    endpoint: info.dynamodb.endpoint,
    region: info.dynamodb.region,
    credentials: { accessKeyId: info.dynamodb.accessKeyId, secretAccessKey: info.dynamodb.secretAccessKey },
  };
  const db = documentClient(options);
  const streams = dynamoDbStreamsClient(options);
  const { rawMetrics, aggregateMetrics, metricsLedger } = info.dynamodb.tables;
  return {
    db,
    streams,
    tables: { rawMetrics, aggregateMetrics, metricsLedger },
    apiKey: info.metricsApiKey,
    aggregateContext: (o = {}) =>
      buildAggregateContext({ db, tables: { aggregateMetrics, metricsLedger }, clock: o.clock ?? systemClock, ...(o.wrapStore ? { wrapStore: o.wrapStore } : {}) }),
    async counters(region: string) {
      const out = await db.send(
        new QueryCommand({ TableName: aggregateMetrics, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': region }, ConsistentRead: true }),
      );
      return Object.fromEntries((out.Items ?? []).map((item) => [String(item.sk), Number(item.metricCount)]));
    },
    destroy() {
      db.destroy();
      streams.destroy();
    },
  };
}

/** A region value no other test uses (any string is a valid region on the wire). */
export const uniqueRegion = (): string => `it-${randomUUID().slice(0, 12)}`;

/** The sort key prefix of an identifier in a region on the builders' day and device. */
export const skOf = (region: string, identifier: string, rest = '2022-04-15#android#30#1.5.4#google#Pixel 4a#11#*#*#*#*#*#*#*#*'): string =>
  `${region}#${identifier}#${rest}`;
