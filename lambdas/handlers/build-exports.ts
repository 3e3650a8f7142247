/**
 * build-exports — scheduled (EventBridge, every 10 minutes): build, sign and write the bundle of
 * every served period (domain/build-exports.ts). Logs and publishes counts only. A failure is
 * rethrown, so the invocation fails and the export-job alarms fire.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { buildExports, type BuildExportsSummary } from '../domain/build-exports';
import { lazy } from '../shared/env';
import { exportsContextFromEnv, type ExportsContext } from '../shared/exports-context';
import { scheduledJobHandler } from '../shared/middleware';

export type BuildExportsHandler = (event: Pick<ScheduledEvent, 'id'> | Record<string, unknown>, context: Context) => Promise<BuildExportsSummary>;

export function makeBuildExportsHandler(context: () => Promise<ExportsContext>): BuildExportsHandler {
  return scheduledJobHandler(
    'build-exports',
    'ExportJobFailed',
    async () => {
      const deps = await context();
      return buildExports(deps, deps.clock.nowMs());
    },
    (summary) => {
      const keys = Object.values(summary.keysPerPeriod).reduce((a, b) => a + b, 0);
      return {
        metrics: {
          ExportBundlesWritten: { unit: MetricUnit.Count, value: summary.periods.length },
          ExportKeys: { unit: MetricUnit.Count, value: keys },
          ExportBytesWritten: { unit: MetricUnit.Bytes, value: summary.bytesWritten },
        },
        log: { bundles: summary.periods.length, keys, keysPerPeriod: summary.keysPerPeriod, bytesWritten: summary.bytesWritten },
      };
    },
  );
}

export const handler = makeBuildExportsHandler(lazy(exportsContextFromEnv));
