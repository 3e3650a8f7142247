/**
 * Test data for the metrics pipeline: envelopes and payload items as the apps send them, raw
 * stream records as Lambda delivers them, and an in-memory AggregateStore with the ledger
 * semantics of the DynamoDB one (conditional ledger entries + increments, all or nothing).
 */
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { AggregateIncrement, AggregateStore, CountOutcome } from '../../../lambdas/ports';

/** 2022-04-15T10:33:20Z (the illustrative envelope of reference §1.4 is from that day). */
export const ITEM_TS = Date.UTC(2022, 3, 15, 10, 33, 20);

export type Json = Record<string, unknown>;

export function payloadItem(identifier: string, fields: Json = {}): Json {
  return { identifier, region: 'ON', timestamp: ITEM_TS, ...fields };
}

/** The constructed example of reference §1.4: an Android envelope. */
export function envelope(payload: Json[] = [payloadItem('installed')], fields: Json = {}): Json {
  return {
    metricstimestamp: 1_650_000_000_000,
    appversion: '1.5.4',
    appos: 'android',
    osversion: '30',
    manufacturer: 'google',
    model: 'Pixel 4a',
    androidreleaseversion: '11',
    payload,
    ...fields,
  };
}

export const text = (value: unknown): string => JSON.stringify(value);

export interface StreamRecordSpec {
  readonly raw?: string;
  readonly id?: string;
  readonly sequenceNumber: string;
  readonly eventName?: string;
}

/** A raw_metrics stream record exactly as Lambda delivers it. */
export function streamRecord(spec: StreamRecordSpec): DynamoDBRecord {
  const id = spec.id ?? `raw-${spec.sequenceNumber}`;
  return {
    eventID: `event-${spec.sequenceNumber}`,
    eventName: (spec.eventName ?? 'INSERT') as DynamoDBRecord['eventName'],
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'ca-central-1',
    dynamodb: {
      ApproximateCreationDateTime: 1_650_000_000,
      Keys: { id: { S: id } },
      ...(spec.raw !== undefined && (spec.eventName ?? 'INSERT') === 'INSERT'
        ? { NewImage: { id: { S: id }, raw: { S: spec.raw }, expiresAt: { N: '1650086400' } } }
        : {}),
      SequenceNumber: spec.sequenceNumber,
      SizeBytes: 100,
      StreamViewType: 'NEW_IMAGE',
    },
    eventSourceARN: 'arn:aws:dynamodb:ca-central-1:000000000000:table/raw_metrics/stream/2022-04-15T00:00:00.000',
  };
}

export const streamEvent = (...records: StreamRecordSpec[]): DynamoDBStreamEvent => ({ Records: records.map(streamRecord) });

/** Counters and ledger in memory, with the DynamoDB store's all-or-nothing semantics. */
export class InMemoryAggregateStore implements AggregateStore {
  readonly counters = new Map<string, number>();
  readonly attributes = new Map<string, AggregateIncrement['attributes']>();
  readonly ledger = new Map<string, number>();
  calls = 0;
  /** Throw this (once) on the n-th call (1-based). */
  failOnCall?: { call: number; error: Error };

  async countOnce(increments: readonly AggregateIncrement[], ledgerExpiresAt: number, nowMs: number): Promise<CountOutcome> {
    this.calls += 1;
    if (this.failOnCall?.call === this.calls) throw this.failOnCall.error;
    const now = Math.floor(nowMs / 1000);
    const counted = increments.flatMap((i) => i.itemIds).filter((id) => (this.ledger.get(id) ?? -Infinity) >= now);
    if (counted.length) return { kind: 'already-counted', itemIds: counted };
    for (const inc of increments) {
      const name = `${inc.key.pk}|${inc.key.sk}`;
      for (const id of inc.itemIds) this.ledger.set(id, ledgerExpiresAt);
      this.counters.set(name, (this.counters.get(name) ?? 0) + inc.itemIds.length);
      this.attributes.set(name, inc.attributes);
    }
    return { kind: 'counted' };
  }

  total(): number {
    return [...this.counters.values()].reduce((a, b) => a + b, 0);
  }

  counter(sk: string): number | undefined {
    return [...this.counters.entries()].find(([name]) => name.endsWith(`|${sk}`))?.[1];
  }
}
