import '../../support/builders/quiet-logs';
import { makeMetricsReportHandler } from '../../../lambdas/handlers/metrics-report';
import { logger, metrics } from '../../../lambdas/shared/observability';
import { ConfigurationError } from '../../../lambdas/shared/env';
import { metricsReportContextFromEnv, type MetricsReportContext } from '../../../lambdas/shared/report-context';
import { lambdaContext } from '../../support/builders/api-events';
import { FixedClock } from '../../support/builders/deterministic';
import { at, InMemoryAggregateReader, MemoryBlobStore, reportNamed, row } from './builders';

const NOW = at('2021-03-10T05:00:00Z');
const scheduledEvent = { id: 'event-1', 'detail-type': 'Scheduled Event', source: 'aws.events' };

function context(blobs = new MemoryBlobStore()): MetricsReportContext {
  return {
    reader: new InMemoryAggregateReader([row({ date: '2021-03-01', appversion: 'secret-ver', metricCount: 77 })]),
    blobs,
    clock: new FixedClock(NOW),
    settings: { reports: [reportNamed('active_users_os_av')] },
  };
}

let addMetric: jest.SpyInstance;
beforeEach(() => {
  addMetric = jest.spyOn(metrics, 'addMetric').mockImplementation(() => metrics);
});
afterEach(() => jest.restoreAllMocks());

describe('metrics-report handler', () => {
  test('runs the report at the clock time and logs counts only', async () => {
    // Prepare
    const blobs = new MemoryBlobStore();
    const info = jest.spyOn(logger, 'info');
    const handler = makeMetricsReportHandler(async () => context(blobs));

    // Act
    const summary = await handler(scheduledEvent, lambdaContext('metrics-report'));

    // Assess
    expect(summary.files).toHaveLength(6);
    expect(blobs.objects.size).toBe(6);
    const [message, detail] = info.mock.calls.find(([m]) => m === 'metrics-report')!;
    expect(message).toBe('metrics-report');
    expect(detail).toEqual({ outcome: 'ok', files: 6, rows: summary.rows, itemsRead: 1, itemsSkipped: 0, durationMs: expect.any(Number) });
    expect(JSON.stringify(info.mock.calls)).not.toContain('secret-ver');
    expect(addMetric).toHaveBeenCalledWith('MetricsReportFilesWritten', 'Count', 6);
  });

  test('a failure is logged by name and rethrown', async () => {
    // Prepare
    const error = jest.spyOn(logger, 'error');
    const failing = { ...context(), blobs: { put: () => Promise.reject(Object.assign(new Error('bucket gone'), { name: 'StorageError' })) } };
    const handler = makeMetricsReportHandler(async () => failing);

    // Act / Assess
    await expect(handler(scheduledEvent, lambdaContext('metrics-report'))).rejects.toThrow('bucket gone');
    expect(error).toHaveBeenCalledWith('metrics-report', { outcome: 'failed', errorName: 'StorageError', durationMs: expect.any(Number) });
    expect(addMetric).toHaveBeenCalledWith('MetricsReportFailed', 'Count', 1);
  });

  test('a configuration problem fails the invocation', async () => {
    // Prepare
    const handler = makeMetricsReportHandler(() => metricsReportContextFromEnv({}));

    // Act / Assess
    await expect(handler(scheduledEvent, lambdaContext('metrics-report'))).rejects.toBeInstanceOf(ConfigurationError);
  });
});

describe('metrics-report context from the environment', () => {
  test('names every missing variable at once', async () => {
    // Prepare / Act
    const result = metricsReportContextFromEnv({});

    // Assess
    await expect(result).rejects.toMatchObject({
      problems: ['AGGREGATE_METRICS_TABLE_NAME is not set', 'REPORTS_BUCKET_NAME is not set'],
    });
  });

  test('rejects an invalid REPORTS_EARLIEST_DATE and accepts a valid one', async () => {
    // Prepare
    const base = { AGGREGATE_METRICS_TABLE_NAME: 'aggregate', REPORTS_BUCKET_NAME: 'reports', AWS_REGION: 'ca-central-1' };

    // Act
    const bad = metricsReportContextFromEnv({ ...base, REPORTS_EARLIEST_DATE: '2020-31-07' });
    const good = await metricsReportContextFromEnv({ ...base, REPORTS_EARLIEST_DATE: '2020-07-31' });

    // Assess
    await expect(bad).rejects.toMatchObject({ problems: ['REPORTS_EARLIEST_DATE must be a YYYY-MM-DD date, got "2020-31-07"'] });
    expect(good.settings).toEqual({ earliestDate: '2020-07-31' });
  });
});
