import { REPORTS } from '../../../lambdas/domain/metrics/report-catalogue';
import { MetricsReportSettingsError, reportObjectKey, runMetricsReport } from '../../../lambdas/domain/metrics/report';
import type { AggregateRow } from '../../../lambdas/domain/metrics/report-ports';
import { FixedClock } from '../../support/builders/deterministic';
import { at, daily, InMemoryAggregateReader, lines, MemoryBlobStore, reportNamed, row } from './builders';

/** Wednesday: yesterday is Tuesday 2021-03-09; the last complete week ends Sunday 2021-03-07. */
const NOW = at('2021-03-10T05:00:00Z');

function setup(data: readonly AggregateRow[], options: { pageSize?: number; earliestDate?: string; names?: string[] } = {}) {
  const reader = new InMemoryAggregateReader(data, options.pageSize);
  const blobs = new MemoryBlobStore();
  const deps = {
    reader,
    blobs,
    clock: new FixedClock(NOW),
    settings: {
      ...(options.earliestDate ? { earliestDate: options.earliestDate } : {}),
      ...(options.names ? { reports: options.names.map(reportNamed) } : {}),
    },
  };
  return { reader, blobs, deps };
}

describe('runMetricsReport', () => {
  test('writes every file of the catalogue in three periods and two outputs, as text/csv', async () => {
    // Prepare
    const { deps, blobs } = setup([row({ date: '2021-03-01' })]);

    // Act
    const summary = await runMetricsReport(deps, NOW);

    // Assess
    expect(summary.files).toHaveLength(REPORTS.length * 3 * 2);
    expect(summary.files.slice(0, 6)).toEqual([
      'unmasked/csv/daily-journalier/active_users.daily-journalier.csv',
      'masked/csv/daily-journalier/active_users.daily-journalier.csv',
      'unmasked/csv/weekly-hebdomadaire/active_users.weekly-hebdomadaire.csv',
      'masked/csv/weekly-hebdomadaire/active_users.weekly-hebdomadaire.csv',
      'unmasked/csv/monthly-mensuel/active_users.monthly-mensuel.csv',
      'masked/csv/monthly-mensuel/active_users.monthly-mensuel.csv',
    ]);
    expect(new Set(summary.files).size).toBe(summary.files.length);
    expect([...blobs.objects.keys()].sort()).toEqual([...summary.files].sort());
    expect(new Set([...blobs.objects.values()].map((b) => b.contentType))).toEqual(new Set(['text/csv; charset=utf-8']));
    expect(summary.itemsRead).toBe(1);
  });

  test('the summary counts data rows over all outputs', async () => {
    // Prepare: one active user on Monday 2021-03-01 → 9 days, 1 week, no complete month
    const { deps } = setup([row({ date: '2021-03-01' })], { names: ['active_users'] });

    // Act
    const summary = await runMetricsReport(deps, NOW);

    // Assess
    expect(summary.rows).toBe((9 + 1 + 0) * 2);
  });

  test('masking is applied after roll-up: days each < 20 summing to ≥ 20 show in the weekly file', async () => {
    // Prepare: 5 installs a day, Monday 2021-03-01 … Sunday 2021-03-07
    const { deps, blobs } = setup(daily('2021-03-01', '2021-03-07', () => ({ identifier: 'installed', metricCount: 5 })), {
      names: ['installs'],
    });

    // Act
    await runMetricsReport(deps, NOW);

    // Assess
    expect(lines(blobs.text(reportObjectKey('masked', 'weekly', 'installs')))).toEqual(['date,count-nombre', '2021-03-07,35']);
    expect(lines(blobs.text(reportObjectKey('masked', 'daily', 'installs'))).slice(1, 3)).toEqual(['2021-03-01,<20', '2021-03-02,<20']);
    expect(lines(blobs.text(reportObjectKey('unmasked', 'daily', 'installs'))).slice(1, 3)).toEqual(['2021-03-01,5', '2021-03-02,5']);
  });

  test('masking is applied after roll-up: a weekly mean below 20 is masked although its days are not', async () => {
    // Prepare: 25 active users on Monday and Tuesday, none the rest of the week
    const { deps, blobs } = setup([row({ date: '2021-03-01', metricCount: 25 }), row({ date: '2021-03-02', metricCount: 25 })], {
      names: ['active_users'],
    });

    // Act
    await runMetricsReport(deps, NOW);

    // Assess
    expect(lines(blobs.text(reportObjectKey('masked', 'weekly', 'active_users')))).toEqual(['date,count-nombre', '2021-03-07,<20']);
    expect(lines(blobs.text(reportObjectKey('unmasked', 'weekly', 'active_users')))).toEqual(['date,count-nombre', '2021-03-07,7']);
    expect(lines(blobs.text(reportObjectKey('masked', 'daily', 'active_users'))).slice(1, 4)).toEqual(['2021-03-01,25', '2021-03-02,25', '2021-03-03,<20']);
  });

  test('only complete periods up to yesterday; the current week and month are left out', async () => {
    // Prepare: installs from Thursday 2021-02-25 to today 2021-03-10
    const { deps, blobs, reader } = setup(daily('2021-02-25', '2021-03-10', () => ({ identifier: 'installed', metricCount: 100 })), {
      names: ['installs'],
    });

    // Act
    await runMetricsReport(deps, NOW);

    // Assess
    const dates = (kind: 'daily' | 'weekly' | 'monthly') =>
      lines(blobs.text(reportObjectKey('unmasked', kind, 'installs')))
        .slice(1)
        .map((l) => l.split(',')[0]);
    expect(dates('daily')[0]).toBe('2021-02-25');
    expect(dates('daily').at(-1)).toBe('2021-03-09');
    expect(lines(blobs.text(reportObjectKey('unmasked', 'weekly', 'installs')))).toEqual(['date,count-nombre', '2021-02-28,400', '2021-03-07,700']);
    expect(lines(blobs.text(reportObjectKey('unmasked', 'monthly', 'installs')))).toEqual(['date,count-nombre', '2021-02-28,400']);
    expect(reader.calls).toEqual([{ identifier: 'installed', from: '0000-01-01', to: '2021-03-09' }]);
  });

  test('reads each identifier once, page by page, and otk files add up every OTK identifier', async () => {
    // Prepare
    const data = [
      ...daily('2021-03-01', '2021-03-07', () => ({ identifier: 'otk-entered', metricCount: 2 })),
      ...daily('2021-03-01', '2021-03-07', () => ({ identifier: 'otk-entered-v2', metricCount: 3 })),
      row({ identifier: 'otk-with-date', date: '2021-03-02', metricCount: 4 }),
    ];
    const { deps, blobs, reader } = setup(data, { pageSize: 2 });

    // Act
    await runMetricsReport(deps, NOW);

    // Assess
    expect(reader.calls.map((c) => c.identifier)).toEqual([
      'active-user',
      'scheduled-check-started-today',
      'scheduled-check-successful-today',
      'background-check',
      'exposed-clear',
      'exposed',
      'installed',
      'onboarded',
      'otk-entered',
      'otk-entered-v2',
      'otk-with-date',
      'otk-no-date',
      'qr-code-successfully-scanned',
      'error-400-keys-download',
      'error-500-qr-parse',
      'error-500-qr-url',
    ]);
    expect(reader.pagesYielded).toBe(9); // 7 rows each in pages of 2, then 1
    expect(lines(blobs.text(reportObjectKey('unmasked', 'weekly', 'otk')))).toEqual(['date,count-nombre', '2021-03-07,39']);
  });

  test('each group starts at its own first date; a group without rows gets header-only files', async () => {
    // Prepare
    const { deps, blobs } = setup([row({ date: '2021-03-01' }), row({ identifier: 'exposed', date: '2021-03-08', metricCount: 40 })]);

    // Act
    await runMetricsReport(deps, NOW);

    // Assess
    expect(lines(blobs.text(reportObjectKey('unmasked', 'daily', 'exposed')))).toEqual(['date,count-nombre', '2021-03-08,40', '2021-03-09,0']);
    expect(lines(blobs.text(reportObjectKey('unmasked', 'daily', 'active_users')))).toHaveLength(1 + 9);
    expect(blobs.text(reportObjectKey('masked', 'daily', 'otk_pt_dp'))).toBe('date,region,date_provided-date_fournie,count-nombre\n');
    expect(blobs.text(reportObjectKey('masked', 'weekly', 'exposed'))).toBe('date,count-nombre\n');
  });

  test('earliestDate bounds the read range and drops older rows', async () => {
    // Prepare
    const { deps, blobs, reader } = setup([row({ date: '1970-01-01' }), row({ date: '2021-03-08' })], {
      names: ['active_users'],
      earliestDate: '2020-07-31',
    });

    // Act
    const summary = await runMetricsReport(deps, NOW);

    // Assess
    expect(reader.calls).toEqual([{ identifier: 'active-user', from: '2020-07-31', to: '2021-03-09' }]);
    expect(lines(blobs.text(reportObjectKey('unmasked', 'daily', 'active_users')))).toEqual(['date,count-nombre', '2021-03-08,1', '2021-03-09,0']);
    expect(summary.itemsRead).toBe(1);
  });

  test('an invalid earliestDate fails the run before reading', async () => {
    // Prepare
    const { deps, reader } = setup([], { earliestDate: '2020-02-30' });

    // Act / Assess
    await expect(runMetricsReport(deps, NOW)).rejects.toBeInstanceOf(MetricsReportSettingsError);
    expect(reader.calls).toEqual([]);
  });

  test('uses the clock when no time is given, and a re-run writes the same bytes', async () => {
    // Prepare
    const data = daily('2021-02-20', '2021-03-09', (_, i) => ({ region: i % 2 ? 'ON' : 'None', metricCount: i * 3 }));
    const first = setup(data);
    const second = setup(data);

    // Act
    await runMetricsReport(first.deps);
    await runMetricsReport(second.deps, NOW);

    // Assess
    expect([...first.blobs.objects.keys()]).toEqual([...second.blobs.objects.keys()]);
    for (const [key, blob] of first.blobs.objects) expect(Buffer.from(blob.body).equals(Buffer.from(second.blobs.objects.get(key)!.body))).toBe(true);
  });

  test('a failed write fails the run', async () => {
    // Prepare
    const { deps } = setup([row()], { names: ['active_users'] });
    const failing = { ...deps, blobs: { put: () => Promise.reject(new Error('S3 down')) } };

    // Act / Assess
    await expect(runMetricsReport(failing, NOW)).rejects.toThrow('S3 down');
  });
});
