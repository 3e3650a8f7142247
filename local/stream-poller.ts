/**
 * The local stand-in for Lambda's DynamoDB event source mapping: reads a table's stream from
 * DynamoDB Local (ListStreams → DescribeStream → GetShardIterator → GetRecords), builds real
 * `DynamoDBStreamEvent`s and invokes a handler with them, emulating the mapping's behaviour:
 *
 *  - batches of up to `batchSize` records of one shard, in sequence order;
 *  - ReportBatchItemFailures: on a partial failure the checkpoint moves to just before the first
 *    failed record and the rest of the batch is retried from there (an identifier that names no
 *    record of the batch fails the whole batch, as in Lambda);
 *  - BisectBatchOnFunctionError: when the handler throws, the batch is split in two halves and
 *    each is retried on its own;
 *  - MaximumRetryAttempts (`maxRetries`, default 3): a record that has failed 1 + maxRetries
 *    times is handed to `onFailure` (the on-failure destination; locally: a log line), the
 *    checkpoint moves past it and polling goes on;
 *  - shards: each shard is read from TRIM_HORIZON the first time (or from LATEST for shards open
 *    at the first poll with `startingPosition: 'LATEST'`), then after its checkpoint (kept in
 *    memory: the iterator, renewed AFTER_SEQUENCE_NUMBER if it expires). Closed shards are read
 *    to their end; children (DynamoDB Local rotates shards) are read once their parent is done.
 *
 * `drain()` polls until nothing is pending and resolves with what it did; `start(ms)` drains in
 * the background at an interval; `stop()` ends that and waits for a drain in progress. Drains
 * never overlap.
 */
import {
  DescribeStreamCommand,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListStreamsCommand,
  TrimmedDataAccessException,
  type AttributeValue as SdkAttributeValue,
  type DynamoDBStreamsClient,
  type Shard,
  type _Record as SdkRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

export type StreamHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>;

export interface StreamFailure {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly eventID?: string;
  readonly eventName?: string;
  /** Reported as a batch item failure, or the handler threw. */
  readonly reason: 'reported' | 'function-error';
  readonly attempts: number;
  /** The record as it was delivered (Keys only are safe to log; NewImage holds the payload). */
  readonly record: DynamoDBRecord;
}

export interface StreamPollerLog {
  info(message: string, detail?: Record<string, unknown>): void;
  error(message: string, detail?: Record<string, unknown>): void;
}

export interface StreamPollerOptions {
  readonly streamsClient: DynamoDBStreamsClient;
  readonly tableName: string;
  readonly handler: StreamHandler;
  /** Records per invocation (Lambda BatchSize); default 100. */
  readonly batchSize?: number;
  /** Retries after the first failed attempt (Lambda MaximumRetryAttempts); default 3. */
  readonly maxRetries?: number;
  /** BisectBatchOnFunctionError; default true. */
  readonly bisectOnError?: boolean;
  /** Where a record goes once its retries are exhausted; default: log it (Keys only). */
  readonly onFailure?: (failure: StreamFailure) => void | Promise<void>;
  /** Where shards open at the first poll start; later shards always start at TRIM_HORIZON. */
  readonly startingPosition?: 'TRIM_HORIZON' | 'LATEST';
  readonly log?: StreamPollerLog;
}

export interface DrainResult {
  /** Records delivered (each counted once, however often it was retried). */
  readonly records: number;
  /** Handler invocations. */
  readonly batches: number;
  /** Records handed to onFailure. */
  readonly failures: number;
}

export interface StreamPoller {
  drain(): Promise<DrainResult>;
  start(intervalMs: number): void;
  stop(): Promise<void>;
}

interface ShardState {
  readonly shardId: string;
  readonly parentShardId?: string;
  /** Where to read next; undefined until first read (or after expiry). */
  iterator?: string;
  /** Sequence number of the last record done with (handled or sent to onFailure). */
  checkpoint?: string;
  /** Has an ending sequence number (as of the last DescribeStream). */
  closed: boolean;
  /** Read to its end (closed shard) or skipped (closed at a LATEST first poll). */
  finished: boolean;
  /** First read position when no checkpoint exists. */
  start: 'TRIM_HORIZON' | 'LATEST';
}

const MAX_EMPTY_PAGES_OF_CLOSED_SHARD = 1000;

/** SDK attribute values → the JSON shape Lambda delivers (binary as base64). */
export function toLambdaAttribute(value: SdkAttributeValue): AttributeValue {
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  if (value.SS !== undefined) return { SS: value.SS };
  if (value.NS !== undefined) return { NS: value.NS };
  if (value.BS !== undefined) return { BS: value.BS.map((b) => Buffer.from(b).toString('base64')) };
  if (value.L !== undefined) return { L: value.L.map(toLambdaAttribute) };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) };
  throw new Error('unsupported attribute value');
}

