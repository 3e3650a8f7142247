/**
 * aggregate-metrics: count the payload items of raw_metrics stream records into aggregate
 * counters, exactly once (spec/METRICS.md rules 1–2). Pure apart from the ports it is given.
 *
 * Exactly once, in short:
 *  - Every payload item has an identity (aggregate-key.itemIdentity: device fields, identifier,
 *    timestamp, fields; not metricstimestamp). Counting an item means writing its ledger entry
 *    `attribute_not_exists(id) OR expiresAt < now` (48 h TTL) in the SAME transaction as the
 *    `ADD metricCount :n` of its aggregate, where n is exactly the number of ledger entries of
 *    that aggregate in the transaction. So a counter never moves without its ledger entries, and
 *    a ledger entry never exists without its increment.
 *  - A record needing more than 100 actions is cut into several transactions, each of them
 *    self-contained (ledger entries + the increments they account for, one action per item
 *    key). No transaction depends on another, so a record that failed after k of its m
 *    transactions is simply retried: the ledger entries of the k committed ones are live, their
 *    transactions are cancelled with ConditionalCheckFailed on exactly those entries, and they
 *    are retried without them (counting nothing twice); the rest count normally.
 *  - The same mechanism makes re-delivered batches, re-sent envelopes (new metricstimestamp,
 *    same items) and identical items within one record count once.
 * A ledger entry lives 48 h, longer than the stream's 24 h retention, so no re-delivery can
 * outlive it; after 48 h an identical item counts again (spec rule 2's window).
 */
import type { AggregateIncrement, AggregateStore, ClientErrorEvents, Clock } from '../../ports';
import { buildAggregate, itemIdentity } from './aggregate-key';
import { isCountableTimestamp } from './bucketing';
import { StorageError } from '../settings';
import { parseEnvelope, type MetricsEnvelope } from './envelope';

export const LEDGER_TTL_SECONDS = 48 * 3600;
/** DynamoDB TransactWriteItems limit. */
export const MAX_TRANSACTION_ACTIONS = 100;
/** The debug event of the Android app; never counted (upstream). */
export const DEBUG_IDENTIFIER = 'ExposureNotificationCheck';

/** Identifiers that are counted: reference §1.4, native metrics and retired ones still in use. */
export const KNOWN_IDENTIFIERS: ReadonlySet<string> = new Set([
  'installed',
  'onboarded',
  'exposed',
  'otk-entered-v2',
  'en-toggle',
  'exposed-clear',
  'background-check',
  'background-process',
  'qr-code-successfully-scanned',
  'error-400-keys-bad-cert',
  'error-400-keys-download',
  'error-500-qr-url',
  'error-500-qr-parse',
  // native (Android / iOS)
  'active-user',
  'scheduled-check-started-today',
  'scheduled-check-successful-today',
  // retired, still sent by old app versions
  'otk-no-date',
  'otk-with-date',
  'otk-entered',
  'exposed-outbreak',
]);

export const isErrorIdentifier = (identifier: string): boolean => identifier.toLowerCase().startsWith('error');

export interface RecordPlan {
  /** One increment per distinct aggregate key, with the distinct identities of its items. */
  readonly increments: readonly AggregateIncrement[];
  readonly items: number;
  readonly skipped: { readonly debug: number; readonly unknown: number; readonly badTimestamp: number; readonly repeated: number };
}

