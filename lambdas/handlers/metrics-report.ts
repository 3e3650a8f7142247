/**
 * metrics-report — scheduled nightly (EventBridge): rewrite the CSV reports of the metrics
 * pipeline from aggregate_metrics (domain/metrics/report.ts). Logs and publishes counts only,
 * never rows or values. A failure is rethrown, so the invocation fails and alarms fire.
 *
 * `runMetricsReport` is re-exported for the local runtime's job (POST /_local/run/metrics-report).
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { runMetricsReport, type MetricsReportSummary } from '../domain/metrics/report';
import { lazy } from '../shared/env';
import { scheduledJobHandler } from '../shared/middleware';
import { metricsReportContextFromEnv, type MetricsReportContext } from '../shared/report-context';

export { runMetricsReport, type MetricsReportDeps, type MetricsReportSummary } from '../domain/metrics/report';

export type MetricsReportHandler = (event: Pick<ScheduledEvent, 'id'> | Record<string, unknown>, context: Context) => Promise<MetricsReportSummary>;

export function makeMetricsReportHandler(context: () => Promise<MetricsReportContext>): MetricsReportHandler {
  return scheduledJobHandler(
    'metrics-report',
    'MetricsReportFailed',
    async () => {
      const deps = await context();
      return runMetricsReport(deps, deps.clock.nowMs());
    },
    (summary) => ({
      metrics: {
        MetricsReportFilesWritten: { unit: MetricUnit.Count, value: summary.files.length },
        MetricsReportRowsWritten: { unit: MetricUnit.Count, value: summary.rows },
        MetricsReportItemsSkipped: { unit: MetricUnit.Count, value: summary.itemsSkipped },
      },
      log: { files: summary.files.length, rows: summary.rows, itemsRead: summary.itemsRead, itemsSkipped: summary.itemsSkipped },
    }),
  );
}

export const handler = makeMetricsReportHandler(lazy(metricsReportContextFromEnv));
