import { parseDay, type Day, type PeriodKind } from '../../../lambdas/domain/metrics/report-periods';
import { GroupAccumulator, ReportAccumulator } from '../../../lambdas/domain/metrics/report-rollup';
import type { AggregateRow } from '../../../lambdas/domain/metrics/report-ports';
import { daily, reportNamed, row } from './builders';

const day = (text: string): Day => parseDay(text)!;

/** Folds rows into one report's accumulator and returns its rows as `date,cat…,value` strings. */
function rollUp(name: string, rows: readonly AggregateRow[], kind: PeriodKind, last: string): string[] {
  const group = new GroupAccumulator([reportNamed(name)], { last: day(last) });
  group.fold(rows);
  return [...group.reports[0].rows(kind, group.seriesStart, day(last))].map((r) => [r.date, ...r.categories, r.value].join(','));
}

describe('roll-up: means for active-user-style files, sums otherwise', () => {
  // Monday 2021-03-01 … Sunday 2021-03-07, 281 events in the week.
  const week = [10, 20, 30, 40, 50, 60, 71];

  test('weekly active users: the mean of the daily values, truncated', () => {
    // Prepare
    const rows = daily('2021-03-01', '2021-03-07', (_, i) => ({ identifier: 'active-user', metricCount: week[i] }));

    // Act
    const weekly = rollUp('active_users', rows, 'weekly', '2021-03-07');

    // Assess
    expect(weekly).toEqual(['2021-03-07,40']); // 281 / 7 = 40.14
  });

  test('weekly installs: the sum of the daily values', () => {
    // Prepare
    const rows = daily('2021-03-01', '2021-03-07', (_, i) => ({ identifier: 'installed', metricCount: week[i] }));

    // Act
    const weekly = rollUp('installs', rows, 'weekly', '2021-03-07');

    // Assess
    expect(weekly).toEqual(['2021-03-07,281']);
  });

  test('monthly daily-background-check files are means too', () => {
    // Prepare: 28 days of February 2021, 100 android starts a day plus 1 on the last day
    const rows = daily('2021-02-01', '2021-02-28', (date) => ({
      identifier: 'scheduled-check-started-today',
      appos: 'android',
      metricCount: date === '2021-02-28' ? 101 : 100,
    }));

    // Act
    const monthly = rollUp('daily_background_check_started_os', rows, 'monthly', '2021-03-01');

    // Assess
    expect(monthly).toEqual(['2021-02-28,android,100', '2021-02-28,ios,0']);
  });

  test('the mean of a partial first week divides by the days of the series within it', () => {
    // Prepare: the series starts Thursday 2021-02-25; Thu–Sun 10, 11, 12, 13
    const rows = daily('2021-02-25', '2021-02-28', (_, i) => ({ metricCount: 10 + i }));

    // Act
    const weekly = rollUp('active_users', rows, 'weekly', '2021-02-28');

    // Assess
    expect(weekly).toEqual(['2021-02-28,11']); // 46 / 4 = 11.5
  });

  test('within the series a day without rows counts as 0 in a mean', () => {
    // Prepare: rows on Monday (70) and Sunday (70) only
    const rows = [row({ date: '2021-03-01', metricCount: 70 }), row({ date: '2021-03-07', metricCount: 70 })];

    // Act
    const weekly = rollUp('active_users', rows, 'weekly', '2021-03-07');
    const days = rollUp('active_users', rows, 'daily', '2021-03-07');

    // Assess
    expect(weekly).toEqual(['2021-03-07,20']);
    expect(days).toEqual(['2021-03-01,70', '2021-03-02,0', '2021-03-03,0', '2021-03-04,0', '2021-03-05,0', '2021-03-06,0', '2021-03-07,70']);
  });

  test('a daily value is the sum of metricCount over every matching row of the date', () => {
    // Prepare: three aggregate keys (e.g. different models) for ON/ios on one day
    const rows = [row({ metricCount: 5 }), row({ metricCount: 7 }), row({ metricCount: 30, region: 'QC' })];

    // Act
    const result = rollUp('active_users_pt', rows, 'daily', '2021-03-01');

    // Assess
    expect(result.filter((r) => !r.endsWith(',0'))).toEqual(['2021-03-01,ON,12', '2021-03-01,QC,30']);
  });
});