/** Pre-aggregates the payload of one envelope (pure). */
export function planRecord(envelope: MetricsEnvelope): RecordPlan {
  const increments = new Map<string, { key: AggregateIncrement['key']; attributes: AggregateIncrement['attributes']; itemIds: string[] }>();
  const seen = new Set<string>();
  const skipped = { debug: 0, unknown: 0, badTimestamp: 0, repeated: 0 };
  for (const item of envelope.payload) {
    if (item.identifier === DEBUG_IDENTIFIER) {
      skipped.debug += 1;
      continue;
    }
    if (!KNOWN_IDENTIFIERS.has(item.identifier)) {
      skipped.unknown += 1;
      continue;
    }
    if (!isCountableTimestamp(item.timestamp)) {
      skipped.badTimestamp += 1;
      continue;
    }
    const id = itemIdentity(envelope, item);
    if (seen.has(id)) {
      skipped.repeated += 1;
      continue;
    }
    seen.add(id);
    const { key, attributes } = buildAggregate(envelope, item);
    const name = `${key.pk}\u0000${key.sk}`;
    const existing = increments.get(name);
    if (existing) existing.itemIds.push(id);
    else increments.set(name, { key, attributes, itemIds: [id] });
  }
  return { increments: [...increments.values()], items: envelope.payload.length, skipped };
}

/**
 * Cuts increments into transactions of at most `maxActions` actions (one per item id plus one
 * per increment), never two actions on one aggregate item in a transaction (DynamoDB refuses
 * that). An increment with more items than fit is split into pieces that go to different
 * transactions. Deterministic first fit.
 */
export function planTransactions(increments: readonly AggregateIncrement[], maxActions = MAX_TRANSACTION_ACTIONS): AggregateIncrement[][] {
  const perPiece = maxActions - 1;
  const transactions: { actions: number; keys: Set<string>; increments: AggregateIncrement[] }[] = [];
  for (const increment of increments) {
    const name = `${increment.key.pk}\u0000${increment.key.sk}`;
    for (let start = 0; start < increment.itemIds.length; start += perPiece) {
      const piece = { ...increment, itemIds: increment.itemIds.slice(start, start + perPiece) };
      const size = piece.itemIds.length + 1;
      let target = transactions.find((t) => t.actions + size <= maxActions && !t.keys.has(name));
      if (!target) {
        target = { actions: 0, keys: new Set(), increments: [] };
        transactions.push(target);
      }
      target.actions += size;
      target.keys.add(name);
      target.increments.push(piece);
    }
  }
  return transactions.map((t) => t.increments);
}

/** One raw_metrics stream record, as the handler decodes it. */
export interface RawStreamRecord {
  readonly sequenceNumber: string;
  /** INSERT, MODIFY, REMOVE, or DynamoDB Local's "UNKNOWN_TO_SDK_VERSION" for TTL deletions. */
  readonly eventName: string;
  /** raw_metrics `id` (for logs; never the content). */
  readonly rawId?: string;
  /** raw_metrics `raw` of the new image. */
  readonly raw?: string;
}

export type RecordOutcome =
  | { readonly kind: 'ignored' }
  | { readonly kind: 'counted'; readonly counted: number; readonly alreadyCounted: number; readonly skipped: number }
  /** Unparsable or invalid raw text: can never succeed. */
  | { readonly kind: 'poison'; readonly reason: string }
  /** Storage failed or kept conflicting; nothing of the failed transaction was written. */
  | { readonly kind: 'failed'; readonly reason: string; readonly error?: unknown; readonly counted: number; readonly alreadyCounted: number };

export interface AggregateDeps {
  readonly aggregates: AggregateStore;
  readonly clock: Clock;
  readonly errors?: ClientErrorEvents;
}

