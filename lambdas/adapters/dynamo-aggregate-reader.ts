/**
 * Reads aggregate counters for metrics-report from the aggregate_metrics table through its GSI
 * `IdentifierIndex` (partition `identifier`, sort `date`): one Query per identifier ranged with
 * `date BETWEEN :from AND :to`, followed page by page (LastEvaluatedKey), so a caller holds one
 * page at a time. Only the attributes the reports use are projected; missing ones read as `''`.
 * Failures become StorageError (the job fails and is retried by the next schedule).
 */
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TABLES } from '../../lib/definitions';
import type { AggregateReader, AggregateRow } from '../domain/metrics/report-ports';
import { StorageError } from '../domain/settings';

const INDEX = TABLES.aggregateMetrics.indexes.find((i) => i.indexName === 'IdentifierIndex')!;

/** Attributes read (several are DynamoDB reserved words, so all go through #names). */
const ATTRIBUTES = [
  'pk',
  'identifier',
  'date',
  'region',
  'appos',
  'appversion',
  'count',
  'pushnotification',
  'frameworkenabled',
  'withDate',
  'isUserExposed',
  'metricCount',
] as const;

const NAMES = Object.fromEntries(ATTRIBUTES.map((a) => [`#${a}`, a]));

export class DynamoAggregateReader implements AggregateReader {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Items per Query page (undefined: DynamoDB's 1 MB pages). */
    private readonly pageSize?: number,
  ) {}

  async *rows(identifier: string, from: string, to: string): AsyncIterable<readonly AggregateRow[]> {
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.query(identifier, from, to, exclusiveStartKey);
      const items = page.Items ?? [];
      if (items.length > 0) yield items.map(toRow);
      exclusiveStartKey = page.LastEvaluatedKey;
    } while (exclusiveStartKey);
  }

  private async query(identifier: string, from: string, to: string, exclusiveStartKey?: Record<string, unknown>) {
    try {
      return await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: INDEX.indexName,
          KeyConditionExpression: `#${INDEX.partitionKey.name} = :identifier AND #${INDEX.sortKey!.name} BETWEEN :from AND :to`,
          ProjectionExpression: ATTRIBUTES.map((a) => `#${a}`).join(', '),
          ExpressionAttributeNames: NAMES,
          ExpressionAttributeValues: { ':identifier': identifier, ':from': from, ':to': to },
          ...(exclusiveStartKey ? { ExclusiveStartKey: exclusiveStartKey } : {}),
          ...(this.pageSize ? { Limit: this.pageSize } : {}),
        }),
      );
    } catch (error) {
      throw new StorageError(`reading aggregate metrics failed: ${(error as Error)?.name ?? 'unknown error'}`, { cause: error });
    }
  }
}

const text = (value: unknown): string => (typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value));

function toRow(item: Record<string, unknown>): AggregateRow {
  return {
    identifier: text(item.identifier),
    date: text(item.date),
    // `pk` is the region too (upstream §3); the attribute wins when both are present.
    region: text(item.region) || text(item.pk),
    appos: text(item.appos),
    appversion: text(item.appversion),
    count: text(item.count),
    pushnotification: text(item.pushnotification),
    frameworkenabled: text(item.frameworkenabled),
    withDate: text(item.withDate),
    isUserExposed: text(item.isUserExposed),
    metricCount: typeof item.metricCount === 'number' ? item.metricCount : Number(item.metricCount ?? Number.NaN),
  };
}