const toLambdaImage = (image: Record<string, SdkAttributeValue>): Record<string, AttributeValue> =>
  Object.fromEntries(Object.entries(image).map(([name, value]) => [name, toLambdaAttribute(value)]));

/** One stream record as Lambda delivers it (eventSourceARN added, dates as epoch seconds). */
export function toLambdaRecord(record: SdkRecord, streamArn: string): DynamoDBRecord {
  const d = record.dynamodb ?? {};
  const created = d.ApproximateCreationDateTime;
  return {
    eventID: record.eventID,
    // DynamoDB Local names TTL deletions "UNKNOWN_TO_SDK_VERSION"; passed on as it comes.
    eventName: record.eventName as DynamoDBRecord['eventName'],
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: record.eventSource ?? 'aws:dynamodb',
    awsRegion: record.awsRegion,
    dynamodb: {
      ...(created !== undefined ? { ApproximateCreationDateTime: Math.floor(new Date(created).getTime() / 1000) } : {}),
      ...(d.Keys ? { Keys: toLambdaImage(d.Keys) } : {}),
      ...(d.NewImage ? { NewImage: toLambdaImage(d.NewImage) } : {}),
      ...(d.OldImage ? { OldImage: toLambdaImage(d.OldImage) } : {}),
      SequenceNumber: d.SequenceNumber,
      SizeBytes: d.SizeBytes,
      StreamViewType: d.StreamViewType,
    },
    eventSourceARN: streamArn,
    ...(record.userIdentity ? { userIdentity: record.userIdentity } : {}),
  };
}

