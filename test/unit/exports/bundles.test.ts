/**
 * Bundle periods, windows, key selection and Cache-Control (upstream §6, RT1–RT10; deviation 12).
 * Windows are checked at their exact boundaries, with `now` just before and at UTC midnight.
 */
import {
  CACHE_CONTROL_CLOSED,
  CACHE_CONTROL_OPEN,
  cacheControl,
  compareKeyData,
  daysOfWindow,
  exportObjectKey,
  isExportedKey,
  minExportedRsinExclusive,
  periodOfDay,
  periodWindow,
  selectKeys,
  servedPeriods,
  type BundleWindow,
} from '../../../lambdas/domain/bundles';
import { utc } from '../../support/builders/deterministic';
import { aStoredKey, hourOf, keyData, rsinOf } from '../../support/builders/exports';

const NOW = utc(2024, 3, 14, 10, 20); // a Thursday, 10:20 UTC
const TODAY = 19_796; // 2024-03-14
const DAY = 86_400;

function windowOf(period: string, nowMs = NOW): BundleWindow {
  const lookup = periodWindow(period, nowMs);
  if (lookup.kind !== 'window') throw new Error(`expected a window for ${period}, got ${JSON.stringify(lookup)}`);
  return lookup.window;
}

/** Whether a submission hour is inside a window (how the reader uses it: [startHour, endHour)). */
const covers = (window: BundleWindow, hour: number) => hour >= window.startHour && hour < window.endHour;

describe('servedPeriods', () => {
  test('00000 and every day today−14 … today, as 5-digit strings', () => {
    // Act
    const periods = servedPeriods(NOW);

    // Assess
    expect(periods).toHaveLength(16);
    expect(periods[0]).toBe('00000');
    expect(periods.slice(1)).toEqual(Array.from({ length: 15 }, (_, i) => String(TODAY - 14 + i)));
  });

  test('today follows the UTC date: 1 ms before midnight is still the previous day', () => {
    // Prepare
    const midnight = utc(2024, 3, 15);

    // Act
    const before = servedPeriods(midnight - 1);
    const at = servedPeriods(midnight);

    // Assess
    expect(before.at(-1)).toBe(String(TODAY));
    expect(at.at(-1)).toBe(String(TODAY + 1));
    expect(at[1]).toBe(String(TODAY + 1 - 14));
  });

  test('periodOfDay pads to five digits', () => {
    // Act / Assess
    expect(periodOfDay(0)).toBe('00000');
    expect(periodOfDay(42)).toBe('00042');
    expect(periodOfDay(TODAY)).toBe('19796');
  });
});

describe('periodWindow: day periods', () => {
  test.each([
    ['RT1 today−3', TODAY - 3],
    ['RT2 today (served, deviation 12)', TODAY],
    ['RT3 today−1', TODAY - 1],
    ['RT5 today−14, the oldest served', TODAY - 14],
  ])('%s: hours [D×24, D×24+24), timestamps D×86400 and (D+1)×86400', (_label, day) => {
    // Act
    const lookup = periodWindow(String(day), NOW);

    // Assess
    expect(lookup).toEqual({
      kind: 'window',
      window: { period: String(day), startHour: day * 24, endHour: day * 24 + 24, startTimestamp: day * DAY, endTimestamp: (day + 1) * DAY },
    });
  });

  test('RT4 today+1: 404 cannot request future data', () => {
    // Act
    const lookup = periodWindow(String(TODAY + 1), NOW);

    // Assess
    expect(lookup).toEqual({ kind: 'refused', status: 404, body: 'cannot request future data\n' });
  });

  test('RT6 today−15: 410 requested data no longer valid', () => {
    // Act
    const lookup = periodWindow(String(TODAY - 15), NOW);

    // Assess
    expect(lookup).toEqual({ kind: 'refused', status: 410, body: 'requested data no longer valid\n' });
  });

  test('the served range moves at UTC midnight: today−14 becomes 410 and today+1 becomes served', () => {
    // Prepare
    const midnight = utc(2024, 3, 15);

    // Act
    const oldestBefore = periodWindow(String(TODAY - 14), midnight - 1);
    const oldestAfter = periodWindow(String(TODAY - 14), midnight);
    const tomorrowBefore = periodWindow(String(TODAY + 1), midnight - 1);
    const tomorrowAfter = periodWindow(String(TODAY + 1), midnight);

    // Assess
    expect(oldestBefore.kind).toBe('window');
    expect(oldestAfter).toMatchObject({ kind: 'refused', status: 410 });
    expect(tomorrowBefore).toMatchObject({ kind: 'refused', status: 404 });
    expect(tomorrowAfter.kind).toBe('window');
  });

  test.each(['00001', '99999', '1979', '197960', 'abcde', ''])('%p: refused, never a window', (period) => {
    // Act
    const lookup = periodWindow(period, NOW);

    // Assess
    expect(lookup.kind).toBe('refused');
  });
});

