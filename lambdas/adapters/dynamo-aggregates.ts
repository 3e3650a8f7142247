/**
 * DynamoDB implementation of AggregateStore: aggregate_metrics (pk, sk; GSI IdentifierIndex on
 * identifier + date) and metrics_ledger (id; TTL expiresAt).
 *
 * Items written, in ONE TransactWriteItems per call:
 *   ledger     Put { id: 'item#<sha256 hex>', expiresAt }   (epoch s, now + 48 h)
 *              ConditionExpression attribute_not_exists(id) OR expiresAt < :now
 *              – an expired entry that TTL has not deleted yet counts as absent.
 *   aggregate  Update { pk, sk } ADD metricCount :n SET identifier, #date, region, appos,
 *              osversion, appversion, manufacturer, model, androidreleaseversion,
 *              pushnotification, frameworkenabled, state, status,
 *              hoursSinceExposureDetectedAt, count, duration, withDate, isUserExposed, version
 *              – n = the number of ledger entries of that key in the same transaction.
 *
 * Cancellation reasons become outcomes: ConditionalCheckFailed on ledger entries → those items
 * were counted already; TransactionConflict (a concurrent transaction on the same items) is
 * retried here a few times with a short back-off, then reported as contention. Anything else
 * (throttling, validation, network) is a StorageError: the caller reports the record for retry.
 */
import { TransactionCanceledException, TransactionInProgressException } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StorageError } from '../domain/settings';
import type { AggregateAttributes, AggregateIncrement, AggregateStore, CountOutcome } from '../ports';

export interface AggregateTables {
  readonly aggregateMetrics: string;
  readonly metricsLedger: string;
}

export const ledgerId = (itemId: string): string => `item#${itemId}`;

const ATTRIBUTE_NAMES: readonly (keyof AggregateAttributes)[] = [
  'identifier',
  'date',
  'region',
  'appos',
  'osversion',
  'appversion',
  'manufacturer',
  'model',
  'androidreleaseversion',
  'pushnotification',
  'frameworkenabled',
  'state',
  'status',
  'hoursSinceExposureDetectedAt',
  'count',
  'duration',
  'withDate',
  'isUserExposed',
  'version',
];

/** ADD metricCount + SET of every attribute (all names aliased: several are reserved words). */
export const AGGREGATE_UPDATE_EXPRESSION =
  'ADD metricCount :n SET ' + ATTRIBUTE_NAMES.map((_name, i) => `#a${i} = :a${i}`).join(', ');
const ATTRIBUTE_ALIASES = Object.fromEntries(ATTRIBUTE_NAMES.map((name, i) => [`#a${i}`, name]));

type TransactItem = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

export interface AggregateStoreOptions {
  /** Attempts on TransactionConflict before answering contention (default 4). */
  readonly conflictAttempts?: number;
  /** Back-off before the n-th retry (default 20–60 ms × n). */
  readonly backoffMs?: (retry: number) => number;
}

export class DynamoAggregateStore implements AggregateStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: AggregateTables,
    private readonly options: AggregateStoreOptions = {},
  ) {}

  async countOnce(increments: readonly AggregateIncrement[], ledgerExpiresAt: number, nowMs: number): Promise<CountOutcome> {
    const { actions, ledgerItemAt } = this.actions(increments, ledgerExpiresAt, Math.floor(nowMs / 1000));
    const attempts = this.options.conflictAttempts ?? 4;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: actions }));
        return { kind: 'counted' };
      } catch (error) {
        const retry = this.classify(error, ledgerItemAt);
        if (retry.kind === 'already-counted') return retry;
        if (attempt >= attempts) return { kind: 'contention' };
        const backoff = this.options.backoffMs?.(attempt) ?? (20 + Math.floor(Math.random() * 40)) * attempt;
        await new Promise((resolve) => setTimeout(resolve, backoff));
      }
    }
  }

  private actions(increments: readonly AggregateIncrement[], expiresAt: number, nowSeconds: number) {
    const actions: TransactItem[] = [];
    /** Index of a transaction action → the item id of its ledger entry. */
    const ledgerItemAt = new Map<number, string>();
    for (const increment of increments) {
      for (const itemId of increment.itemIds) {
        ledgerItemAt.set(actions.length, itemId);
        actions.push({
          Put: {
            TableName: this.tables.metricsLedger,
            Item: { id: ledgerId(itemId), expiresAt },
            ConditionExpression: 'attribute_not_exists(id) OR expiresAt < :now',
            ExpressionAttributeValues: { ':now': nowSeconds },
          },
        });
      }
      actions.push({
        Update: {
          TableName: this.tables.aggregateMetrics,
          Key: { pk: increment.key.pk, sk: increment.key.sk },
          UpdateExpression: AGGREGATE_UPDATE_EXPRESSION,
          ExpressionAttributeNames: ATTRIBUTE_ALIASES,
          ExpressionAttributeValues: {
            ':n': increment.itemIds.length,
            ...Object.fromEntries(ATTRIBUTE_NAMES.map((name, i) => [`:a${i}`, increment.attributes[name]])),
          },
        },
      });
    }
    return { actions, ledgerItemAt };
  }

  /** already-counted, or 'retry' for a conflict; throws StorageError for everything else. */
  private classify(error: unknown, ledgerItemAt: ReadonlyMap<number, string>): Extract<CountOutcome, { kind: 'already-counted' }> | { kind: 'retry' } {
    if (error instanceof TransactionInProgressException) return { kind: 'retry' };
    if (error instanceof TransactionCanceledException) {
      const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
      const counted = codes.flatMap((code, index) => (code === 'ConditionalCheckFailed' && ledgerItemAt.has(index) ? [ledgerItemAt.get(index) as string] : []));
      if (counted.length > 0) return { kind: 'already-counted', itemIds: counted };
      if (codes.includes('TransactionConflict')) return { kind: 'retry' };
      const reasons = [...new Set(codes.filter((code) => code !== 'None'))].join(',') || 'unknown';
      throw new StorageError(`countOnce cancelled: ${reasons}`, { cause: error });
    }
    throw new StorageError(`countOnce failed: ${(error as Error)?.name ?? 'unknown error'}`, { cause: error });
  }
}
