/**
 * Everything metrics-report needs, built once: the aggregate reader, the reports blob store, the
 * clock and the settings. AWS builds it from the environment; the local runtime and the tests
 * call `buildMetricsReportContext` with their own clients and clock.
 *
 * Environment:
 *   AGGREGATE_METRICS_TABLE_NAME, REPORTS_BUCKET_NAME   bound by the CDK (lib/env-names.ts)
 *   REPORTS_EARLIEST_DATE   optional YYYY-MM-DD: rows dated earlier are ignored
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { ENV } from '../../lib/env-names';
import { documentClient, s3Client } from '../adapters/aws-clients';
import { DynamoAggregateReader } from '../adapters/dynamo-aggregate-reader';
import { S3BlobStore } from '../adapters/s3-blob-store';
import { systemClock } from '../adapters/system';
import type { MetricsReportDeps, MetricsReportSettings } from '../domain/metrics/report';
import { parseDay } from '../domain/metrics/report-periods';
import type { Clock } from '../ports';
import { ConfigurationError, requireEnv } from './env';

export interface MetricsReportContext extends MetricsReportDeps {
  readonly clock: Clock;
}

export function buildMetricsReportContext(parts: {
  db: DynamoDBDocumentClient;
  aggregateMetricsTable: string;
  s3: S3Client;
  reportsBucket: string;
  clock?: Clock;
  settings?: MetricsReportSettings;
  /** Query page size (tests); undefined: DynamoDB's 1 MB pages. */
  pageSize?: number;
}): MetricsReportContext {
  return {
    reader: new DynamoAggregateReader(parts.db, parts.aggregateMetricsTable, parts.pageSize),
    blobs: new S3BlobStore(parts.s3, parts.reportsBucket),
    clock: parts.clock ?? systemClock,
    ...(parts.settings ? { settings: parts.settings } : {}),
  };
}

/** Cold-start construction in AWS. Every configuration problem is reported at once. */
export async function metricsReportContextFromEnv(env = process.env): Promise<MetricsReportContext> {
  const names = requireEnv([ENV.aggregateMetricsTable, ENV.reportsBucket], env);
  const earliestDate = env.REPORTS_EARLIEST_DATE;
  if (earliestDate !== undefined && earliestDate !== '' && parseDay(earliestDate) === undefined) {
    throw new ConfigurationError([`REPORTS_EARLIEST_DATE must be a YYYY-MM-DD date, got "${earliestDate}"`]);
  }
  return buildMetricsReportContext({
    db: documentClient(),
    aggregateMetricsTable: names[ENV.aggregateMetricsTable],
    s3: s3Client(),
    reportsBucket: names[ENV.reportsBucket],
    ...(earliestDate ? { settings: { earliestDate } } : {}),
  });
}