describe('periodWindow: 00000', () => {
  test('hours [(today−15)×24, today×24), timestamps (today−15)×86400 and today×86400', () => {
    // Act
    const window = windowOf('00000');

    // Assess
    expect(window).toEqual({
      period: '00000',
      startHour: (TODAY - 15) * 24,
      endHour: TODAY * 24,
      startTimestamp: (TODAY - 15) * DAY,
      endTimestamp: TODAY * DAY,
    });
    expect(daysOfWindow(window)).toEqual(Array.from({ length: 15 }, (_, i) => TODAY - 15 + i));
  });

  test('RT9: submissions at 00:00 on today−15 … 02:00 yesterday are in; 23:59:59 on today−16 and 02:00 today are out', () => {
    // Prepare
    const window = windowOf('00000');
    const submissions = {
      one: hourOf(TODAY - 16, 23, 59, 59),
      two: hourOf(TODAY - 15, 0),
      three: hourOf(TODAY - 1, 1, 59, 59),
      four: hourOf(TODAY - 1, 2),
      six: hourOf(TODAY, 2),
    };

    // Act
    const inside = Object.entries(submissions).filter(([, hour]) => covers(window, hour)).map(([name]) => name);

    // Assess
    expect(inside).toEqual(['two', 'three', 'four']);
  });

  test('RT10: the today−1 window takes 00:00, 01:59:59 and 02:00 yesterday but not 23:59:59 two days ago', () => {
    // Prepare
    const window = windowOf(String(TODAY - 1));
    const submissions = {
      one: hourOf(TODAY - 2, 23, 59, 59),
      two: hourOf(TODAY - 1, 0),
      three: hourOf(TODAY - 1, 1, 59, 59),
      four: hourOf(TODAY - 1, 2),
    };

    // Act
    const inside = Object.entries(submissions).filter(([, hour]) => covers(window, hour)).map(([name]) => name);

    // Assess
    expect(inside).toEqual(['two', 'three', 'four']);
  });

  test('daysOfWindow of a day period is that day alone', () => {
    // Act / Assess
    expect(daysOfWindow(windowOf(String(TODAY - 4)))).toEqual([TODAY - 4]);
  });
});

describe('key selection', () => {
  test('the RSIN filter is strict: the midnight of today−14 is out, one interval later is in', () => {
    // Prepare
    const threshold = rsinOf(TODAY - 14);

    // Act
    const atMidnight = isExportedKey({ rollingStartIntervalNumber: threshold }, NOW);
    const oneLater = isExportedKey({ rollingStartIntervalNumber: threshold + 1 }, NOW);
    const dayBefore = isExportedKey({ rollingStartIntervalNumber: threshold - 1 }, NOW);
    const thirteenDaysAgo = isExportedKey({ rollingStartIntervalNumber: rsinOf(TODAY - 13) }, NOW);

    // Assess
    expect(minExportedRsinExclusive(NOW)).toBe(threshold);
    expect([atMidnight, oneLater, dayBefore, thirteenDaysAgo]).toEqual([false, true, false, true]);
  });

  test('the filter is relative to today\'s midnight, not to the time of day', () => {
    // Prepare
    const key = { rollingStartIntervalNumber: rsinOf(TODAY - 14, 1) };

    // Act
    const lateToday = isExportedKey(key, utc(2024, 3, 14, 23, 59, 59));
    const tomorrow = isExportedKey(key, utc(2024, 3, 15));

    // Assess
    expect(lateToday).toBe(true);
    expect(tomorrow).toBe(false);
  });

  test('selectKeys drops old keys and sorts by key data bytewise (0x80 after 0x7f)', () => {
    // Prepare
    const keys = [
      aStoredKey({ keyData: keyData(0x80), rollingStartIntervalNumber: rsinOf(TODAY - 1) }),
      aStoredKey({ keyData: keyData(0xff), rollingStartIntervalNumber: rsinOf(TODAY - 14) }), // dropped
      aStoredKey({ keyData: keyData(0x7f), rollingStartIntervalNumber: rsinOf(TODAY - 2) }),
      aStoredKey({ keyData: Uint8Array.from([0x01, ...new Array(15).fill(0xff)]), rollingStartIntervalNumber: rsinOf(TODAY - 3) }),
      aStoredKey({ keyData: keyData(0x02), rollingStartIntervalNumber: rsinOf(TODAY - 13) }),
    ];

    // Act
    const selected = selectKeys(keys, NOW);

    // Assess
    expect(selected.map((k) => Buffer.from(k.keyData).toString('hex').slice(0, 4))).toEqual(['01ff', '0202', '7f7f', '8080']);
    expect(keys).toHaveLength(5); // the input is not modified
  });

  test('compareKeyData is unsigned and bytewise', () => {
    // Act / Assess
    expect(compareKeyData({ keyData: keyData(0x7f) }, { keyData: keyData(0x80) })).toBeLessThan(0);
    expect(compareKeyData({ keyData: keyData(0xff) }, { keyData: keyData(0x00) })).toBeGreaterThan(0);
    expect(compareKeyData({ keyData: keyData(0x11) }, { keyData: keyData(0x11) })).toBe(0);
  });
});

describe('cacheControl (deviation 12)', () => {
  test.each([
    ['00000', CACHE_CONTROL_OPEN],
    [String(TODAY), CACHE_CONTROL_OPEN],
    [String(TODAY - 1), CACHE_CONTROL_CLOSED],
    [String(TODAY - 14), CACHE_CONTROL_CLOSED],
  ])('%s → %s', (period, expected) => {
    // Act
    const value = cacheControl(period, NOW);

    // Assess
    expect(value).toBe(expected);
  });

  test('the literal header values', () => {
    // Act / Assess
    expect(CACHE_CONTROL_OPEN).toBe('public, max-age=600');
    expect(CACHE_CONTROL_CLOSED).toBe('public, max-age=3600, max-stale=600');
  });

  test('yesterday\'s bundle closes at midnight', () => {
    // Act
    const before = cacheControl(String(TODAY), utc(2024, 3, 15) - 1);
    const after = cacheControl(String(TODAY), utc(2024, 3, 15));

    // Assess
    expect([before, after]).toEqual([CACHE_CONTROL_OPEN, CACHE_CONTROL_CLOSED]);
  });
});

test('exportObjectKey is exports/{MCC}/{period}.zip', () => {
  // Act / Assess
  expect(exportObjectKey('302', '00000')).toBe('exports/302/00000.zip');
  expect(exportObjectKey('302', String(TODAY))).toBe('exports/302/19796.zip');
});