/** Counts one stream record exactly once; never throws for storage failures (outcome 'failed'). */
export async function countRecord(deps: AggregateDeps, record: RawStreamRecord): Promise<RecordOutcome> {
  if (record.eventName !== 'INSERT') return { kind: 'ignored' };
  if (typeof record.raw !== 'string') return { kind: 'poison', reason: 'no raw text in the new image' };
  const parsed = parseEnvelope(record.raw);
  if (!parsed.ok) return { kind: 'poison', reason: parsed.reason };
  const plan = planRecord(parsed.envelope);
  const skipped = plan.skipped.debug + plan.skipped.unknown + plan.skipped.badTimestamp + plan.skipped.repeated;
  const nowMs = deps.clock.nowMs();
  const ledgerExpiresAt = Math.floor(nowMs / 1000) + LEDGER_TTL_SECONDS;
  let counted = 0;
  let alreadyCounted = 0;
  for (const transaction of planTransactions(plan.increments)) {
    let pending: readonly AggregateIncrement[] = transaction;
    while (pending.length > 0) {
      let outcome;
      try {
        outcome = await deps.aggregates.countOnce(pending, ledgerExpiresAt, nowMs);
      } catch (error) {
        // Nothing of this transaction was written: the record is reported and retried.
        return { kind: 'failed', reason: error instanceof StorageError ? 'storage' : 'error', error, counted, alreadyCounted };
      }
      if (outcome.kind === 'contention') return { kind: 'failed', reason: 'contention', counted, alreadyCounted };
      if (outcome.kind === 'counted') {
        counted += pending.reduce((sum, inc) => sum + inc.itemIds.length, 0);
        recordErrors(deps.errors, pending);
        break;
      }
      const done = new Set(outcome.itemIds);
      const remaining = pending.map((inc) => ({ ...inc, itemIds: inc.itemIds.filter((id) => !done.has(id)) }));
      const removed = pending.reduce((sum, inc) => sum + inc.itemIds.length, 0) - remaining.reduce((sum, inc) => sum + inc.itemIds.length, 0);
      // The store must name at least one pending item; anything else would loop for ever.
      if (removed === 0) return { kind: 'failed', reason: 'already-counted outcome named no pending item', counted, alreadyCounted };
      alreadyCounted += removed;
      pending = remaining.filter((inc) => inc.itemIds.length > 0);
    }
  }
  return { kind: 'counted', counted, alreadyCounted, skipped };
}

function recordErrors(errors: ClientErrorEvents | undefined, increments: readonly AggregateIncrement[]): void {
  if (!errors) return;
  for (const inc of increments) {
    if (isErrorIdentifier(inc.attributes.identifier)) errors.record(inc.attributes.identifier, inc.itemIds.length);
  }
}

export interface BatchSummary {
  readonly records: number;
  readonly ignored: number;
  readonly counted: number;
  readonly alreadyCounted: number;
  readonly skipped: number;
  readonly poison: number;
  readonly failed: number;
}

export interface BatchResult {
  /** Sequence numbers of the records to retry (partial batch failure), in delivery order. */
  readonly failedSequenceNumbers: readonly string[];
  /** Outcome per record, in delivery order (for logs). */
  readonly outcomes: readonly { readonly record: RawStreamRecord; readonly outcome: RecordOutcome }[];
  readonly summary: BatchSummary;
}

/**
 * Counts a stream batch record by record (sequentially: records of one shard often hit the same
 * counters, and concurrent transactions on one item would conflict). A record that fails does
 * not stop the others; it is reported and retried by the event source mapping, and everything
 * after it is re-delivered too – harmless, since what was counted is skipped.
 */
export async function aggregateBatch(deps: AggregateDeps, records: readonly RawStreamRecord[]): Promise<BatchResult> {
  const outcomes: { record: RawStreamRecord; outcome: RecordOutcome }[] = [];
  const summary = { records: records.length, ignored: 0, counted: 0, alreadyCounted: 0, skipped: 0, poison: 0, failed: 0 };
  for (const record of records) {
    const outcome = await countRecord(deps, record);
    outcomes.push({ record, outcome });
    switch (outcome.kind) {
      case 'ignored':
        summary.ignored += 1;
        break;
      case 'counted':
        summary.counted += outcome.counted;
        summary.alreadyCounted += outcome.alreadyCounted;
        summary.skipped += outcome.skipped;
        break;
      case 'poison':
        summary.poison += 1;
        break;
      case 'failed':
        summary.failed += 1;
        summary.counted += outcome.counted;
        summary.alreadyCounted += outcome.alreadyCounted;
        break;
    }
  }
  const failedSequenceNumbers = outcomes
    .filter(({ outcome }) => outcome.kind === 'poison' || outcome.kind === 'failed')
    .map(({ record }) => record.sequenceNumber);
  return { failedSequenceNumbers, outcomes, summary };
}
