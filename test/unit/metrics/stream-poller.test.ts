/**
 * The local event source mapping (local/stream-poller.ts) against a mocked DynamoDB Streams
 * client: Lambda-shaped records, partial batch failures, bisect on error, bounded retries with a
 * failure destination, checkpoints, LATEST start, expired iterators and shard lineage.
 */
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListStreamsCommand,
  type _Record,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createStreamPoller, firstFailedIndex, type StreamFailure } from '../../../local/stream-poller';

const streams = mockClient(DynamoDBStreamsClient);
const client = new DynamoDBStreamsClient({ region: 'ca-central-1', endpoint: 'http://127.0.0.1:1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const ARN = 'arn:aws:dynamodb:ddblocal:000000000000:table/rawMetrics/stream/2026-01-01T00:00:00.000';
const meta = { $metadata: {} };

const seq = (n: number) => String(n).padStart(21, '0');
function sdkRecord(n: number, eventName: 'INSERT' | 'REMOVE' = 'INSERT'): _Record {
  return {
    eventID: `e-${n}`,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'ddblocal',
    dynamodb: {
      ApproximateCreationDateTime: new Date(Date.UTC(2022, 3, 15, 0, 0, n)),
      Keys: { id: { S: `id-${n}` } },
      NewImage: { id: { S: `id-${n}` }, raw: { S: `{"n":${n}}` }, expiresAt: { N: '1650000000' }, blob: { B: new Uint8Array([1, 2, 3]) } },
      SequenceNumber: seq(n),
      SizeBytes: 40,
      StreamViewType: 'NEW_IMAGE',
    },
  };
}

/** One open shard holding records `ns`, read in one page, then at its end. */
function oneOpenShard(ns: number[]) {
  streams.on(ListStreamsCommand).resolves({ Streams: [{ StreamArn: ARN, TableName: 'rawMetrics' }] });
  streams.on(DescribeStreamCommand).resolves({ StreamDescription: { StreamArn: ARN, Shards: [{ ShardId: 'shard-1', SequenceNumberRange: { StartingSequenceNumber: seq(1) } }] } });
  streams.on(GetShardIteratorCommand).resolves({ ShardIterator: 'it-1' });
  streams.on(GetRecordsCommand, { ShardIterator: 'it-1' }).resolves({ Records: ns.map((n) => sdkRecord(n)), NextShardIterator: 'it-2' });
  streams.on(GetRecordsCommand, { ShardIterator: 'it-2' }).resolves({ Records: [], NextShardIterator: 'it-2' });
}

/** A handler that records what it was given and answers with `respond`. */
function recordingHandler(respond: (sequenceNumbers: string[]) => DynamoDBBatchResponse | Promise<DynamoDBBatchResponse>) {
  const calls: number[][] = [];
  const handler = async (event: DynamoDBStreamEvent) => {
    const sequenceNumbers = event.Records.map((r) => r.dynamodb?.SequenceNumber ?? '');
    calls.push(sequenceNumbers.map(Number));
    return respond(sequenceNumbers);
  };
  return { calls, handler };
}
const ok = (): DynamoDBBatchResponse => ({ batchItemFailures: [] });

beforeEach(() => streams.reset());

describe('createStreamPoller', () => {
  test('delivers records exactly as Lambda does (epoch-second dates, eventSourceARN, base64 binary)', async () => {
    // Prepare
    oneOpenShard([1]);
    const events: DynamoDBStreamEvent[] = [];
    const poller = createStreamPoller({ streamsClient: client, tableName: 'rawMetrics', handler: async (e) => (events.push(e), ok()) });

    // Act
    const result = await poller.drain();

    // Assess
    expect(result).toEqual({ records: 1, batches: 1, failures: 0 });
    expect(events[0].Records[0]).toEqual({
      eventID: 'e-1',
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'ddblocal',
      eventSourceARN: ARN,
      dynamodb: {
        ApproximateCreationDateTime: Date.UTC(2022, 3, 15, 0, 0, 1) / 1000,
        Keys: { id: { S: 'id-1' } },
        NewImage: { id: { S: 'id-1' }, raw: { S: '{"n":1}' }, expiresAt: { N: '1650000000' }, blob: { B: 'AQID' } },
        SequenceNumber: seq(1),
        SizeBytes: 40,
        StreamViewType: 'NEW_IMAGE',
      },
    });
    expect(streams.commandCalls(GetShardIteratorCommand)[0].args[0].input).toMatchObject({ ShardId: 'shard-1', ShardIteratorType: 'TRIM_HORIZON' });
  });

  test('batches of at most batchSize records', async () => {
    // Prepare
    oneOpenShard([1, 2, 3]);
    const { calls, handler } = recordingHandler(ok);
    const poller = createStreamPoller({ streamsClient: client, tableName: 'rawMetrics', handler, batchSize: 2 });

    // Act
    await poller.drain();

    // Assess
    expect(streams.commandCalls(GetRecordsCommand)[0].args[0].input.Limit).toBe(2);
    expect(calls).toEqual([[1, 2], [3]]);
  });

  test('a reported failure: retried from the first failed record (checkpoint before it)', async () => {
    // Prepare
    oneOpenShard([1, 2, 3]);
    let failedOnce = false;
    const { calls, handler } = recordingHandler((s) => {
      if (!failedOnce && s.includes(seq(2))) {
        failedOnce = true;
        return { batchItemFailures: [{ itemIdentifier: seq(3) }, { itemIdentifier: seq(2) }] };
      }
      return ok();
    });
    const poller = createStreamPoller({ streamsClient: client, tableName: 'rawMetrics', handler });

    // Act
    const result = await poller.drain();

    // Assess
    expect(calls).toEqual([[1, 2, 3], [2, 3]]);
    expect(result).toEqual({ records: 3, batches: 2, failures: 0 });
  });

  test('a record that keeps failing goes to onFailure after 1 + maxRetries attempts; the rest goes on', async () => {
    // Prepare
    oneOpenShard([1, 2, 3]);
    const failures: StreamFailure[] = [];
    const { calls, handler } = recordingHandler((s) => (s.includes(seq(2)) ? { batchItemFailures: [{ itemIdentifier: seq(2) }] } : ok()));
    const poller = createStreamPoller({ streamsClient: client, tableName: 'rawMetrics', handler, maxRetries: 3, onFailure: (f) => void failures.push(f) });

    // Act
    const result = await poller.drain();

    // Assess
    expect(calls).toEqual([[1, 2, 3], [2, 3], [2, 3], [2, 3], [3]]);
    expect(failures.map((f) => [f.sequenceNumber, f.reason, f.attempts, f.eventID])).toEqual([[seq(2), 'reported', 4, 'e-2']]);
    expect(result).toEqual({ records: 3, batches: 5, failures: 1 });
  });

  test('a thrown error bisects the batch; the poison record alone ends in onFailure', async () => {
    // Prepare
    oneOpenShard([1, 2, 3, 4]);
    const failures: StreamFailure[] = [];
    const { calls, handler } = recordingHandler((s) => {
      if (s.includes(seq(2))) throw new Error('handler crashed');
      return ok();
    });
    const poller = createStreamPoller({ streamsClient: client, tableName: 'rawMetrics', handler, maxRetries: 2, onFailure: (f) => void failures.push(f) });

    // Act
    const result = await poller.drain();

    // Assess
    expect(calls).toEqual([[1, 2, 3, 4], [1, 2], [1], [2], [2], [2], [3, 4]]);
    expect(failures.map((f) => [f.sequenceNumber, f.reason, f.attempts])).toEqual([[seq(2), 'function-error', 3]]);
    expect(result).toEqual({ records: 4, batches: 7, failures: 1 });
  });

  test('an identifier that names no record of the batch fails the whole batch (Lambda rule)', () => {
    // Prepare
    const records = [1, 2, 3].map((n) => ({ dynamodb: { SequenceNumber: seq(n) } }));

    // Act / Assess
    expect(firstFailedIndex(records, { batchItemFailures: [] })).toBe(-1);
    expect(firstFailedIndex(records, undefined)).toBe(-1);
    expect(firstFailedIndex(records, { batchItemFailures: [{ itemIdentifier: seq(3) }] })).toBe(2);
    expect(firstFailedIndex(records, { batchItemFailures: [{ itemIdentifier: 'nope' }] })).toBe(0);
    expect(firstFailedIndex(records, { batchItemFailures: [{ itemIdentifier: '' }] })).toBe(0);
  });

  test('a second drain goes on after the checkpoint: nothing delivered twice', async () => {
    // Prepare
    oneOpenShard([1, 2]);
    let written = false;
    streams.on(GetRecordsCommand, { ShardIterator: 'it-2' }).callsFake(() => (written ? { Records: [sdkRecord(3)], NextShardIterator: 'it-4' } : { Records: [], NextShardIterator: 'it-2' }));
    streams.on(GetRecordsCommand, { ShardIterator: 'it-4' }).resolves({ Records: [], NextShardIterator: 'it-4' });
    const { calls, handler } = recordingHandler(ok);
    const poller = createStreamPoller({ streamsClient: client, tableName: 'rawMetrics', handler });

    // Act
    const first = await poller.drain();
    written = true;
    const second = await poller.drain();
    const third = await poller.drain();

    // Assess
    expect(calls).toEqual([[1, 2], [3]]);
    expect([first.records, second.records, third.records]).toEqual([2, 1, 0]);
    expect(streams.commandCalls(GetShardIteratorCommand)).toHaveLength(1);
  });

  test('an expired iterator is renewed AFTER_SEQUENCE_NUMBER the checkpoint', async () => {
    // Prepare
    oneOpenShard([1]);
    streams.on(GetRecordsCommand, { ShardIterator: 'it-2' }).resolvesOnce({ Records: [], NextShardIterator: 'it-2' }).resolvesOnce({ Records: [], NextShardIterator: 'it-2' }).rejects(new ExpiredIteratorException({ message: 'expired', ...meta }));
    streams.on(GetShardIteratorCommand, { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' }).resolves({ ShardIterator: 'it-after' });
    streams.on(GetRecordsCommand, { ShardIterator: 'it-after' }).resolves({ Records: [sdkRecord(2)], NextShardIterator: 'it-end' });
    streams.on(GetRecordsCommand, { ShardIterator: 'it-end' }).resolves({ Records: [], NextShardIterator: 'it-end' });
    const { calls, handler } = recordingHandler(ok);
    const poller = createStreamPoller({ streamsClient: client, tableName: 'rawMetrics', handler });
    await poller.drain();

    // Act
    await poller.drain();

    // Assess
    expect(calls).toEqual([[1], [2]]);
    expect(streams.commandCalls(GetShardIteratorCommand)[1].args[0].input).toMatchObject({ ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(1) });
  });

  test('shard lineage: a closed parent is read to its end before its child', async () => {
    // Prepare
    streams.on(ListStreamsCommand).resolves({ Streams: [{ StreamArn: ARN, TableName: 'rawMetrics' }] });
    streams.on(DescribeStreamCommand).resolves({
      StreamDescription: {
        StreamArn: ARN,
        Shards: [
          { ShardId: 'child', ParentShardId: 'parent', SequenceNumberRange: { StartingSequenceNumber: seq(3) } },
          { ShardId: 'parent', SequenceNumberRange: { StartingSequenceNumber: seq(1), EndingSequenceNumber: seq(2) } },
        ],
      },
    });
    streams.on(GetShardIteratorCommand, { ShardId: 'parent' }).resolves({ ShardIterator: 'p-1' });
    streams.on(GetShardIteratorCommand, { ShardId: 'child' }).resolves({ ShardIterator: 'c-1' });
    streams.on(GetRecordsCommand, { ShardIterator: 'p-1' }).resolves({ Records: [sdkRecord(1)], NextShardIterator: 'p-2' });
    streams.on(GetRecordsCommand, { ShardIterator: 'p-2' }).resolves({ Records: [], NextShardIterator: 'p-3' });
    streams.on(GetRecordsCommand, { ShardIterator: 'p-3' }).resolves({ Records: [sdkRecord(2)] });
    streams.on(GetRecordsCommand, { ShardIterator: 'c-1' }).resolves({ Records: [sdkRecord(3)], NextShardIterator: 'c-2' });
    streams.on(GetRecordsCommand, { ShardIterator: 'c-2' }).resolves({ Records: [], NextShardIterator: 'c-2' });
    const { calls, handler } = recordingHandler(ok);
    const poller = createStreamPoller({ streamsClient: client, tableName: 'rawMetrics', handler });

    // Act
    const result = await poller.drain();

    // Assess
    expect(calls).toEqual([[1], [2], [3]]);
    expect(result).toEqual({ records: 3, batches: 3, failures: 0 });
    expect(streams.commandCalls(GetShardIteratorCommand).map((c) => [c.args[0].input.ShardId, c.args[0].input.ShardIteratorType])).toEqual([
      ['parent', 'TRIM_HORIZON'],
      ['child', 'TRIM_HORIZON'],
    ]);
  });

  test("startingPosition LATEST: shards closed at the first poll are skipped, open ones start at LATEST", async () => {
    // Prepare
    streams.on(ListStreamsCommand).resolves({ Streams: [{ StreamArn: ARN, TableName: 'rawMetrics' }] });
    streams.on(DescribeStreamCommand).resolves({
      StreamDescription: {
        StreamArn: ARN,
        Shards: [
          { ShardId: 'old', SequenceNumberRange: { StartingSequenceNumber: seq(1), EndingSequenceNumber: seq(2) } },
          { ShardId: 'open', ParentShardId: 'old', SequenceNumberRange: { StartingSequenceNumber: seq(3) } },
        ],
      },
    });
    streams.on(GetShardIteratorCommand).resolves({ ShardIterator: 'o-1' });
    streams.on(GetRecordsCommand, { ShardIterator: 'o-1' }).resolves({ Records: [], NextShardIterator: 'o-1' });
    const { calls, handler } = recordingHandler(ok);
    const poller = createStreamPoller({ streamsClient: client, tableName: 'rawMetrics', handler, startingPosition: 'LATEST' });

    // Act
    const result = await poller.drain();

    // Assess
    expect(result).toEqual({ records: 0, batches: 0, failures: 0 });
    expect(calls).toEqual([]);
    expect(streams.commandCalls(GetShardIteratorCommand).map((c) => [c.args[0].input.ShardId, c.args[0].input.ShardIteratorType])).toEqual([['open', 'LATEST']]);
  });

  test('drains never overlap, and stop() waits for the one in progress', async () => {
    // Prepare
    oneOpenShard([1]);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { calls, handler } = recordingHandler(async () => (await gate, ok()));
    const poller = createStreamPoller({ streamsClient: client, tableName: 'rawMetrics', handler });

    // Act
    const first = poller.drain();
    const second = poller.drain();
    const stopped = poller.stop();
    release();
    const results = await Promise.all([first, second, stopped]);

    // Assess
    expect(results.slice(0, 2)).toEqual([
      { records: 1, batches: 1, failures: 0 },
      { records: 0, batches: 0, failures: 0 },
    ]);
    expect(calls).toEqual([[1]]);
  });
});
