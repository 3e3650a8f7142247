/**
 * DynamoDB implementation of RawMetricsStore (raw_metrics table, hash key `id`, TTL `expiresAt`,
 * stream NEW_IMAGE). Item: `{ id: <uuid>, raw: <JSON text>, expiresAt: <epoch s> }`.
 *
 * One chunk is one conditional PutItem (1 WCU for up to 1 KB); several chunks are one
 * TransactWriteItems, so a split body is stored whole or not at all (no partial counting, unlike
 * upstream's sequential puts). Every failure becomes StorageError.
 */
import { PutCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StorageError } from '../domain/settings';
import type { RawMetricsItem, RawMetricsStore } from '../ports';

/** DynamoDB TransactWriteItems limit. */
const MAX_TRANSACTION_ITEMS = 100;

export class DynamoRawMetricsStore implements RawMetricsStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async putAll(items: readonly RawMetricsItem[]): Promise<void> {
    if (items.length === 0) return;
    if (items.length > MAX_TRANSACTION_ITEMS) throw new StorageError(`putAll: ${items.length} items exceed one transaction`);
    const put = (item: RawMetricsItem) => ({
      TableName: this.table,
      Item: { id: item.id, raw: item.raw, expiresAt: item.expiresAt },
      // A v4 UUID never collides in practice; if it did, never overwrite a stored body.
      ConditionExpression: 'attribute_not_exists(id)',
    });
    try {
      if (items.length === 1) await this.db.send(new PutCommand(put(items[0])));
      else await this.db.send(new TransactWriteCommand({ TransactItems: items.map((item) => ({ Put: put(item) })) }));
    } catch (error) {
      throw new StorageError(`putAll failed: ${(error as Error)?.name ?? 'unknown error'}`, { cause: error });
    }
  }
}
