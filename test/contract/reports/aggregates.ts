/**
 * The fixed set of aggregate rows behind the golden report files. Deterministic (no randomness),
 * spanning a partial first week and month (the series starts Thursday 2021-02-25), a month
 * boundary, values on both sides of the masking threshold, rows outside every vocabulary, a row
 * dated today and a row with an unparseable date (both ignored).
 *
 * Run time: 2021-03-09T08:00Z → yesterday Monday 2021-03-08; complete weeks end 2021-02-28 and
 * 2021-03-07; the one complete month ends 2021-02-28.
 */
import type { AggregateRow } from '../../../lambdas/domain/metrics/report-ports';
import { at, daily, row } from '../../unit/reports/builders';

export const GOLDEN_NOW = at('2021-03-09T08:00:00Z');

/** The files compared byte for byte (all three periods, both outputs). */
export const GOLDEN_FILES = ['active_users', 'active_users_pt_os', 'background_checks_nc_os_av', 'onboarded_fs_np', 'otk_pt_dp', 'exposed_es'];

export function goldenAggregates(): AggregateRow[] {
  const rows: AggregateRow[] = [];

  // active-user: 2021-02-25 … 2021-03-09 (the last day is "today" and must not be reported)
  rows.push(
    ...daily('2021-02-25', '2021-03-09', (_, i) => ({ region: 'ON', appos: 'ios', metricCount: 100 + 7 * i })),
    ...daily('2021-02-25', '2021-03-09', (_, i) => ({ region: 'ON', appos: 'android', metricCount: 40 + 3 * i })),
    ...daily('2021-02-25', '2021-03-08', (_, i) => ({ region: 'QC', appos: 'ios', metricCount: 15 + i })),
    ...daily('2021-02-25', '2021-03-08', (_, i) => ({ region: 'None', appos: 'ios', metricCount: 5 + (i % 4) })),
    ...daily('2021-03-01', '2021-03-08', (_, i) => ({ region: 'NU', appos: 'android', metricCount: i % 2 })),
    // a second aggregate key (another model) for the same day and categories adds up
    row({ date: '2021-03-03', region: 'ON', appos: 'ios', metricCount: 11 }),
    // an OS outside the vocabulary: counted in active_users only
    row({ date: '2021-03-02', region: 'ON', appos: 'windows', metricCount: 3 }),
    // an unparseable date: ignored
    row({ date: '2021-02-30', region: 'ON', appos: 'ios', metricCount: 1000 }),
  );

  // background-check: sparse file with app versions, including text a CSV must quote or defuse
  const checks: [string, string, string, number][] = [
    ['1-6', 'ios', '1.2.9', 12],
    ['1-6', 'ios', '1.2.10', 30],
    ['1-6', 'android', '1.5.4', 4],
    ['7-12', 'android', '1.5.4', 9],
    ['30+', 'ios', '1.5,4', 2],
    ['0', 'android', '=1+2', 1],
  ];
  rows.push(
    ...['2021-02-27', '2021-03-01', '2021-03-04', '2021-03-08'].flatMap((date, d) =>
      checks
        .filter((_, k) => (k + d) % 3 !== 0)
        .map(([count, appos, appversion, n]) => row({ identifier: 'background-check', date, count, appos, appversion, metricCount: n + d })),
    ),
    row({ identifier: 'background-check', date: '2021-03-02', count: '17', appos: 'ios', appversion: '1.2.9', metricCount: 50 }),
  );

  // onboarded: framework × permission, with a permission outside the vocabulary
  const onboarding: [string, string, number][] = [
    ['true', 'granted', 21],
    ['true', 'blocked', 3],
    ['false', 'denied', 2],
    ['false', 'granted', 8],
    ['true', 'unavailable', 40],
  ];
  rows.push(
    ...['2021-02-26', '2021-03-02', '2021-03-05', '2021-03-06', '2021-03-07'].flatMap((date, d) =>
      onboarding.map(([frameworkenabled, pushnotification, n]) =>
        row({ identifier: 'onboarded', date, region: 'AB', appos: 'android', frameworkenabled, pushnotification, metricCount: n + d }),
      ),
    ),
  );

  // otk: the retired otk-entered before March, otk-entered-v2 after
  rows.push(
    ...daily('2021-02-26', '2021-02-28', (_, i) => ({ identifier: 'otk-entered', region: 'ON', withDate: 'true', isUserExposed: 'false', metricCount: 6 + i })),
    ...daily('2021-03-01', '2021-03-08', (_, i) => ({ identifier: 'otk-entered-v2', region: 'ON', withDate: 'true', isUserExposed: '', metricCount: 3 + i })),
    ...daily('2021-03-01', '2021-03-08', (_, i) => ({ identifier: 'otk-entered-v2', region: 'SK', withDate: 'false', isUserExposed: 'proximity', metricCount: i % 3 })),
    row({ identifier: 'otk-entered-v2', date: '2021-03-04', region: 'None', withDate: 'false', isUserExposed: 'proximity,outbreak', metricCount: 25 }),
    // the retired otk-no-date (no fields): date provided comes from the identifier
    row({ identifier: 'otk-no-date', date: '2021-02-26', region: 'QC', metricCount: 7 }),
  );

  // exposed: prior exposure status
  rows.push(
    ...daily('2021-02-28', '2021-03-08', (_, i) => ({ identifier: 'exposed', region: 'ON', isUserExposed: 'false', metricCount: 18 + (i % 5) })),
    ...daily('2021-03-03', '2021-03-06', () => ({ identifier: 'exposed', region: 'QC', isUserExposed: 'true', metricCount: 6 })),
  );
  return rows;
}
