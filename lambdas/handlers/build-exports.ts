/**
 * build-exports — scheduled (EventBridge, every 10 minutes): build, sign and write the bundle of
 * every served period (domain/build-exports.ts). Logs and publishes counts only. A failure is
 * rethrown, so the invocation fails and the export-job alarms fire.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { buildExports, type BuildExportsSummary } from '../domain/build-exports';
import { lazy } from '../shared/env';
import { exportsContextFromEnv, type ExportsContext } from '../shared/exports-context';
import { logger, metrics } from '../shared/observability';

export type BuildExportsHandler = (event: Pick<ScheduledEvent, 'id'> | Record<string, unknown>, context: Context) => Promise<BuildExportsSummary>;

export function makeBuildExportsHandler(context: () => Promise<ExportsContext>): BuildExportsHandler {
  const core = async (): Promise<BuildExportsSummary> => {
    const started = process.hrtime.bigint();
    const durationMs = () => Number(process.hrtime.bigint() - started) / 1e6;
    try {
      const deps = await context();
      const summary = await buildExports(deps, deps.clock.nowMs());
      const keys = Object.values(summary.keysPerPeriod).reduce((a, b) => a + b, 0);
      metrics.addMetric('ExportBundlesWritten', MetricUnit.Count, summary.periods.length);
      metrics.addMetric('ExportKeys', MetricUnit.Count, keys);
      metrics.addMetric('ExportBytesWritten', MetricUnit.Bytes, summary.bytesWritten);
      logger.info('build-exports', {
        outcome: 'ok',
        bundles: summary.periods.length,
        keys,
        keysPerPeriod: summary.keysPerPeriod,
        bytesWritten: summary.bytesWritten,
        durationMs: durationMs(),
      });
      return summary;
    } catch (error) {
      metrics.addMetric('ExportJobFailed', MetricUnit.Count, 1);
      logger.error('build-exports', { outcome: 'failed', errorName: error instanceof Error ? error.name : typeof error, durationMs: durationMs() });
      throw error;
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
  return middy(core).use(injectLambdaContext(logger)) as unknown as BuildExportsHandler;
}

export const handler = makeBuildExportsHandler(lazy(exportsContextFromEnv));
