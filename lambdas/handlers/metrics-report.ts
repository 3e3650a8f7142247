/**
 * metrics-report — scheduled nightly (EventBridge): rewrite the CSV reports of the metrics
 * pipeline from aggregate_metrics (domain/metrics/report.ts). Logs and publishes counts only,
 * never rows or values. A failure is rethrown, so the invocation fails and alarms fire.
 *
 * `runMetricsReport` is re-exported for the local runtime's job (POST /_local/run/metrics-report).
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { runMetricsReport, type MetricsReportSummary } from '../domain/metrics/report';
import { lazy } from '../shared/env';
import { logger, metrics } from '../shared/observability';
import { metricsReportContextFromEnv, type MetricsReportContext } from '../shared/report-context';

export { runMetricsReport, type MetricsReportDeps, type MetricsReportSummary } from '../domain/metrics/report';

export type MetricsReportHandler = (event: Pick<ScheduledEvent, 'id'> | Record<string, unknown>, context: Context) => Promise<MetricsReportSummary>;

export function makeMetricsReportHandler(context: () => Promise<MetricsReportContext>): MetricsReportHandler {
  const core = async (): Promise<MetricsReportSummary> => {
    const started = process.hrtime.bigint();
    const durationMs = () => Number(process.hrtime.bigint() - started) / 1e6;
    try {
      const deps = await context();
      const summary = await runMetricsReport(deps, deps.clock.nowMs());
      metrics.addMetric('MetricsReportFilesWritten', MetricUnit.Count, summary.files.length);
      metrics.addMetric('MetricsReportRowsWritten', MetricUnit.Count, summary.rows);
      metrics.addMetric('MetricsReportItemsSkipped', MetricUnit.Count, summary.itemsSkipped);
      logger.info('metrics-report', {
        outcome: 'ok',
        files: summary.files.length,
        rows: summary.rows,
        itemsRead: summary.itemsRead,
        itemsSkipped: summary.itemsSkipped,
        durationMs: durationMs(),
      });
      return summary;
    } catch (error) {
      metrics.addMetric('MetricsReportFailed', MetricUnit.Count, 1);
      logger.error('metrics-report', { outcome: 'failed', errorName: error instanceof Error ? error.name : typeof error, durationMs: durationMs() });
      throw error;
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
  return middy(core).use(injectLambdaContext(logger)) as unknown as MetricsReportHandler;
}

export const handler = makeMetricsReportHandler(lazy(metricsReportContextFromEnv));
