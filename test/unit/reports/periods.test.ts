import {
  completePeriods,
  formatDay,
  monthEnding,
  parseDay,
  weekEnding,
  weekday,
  yesterday,
  type Day,
  type PeriodKind,
} from '../../../lambdas/domain/metrics/report-periods';
import { at } from './builders';

const day = (text: string): Day => {
  const parsed = parseDay(text);
  if (parsed === undefined) throw new Error(`bad test date ${text}`);
  return parsed;
};
const periods = (kind: PeriodKind, start: string, last: string) =>
  completePeriods(kind, day(start), day(last)).map((p) => ({ end: formatDay(p.end), first: formatDay(p.first), days: p.days }));

describe('days', () => {
  test('parseDay accepts strict YYYY-MM-DD calendar dates only; formatDay inverts it', () => {
    // Prepare
    const valid = ['1970-01-01', '2020-02-29', '2021-12-31', '1969-12-31'];
    const invalid = ['2021-02-29', '2021-02-30', '2021-13-01', '2021-2-3', '2021-02-03T00:00', '', 'None', '20210203', ' 2021-02-03'];

    // Act
    const roundTrips = valid.map((d) => formatDay(day(d)));
    const rejected = invalid.map(parseDay);

    // Assess
    expect(roundTrips).toEqual(valid);
    expect(day('1970-01-02')).toBe(1);
    expect(rejected).toEqual(invalid.map(() => undefined));
  });

  test('yesterday is the UTC day before now, at both ends of a UTC day', () => {
    // Prepare
    const firstMs = at('2022-01-10T00:00:00.000Z');
    const lastMs = at('2022-01-10T23:59:59.999Z');

    // Act
    const [a, b, c] = [yesterday(firstMs), yesterday(lastMs), yesterday(firstMs - 1)];

    // Assess
    expect(formatDay(a)).toBe('2022-01-09');
    expect(formatDay(b)).toBe('2022-01-09');
    expect(formatDay(c)).toBe('2022-01-08');
  });

  test('weeks end on Sunday, across month and year boundaries; a Sunday ends its own week', () => {
    // Prepare
    const cases: [string, string][] = [
      ['2021-03-29', '2021-04-04'], // Monday → next month's Sunday
      ['2021-12-27', '2022-01-02'], // Monday → next year's Sunday
      ['2022-01-01', '2022-01-02'], // Saturday
      ['2021-02-28', '2021-02-28'], // Sunday
      ['2020-02-24', '2020-03-01'], // leap February
    ];

    // Act
    const ends = cases.map(([d]) => formatDay(weekEnding(day(d))));

    // Assess
    expect(ends).toEqual(cases.map(([, sunday]) => sunday));
    expect(cases.map(([, sunday]) => weekday(day(sunday)))).toEqual([0, 0, 0, 0, 0]);
  });

  test('months end on their last day, including leap Februaries', () => {
    // Prepare
    const cases: [string, string][] = [
      ['2020-02-01', '2020-02-29'],
      ['2021-02-15', '2021-02-28'],
      ['2021-12-31', '2021-12-31'],
      ['2021-04-01', '2021-04-30'],
    ];

    // Act
    const ends = cases.map(([d]) => formatDay(monthEnding(day(d))));

    // Assess
    expect(ends).toEqual(cases.map(([, last]) => last));
  });
});

describe('complete periods', () => {
  test('daily: every day from the series start to yesterday', () => {
    // Prepare / Act
    const result = periods('daily', '2021-12-30', '2022-01-01');

    // Assess
    expect(result.map((p) => p.end)).toEqual(['2021-12-30', '2021-12-31', '2022-01-01']);
    expect(result.every((p) => p.days === 1)).toBe(true);
  });

  test('weekly: the partial first week is included, the week in progress is not (yesterday a Saturday)', () => {
    // Prepare: series starts Wednesday 2021-12-29; yesterday is Saturday 2022-01-08

    // Act
    const result = periods('weekly', '2021-12-29', '2022-01-08');

    // Assess
    expect(result).toEqual([{ end: '2022-01-02', first: '2021-12-29', days: 5 }]);
  });

  test('weekly: a week is written once its Sunday is yesterday', () => {
    // Prepare
    const sunday = yesterday(at('2022-01-10T00:00:00.000Z'));
    const saturday = yesterday(at('2022-01-09T23:59:59.999Z'));

    // Act
    const withSunday = completePeriods('weekly', day('2021-12-29'), sunday).map((p) => formatDay(p.end));
    const withSaturday = completePeriods('weekly', day('2021-12-29'), saturday).map((p) => formatDay(p.end));

    // Assess
    expect(withSunday).toEqual(['2022-01-02', '2022-01-09']);
    expect(withSaturday).toEqual(['2022-01-02']);
  });

  test('weekly: a series starting on a Sunday has a one-day first week', () => {
    // Prepare / Act
    const result = periods('weekly', '2021-02-28', '2021-03-07');

    // Assess
    expect(result).toEqual([
      { end: '2021-02-28', first: '2021-02-28', days: 1 },
      { end: '2021-03-07', first: '2021-03-01', days: 7 },
    ]);
  });

  test('monthly: partial first month included, a month written only once its last day is yesterday', () => {
    // Prepare / Act
    const before = periods('monthly', '2021-11-15', '2021-12-30');
    const on = periods('monthly', '2021-11-15', '2021-12-31');
    const across = periods('monthly', '2021-12-31', '2022-02-28');

    // Assess
    expect(before).toEqual([{ end: '2021-11-30', first: '2021-11-15', days: 16 }]);
    expect(on).toEqual([
      { end: '2021-11-30', first: '2021-11-15', days: 16 },
      { end: '2021-12-31', first: '2021-12-01', days: 31 },
    ]);
    expect(across).toEqual([
      { end: '2021-12-31', first: '2021-12-31', days: 1 },
      { end: '2022-01-31', first: '2022-01-01', days: 31 },
      { end: '2022-02-28', first: '2022-02-01', days: 28 },
    ]);
  });

  test('no periods when the series starts after yesterday', () => {
    // Prepare / Act / Assess
    expect(completePeriods('daily', day('2022-01-10'), day('2022-01-09'))).toEqual([]);
    expect(completePeriods('weekly', day('2022-01-03'), day('2022-01-08'))).toEqual([]);
    expect(completePeriods('monthly', day('2022-01-03'), day('2022-01-30'))).toEqual([]);
  });
});