export function createStreamPoller(options: StreamPollerOptions): StreamPoller {
  const client = options.streamsClient;
  const batchSize = options.batchSize ?? 100;
  const maxRetries = options.maxRetries ?? 3;
  const bisect = options.bisectOnError ?? true;
  const log = options.log;
  const onFailure =
    options.onFailure ??
    ((f: StreamFailure) =>
      log?.error('stream record sent to the failure destination', {
        table: options.tableName,
        shardId: f.shardId,
        sequenceNumber: f.sequenceNumber,
        eventID: f.eventID,
        reason: f.reason,
        attempts: f.attempts,
        keys: f.record.dynamodb?.Keys,
      }));

  const shards = new Map<string, ShardState>();
  let streamArn: string | undefined;
  let firstPoll = true;
  let running: Promise<DrainResult> | undefined;
  let timer: NodeJS.Timeout | undefined;

  async function resolveStreamArn(): Promise<string> {
    if (streamArn) return streamArn;
    const out = await client.send(new ListStreamsCommand({ TableName: options.tableName }));
    const arn = out.Streams?.find((s) => s.TableName === options.tableName)?.StreamArn ?? out.Streams?.[0]?.StreamArn;
    if (!arn) throw new Error(`table ${options.tableName} has no stream`);
    streamArn = arn;
    return arn;
  }

  async function describeShards(arn: string): Promise<Shard[]> {
    const all: Shard[] = [];
    let exclusiveStartShardId: string | undefined;
    do {
      const out = await client.send(new DescribeStreamCommand({ StreamArn: arn, ExclusiveStartShardId: exclusiveStartShardId }));
      all.push(...(out.StreamDescription?.Shards ?? []));
      exclusiveStartShardId = out.StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId);
    return all;
  }

  /** Tracks new shards; returns those ready to read (parent done or unknown), parents first. */
  function readyShards(described: Shard[]): ShardState[] {
    for (const shard of described) {
      if (!shard.ShardId) continue;
      const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
      const known = shards.get(shard.ShardId);
      if (known) {
        known.closed = closed;
        continue;
      }
      const latestAtFirstPoll = firstPoll && options.startingPosition === 'LATEST';
      shards.set(shard.ShardId, {
        shardId: shard.ShardId,
        parentShardId: shard.ParentShardId,
        closed,
        finished: latestAtFirstPoll && closed,
        start: latestAtFirstPoll ? 'LATEST' : 'TRIM_HORIZON',
      });
    }
    firstPoll = false;
    const present = new Set(described.map((s) => s.ShardId));
    return [...shards.values()].filter((s) => {
      if (s.finished || !present.has(s.shardId)) return false;
      const parent = s.parentShardId ? shards.get(s.parentShardId) : undefined;
      return !parent || parent.finished || !present.has(parent.shardId);
    });
  }

  async function iteratorFor(arn: string, shard: ShardState): Promise<string | undefined> {
    const input = shard.checkpoint
      ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' as const, SequenceNumber: shard.checkpoint }
      : { ShardIteratorType: shard.start };
    const out = await client.send(new GetShardIteratorCommand({ StreamArn: arn, ShardId: shard.shardId, ...input }));
    return out.ShardIterator;
  }

  /** Reads one shard until it has nothing more (open) or is exhausted (closed). */
  async function readShard(arn: string, shard: ShardState, totals: { records: number; batches: number; failures: number }): Promise<boolean> {
    let progressed = false;
    let emptyPages = 0;
    for (;;) {
      shard.iterator ??= await iteratorFor(arn, shard);
      if (!shard.iterator) {
        shard.finished = true;
        return true;
      }
      let page;
      try {
        page = await client.send(new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: batchSize }));
      } catch (error) {
        if (error instanceof ExpiredIteratorException) {
          shard.iterator = undefined;
          continue;
        }
        if (error instanceof TrimmedDataAccessException) {
          // The checkpoint fell out of retention: go on from the oldest record still there.
          log?.error('stream records trimmed before they were read', { table: options.tableName, shardId: shard.shardId });
          shard.checkpoint = undefined;
          shard.iterator = undefined;
          shard.start = 'TRIM_HORIZON';
          continue;
        }
        throw error;
      }
      const records = (page.Records ?? []).map((r) => toLambdaRecord(r, arn));
      if (records.length > 0) {
        progressed = true;
        emptyPages = 0;
        totals.records += records.length;
        for (let start = 0; start < records.length; start += batchSize) {
          await deliver(shard, records.slice(start, start + batchSize), totals);
        }
      }
      shard.iterator = page.NextShardIterator;
      if (!page.NextShardIterator) {
        shard.finished = true;
        return true;
      }
      if (records.length === 0) {
        // An open shard answers an empty page at its end. A closed shard may answer empty pages
        // before its end (real DynamoDB): keep reading those, within reason.
        emptyPages += 1;
        if (!shard.closed || emptyPages >= MAX_EMPTY_PAGES_OF_CLOSED_SHARD) return progressed;
      }
    }
  }

  /** Invokes the handler until every record of `records` is done (handled or failed over). */
  async function deliver(shard: ShardState, records: DynamoDBRecord[], totals: { batches: number; failures: number }): Promise<void> {
    let pending = records;
    let head: string | undefined;
    let attempts = 0;
    const done = (record: DynamoDBRecord) => {
      shard.checkpoint = record.dynamodb?.SequenceNumber ?? shard.checkpoint;
    };
    const fail = async (record: DynamoDBRecord, reason: StreamFailure['reason'], tries: number) => {
      totals.failures += 1;
      await onFailure({
        shardId: shard.shardId,
        sequenceNumber: record.dynamodb?.SequenceNumber ?? '',
        eventID: record.eventID,
        eventName: record.eventName,
        reason,
        attempts: tries,
        record,
      });
      done(record);
    };
    while (pending.length > 0) {
      const first = pending[0].dynamodb?.SequenceNumber;
      if (first !== head) {
        head = first;
        attempts = 0;
      }
      attempts += 1;
      totals.batches += 1;
      let response: DynamoDBBatchResponse | void;
      try {
        response = await options.handler({ Records: pending });
      } catch (error) {
        log?.error('stream handler failed', { table: options.tableName, shardId: shard.shardId, records: pending.length, errorName: (error as Error)?.name });
        if (bisect && pending.length > 1) {
          const half = Math.ceil(pending.length / 2);
          await deliver(shard, pending.slice(0, half), totals);
          await deliver(shard, pending.slice(half), totals);
          return;
        }
        if (attempts > maxRetries) {
          await fail(pending[0], 'function-error', attempts);
          pending = pending.slice(1);
        }
        continue;
      }
      const failed = firstFailedIndex(pending, response);
      if (failed < 0) {
        done(pending[pending.length - 1]);
        return;
      }
      if (failed > 0) {
        done(pending[failed - 1]);
        pending = pending.slice(failed);
        head = pending[0].dynamodb?.SequenceNumber;
        attempts = 1;
      }
      if (attempts > maxRetries) {
        await fail(pending[0], 'reported', attempts);
        pending = pending.slice(1);
      }
    }
  }

  async function drainOnce(): Promise<DrainResult> {
    const totals = { records: 0, batches: 0, failures: 0 };
    const arn = await resolveStreamArn();
    try {
      for (;;) {
        const ready = readyShards(await describeShards(arn));
        let progressed = false;
        for (const shard of ready) {
          if (await readShard(arn, shard, totals)) progressed = true;
        }
        if (!progressed) return totals;
      }
    } catch (error) {
      // The stream is gone (table re-created): find the new one on the next drain, from its start.
      if ((error as Error)?.name === 'ResourceNotFoundException') {
        streamArn = undefined;
        shards.clear();
      }
      throw error;
    }
  }

  const drain = (): Promise<DrainResult> => {
    const previous = running ?? Promise.resolve(undefined);
    const next = previous.catch(() => undefined).then(drainOnce);
    running = next;
    return next.finally(() => {
      if (running === next) running = undefined;
    });
  };

  return {
    drain,
    start(intervalMs: number) {
      if (timer) return;
      timer = setInterval(() => {
        if (running) return;
        drain().catch((error: unknown) =>
          log?.error('stream poll failed', { table: options.tableName, errorName: (error as Error)?.name, message: (error as Error)?.message }),
        );
      }, intervalMs);
      timer.unref?.();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
  };
}

/**
 * Index of the first record to retry, or −1 when the batch succeeded. An identifier that is not
 * the sequence number of a record in the batch makes the whole batch fail (Lambda's rule).
 */
export function firstFailedIndex(records: readonly DynamoDBRecord[], response: DynamoDBBatchResponse | void): number {
  const failures = response?.batchItemFailures ?? [];
  if (failures.length === 0) return -1;
  const positions = new Map(records.map((r, i) => [r.dynamodb?.SequenceNumber, i]));
  let first = records.length;
  for (const failure of failures) {
    const at = failure.itemIdentifier ? positions.get(failure.itemIdentifier) : undefined;
    if (at === undefined) return 0;
    first = Math.min(first, at);
  }
  return first;
}
