/**
 * Reads diagnosis keys for export from the diagnosis keys table through its GSI `byRegionDay`
 * (partition `regionDay` = `${region}#${UTC day}`, sort `submissionHour`). An hour range is read
 * as one Query per UTC day it touches, ranged with `submissionHour BETWEEN`, page by page, so a
 * caller never holds more than the pages it keeps. TTL deletes lazily: expired items
 * (`expiresAt` ≤ now) are filtered out on read, by the Query and again here.
 */
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TABLES } from '../../lib/definitions';
import { StorageError } from '../domain/settings';
import type { ExportKeyReader, StoredKey } from '../ports';

const INDEX = TABLES.diagnosisKeys.indexes[0];
const ATTRIBUTES = [
  'keyData',
  'rollingStartIntervalNumber',
  'rollingPeriod',
  'transmissionRiskLevel',
  'reportType',
  'daysSinceOnsetOfSymptoms',
  'expiresAt',
];

export const regionDay = (region: string, day: number): string => `${region}#${day}`;

export class DynamoExportReader implements ExportKeyReader {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Items per Query page (undefined: DynamoDB's 1 MB pages). */
    private readonly pageSize?: number,
  ) {}

  async *keysSubmitted(region: string, startHour: number, endHour: number, nowMs: number): AsyncIterable<readonly StoredKey[]> {
    const now = Math.floor(nowMs / 1000);
    for (let day = Math.floor(startHour / 24); day * 24 < endHour; day += 1) {
      const first = Math.max(startHour, day * 24);
      const last = Math.min(endHour, day * 24 + 24) - 1;
      let exclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await this.query(regionDay(region, day), first, last, now, exclusiveStartKey);
        const keys = (page.Items ?? []).filter((item) => Number(item.expiresAt) > now).map(toStoredKey);
        if (keys.length > 0) yield keys;
        exclusiveStartKey = page.LastEvaluatedKey;
      } while (exclusiveStartKey);
    }
  }

  private async query(partition: string, first: number, last: number, now: number, exclusiveStartKey?: Record<string, unknown>) {
    try {
      return await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: INDEX.indexName,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :first AND :last',
          FilterExpression: 'expiresAt > :now',
          ProjectionExpression: ATTRIBUTES.join(', '),
          ExpressionAttributeNames: { '#pk': INDEX.partitionKey.name, '#sk': INDEX.sortKey!.name },
          ExpressionAttributeValues: { ':pk': partition, ':first': first, ':last': last, ':now': now },
          ...(exclusiveStartKey ? { ExclusiveStartKey: exclusiveStartKey } : {}),
          ...(this.pageSize ? { Limit: this.pageSize } : {}),
        }),
      );
    } catch (error) {
      throw new StorageError(`reading keys for export failed: ${(error as Error)?.name ?? 'unknown error'}`, { cause: error });
    }
  }
}

function toStoredKey(item: Record<string, unknown>): StoredKey {
  return {
    keyData: item.keyData instanceof Uint8Array ? item.keyData : new Uint8Array(0),
    rollingStartIntervalNumber: Number(item.rollingStartIntervalNumber),
    rollingPeriod: Number(item.rollingPeriod),
    transmissionRiskLevel: Number(item.transmissionRiskLevel),
    ...(typeof item.reportType === 'number' ? { reportType: item.reportType } : {}),
    ...(typeof item.daysSinceOnsetOfSymptoms === 'number' ? { daysSinceOnsetOfSymptoms: item.daysSinceOnsetOfSymptoms } : {}),
  };
}