describe('dense and sparse files', () => {
  test('a dense file lists every date × every category combination, zeros included', () => {
    // Prepare
    const rows = [row({ date: '2021-03-01', region: 'ON', appos: 'ios', metricCount: 3 }), row({ date: '2021-03-02', region: 'None', appos: 'android', metricCount: 4 })];

    // Act
    const result = rollUp('active_users_pt_os', rows, 'daily', '2021-03-02');

    // Assess
    expect(result).toHaveLength(2 * 14 * 2);
    expect(result.slice(0, 4)).toEqual(['2021-03-01,AB,android,0', '2021-03-01,AB,ios,0', '2021-03-01,BC,android,0', '2021-03-01,BC,ios,0']);
    expect(result).toContain('2021-03-01,ON,ios,3');
    expect(result.slice(-2)).toEqual(['2021-03-02,npts-ptso,android,4', '2021-03-02,npts-ptso,ios,0']);
  });

  test('a file with app versions lists only the combinations observed in each period, ordered by category', () => {
    // Prepare
    const rows = [
      row({ date: '2021-03-01', identifier: 'background-check', count: '7-12', appos: 'ios', appversion: '1.2.10', metricCount: 2 }),
      row({ date: '2021-03-01', identifier: 'background-check', count: '1-6', appos: 'ios', appversion: '1.2.9', metricCount: 3 }),
      row({ date: '2021-03-02', identifier: 'background-check', count: '1-6', appos: 'android', appversion: '1.2.9', metricCount: 4 }),
      row({ date: '2021-03-02', identifier: 'background-check', count: '1-6', appos: 'ios', appversion: '1.2.9', metricCount: 1 }),
    ];

    // Act
    const days = rollUp('background_checks_nc_os_av', rows, 'daily', '2021-03-07');
    const weeks = rollUp('background_checks_nc_os_av', rows, 'weekly', '2021-03-07');

    // Assess
    expect(days).toEqual(['2021-03-01,1-6,ios,1.2.9,3', '2021-03-01,7-12,ios,1.2.10,2', '2021-03-02,1-6,android,1.2.9,4', '2021-03-02,1-6,ios,1.2.9,1']);
    expect(weeks).toEqual(['2021-03-07,1-6,android,1.2.9,4', '2021-03-07,1-6,ios,1.2.9,4', '2021-03-07,7-12,ios,1.2.10,2']);
  });

  test('rows without a category in a dimension are left out of that file only', () => {
    // Prepare
    const rows = [row({ appos: 'windows', metricCount: 9 }), row({ appos: 'ios', metricCount: 1 })];

    // Act
    const all = rollUp('active_users', rows, 'daily', '2021-03-01');
    const byOs = rollUp('active_users_os', rows, 'daily', '2021-03-01');

    // Assess
    expect(all).toEqual(['2021-03-01,10']);
    expect(byOs).toEqual(['2021-03-01,android,0', '2021-03-01,ios,1']);
  });
});

describe('folding', () => {
  test('the accumulator grows with days × categories, not with the number of rows', () => {
    // Prepare: 60 000 rows over 3 days and 2 regions
    const accumulator = new ReportAccumulator(reportNamed('active_users_pt'));
    const dates = ['2021-03-01', '2021-03-02', '2021-03-03'];

    // Act
    for (let i = 0; i < 60_000; i += 1) {
      accumulator.add(day(dates[i % 3]), row({ region: i % 2 ? 'ON' : 'QC' }), 1);
    }

    // Assess
    expect(accumulator.cells).toBe(6);
    const values = [...accumulator.rows('daily', day('2021-03-01'), day('2021-03-03'))].filter((r) => r.value > 0).map((r) => r.value);
    expect(values).toEqual([10_000, 10_000, 10_000, 10_000, 10_000, 10_000]);
  });

  test('rows with an invalid or out-of-window date or a bad metricCount are skipped; the series starts at the first valid date', () => {
    // Prepare
    const group = new GroupAccumulator([reportNamed('active_users')], { earliest: day('2021-01-01'), last: day('2021-03-02') });
    const rows = [
      row({ date: '2021-03-02', metricCount: 2 }),
      row({ date: '2021-03-01', metricCount: 1 }),
      row({ date: '2021-13-01' }),
      row({ date: 'garbage' }),
      row({ date: '1970-01-01' }), // before earliest
      row({ date: '2021-03-03' }), // after yesterday
      row({ date: '2021-03-01', metricCount: Number.NaN }),
      row({ date: '2021-03-01', metricCount: -4 }),
    ];

    // Act
    group.fold(rows);

    // Assess
    expect(group.counts).toEqual({ read: 8, skipped: 6 });
    expect(group.seriesStart).toBe(day('2021-03-01'));
    expect([...group.reports[0].rows('daily', group.seriesStart, day('2021-03-02'))].map((r) => r.value)).toEqual([1, 2]);
  });

  test('a group without rows has no series and no rows', () => {
    // Prepare
    const group = new GroupAccumulator([reportNamed('otk')], { last: day('2021-03-02') });

    // Act
    group.fold([]);

    // Assess
    expect(group.seriesStart).toBeUndefined();
    expect([...group.reports[0].rows('daily', group.seriesStart, day('2021-03-02'))]).toEqual([]);
  });
});
