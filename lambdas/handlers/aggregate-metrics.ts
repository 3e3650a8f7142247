/**
 * aggregate-metrics — raw_metrics stream consumer (event source mapping: batch 100, bisect on
 * error, ReportBatchItemFailures, bounded retries, failure destination). Decodes the records,
 * counts them exactly once (domain/metrics/aggregate.ts) and reports the records that could not
 * be committed by sequence number, so Lambda retries them; a poison record (raw text that does
 * not parse) is reported too and ends in the failure destination after the bounded retries.
 * Logs counts and record ids only, never payloads.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { aggregateBatch, type RawStreamRecord } from '../domain/metrics/aggregate';
import { StorageError } from '../domain/settings';
import { lazy } from '../shared/env';
import { aggregateContextFromEnv, type AggregateContext } from '../shared/metrics-context';
import { logger, metrics } from '../shared/observability';

export type AggregateMetricsHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse>;

export function decodeStreamRecords(event: DynamoDBStreamEvent): RawStreamRecord[] {
  return (event.Records ?? []).map((record) => ({
    sequenceNumber: record.dynamodb?.SequenceNumber ?? '',
    eventName: String(record.eventName ?? ''),
    rawId: record.dynamodb?.NewImage?.id?.S ?? record.dynamodb?.Keys?.id?.S,
    raw: record.dynamodb?.NewImage?.raw?.S,
  }));
}

export function makeAggregateMetricsHandler(context: () => Promise<AggregateContext>): AggregateMetricsHandler {
  const core = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const started = process.hrtime.bigint();
    try {
      const result = await aggregateBatch(await context(), decodeStreamRecords(event));
      for (const { record, outcome } of result.outcomes) {
        const where = { rawId: record.rawId, sequenceNumber: record.sequenceNumber };
        if (outcome.kind === 'poison') logger.error('poison record', { ...where, reason: outcome.reason });
        if (outcome.kind === 'failed') {
          // StorageError messages are ours (operation + SDK error name); other errors: name only.
          const error = outcome.error instanceof StorageError ? outcome.error.message : (outcome.error as Error | undefined)?.name;
          logger.warn('record not committed, reported for retry', { ...where, reason: outcome.reason, error });
        }
      }
      const { summary } = result;
      metrics.addMetric('MetricEventsCounted', MetricUnit.Count, summary.counted);
      metrics.addMetric('MetricEventsAlreadyCounted', MetricUnit.Count, summary.alreadyCounted);
      if (summary.poison + summary.failed > 0) metrics.addMetric('MetricRecordsFailed', MetricUnit.Count, summary.poison + summary.failed);
      logger.info('aggregate-metrics', { ...summary, durationMs: Number(process.hrtime.bigint() - started) / 1e6 });
      return { batchItemFailures: result.failedSequenceNumbers.map((itemIdentifier) => ({ itemIdentifier })) };
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
  return middy(core).use(injectLambdaContext(logger)) as unknown as AggregateMetricsHandler;
}

export const handler = makeAggregateMetricsHandler(lazy(aggregateContextFromEnv));
