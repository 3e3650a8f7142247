/**
 * Value bucketing (reference §3 step 2, with METRICS.md's check-count fix): every boundary.
 */
import {
  bucketCheckCount,
  bucketDuration,
  CHECK_COUNT_BUCKETS,
  DURATION_BUCKETS,
  isCountableTimestamp,
  utcDate,
} from '../../../lambdas/domain/metrics/bucketing';

describe('check-count buckets match their labels (the METRICS.md fix)', () => {
  test.each([
    [0, '0'],
    ['0', '0'],
    [1, '1-6'],
    ['1', '1-6'],
    [5, '1-6'],
    [6, '1-6'], // upstream: 7-12
    [7, '7-12'],
    [11, '7-12'],
    [12, '7-12'], // upstream: 13-30
    [13, '13-30'],
    [29, '13-30'],
    [30, '13-30'], // upstream: 30+
    [31, '30+'],
    ['144', '30+'],
    ['14.9', '13-30'], // parseInt, as upstream
  ])('count %p → %p', (value, bucket) => {
    // Act
    const result = bucketCheckCount(value);

    // Assess
    expect(result).toBe(bucket);
  });

  test.each([
    ['many', 'many'],
    ['', ''],
    [true, true],
    ['-1', '-1'],
  ])('a value that is not a non-negative number (%p) is kept as sent', (value, kept) => {
    // Act
    const result = bucketCheckCount(value);

    // Assess
    expect(result).toBe(kept);
  });

  test('absent stays absent, and every label is in the published vocabulary', () => {
    // Act
    const labels = [0, 1, 7, 13, 31].map((n) => bucketCheckCount(n));

    // Assess
    expect(bucketCheckCount(undefined)).toBeUndefined();
    expect(labels).toEqual([...CHECK_COUNT_BUCKETS]);
  });
});

describe('duration buckets (durationInSeconds, upstream cut-offs)', () => {
  test.each([
    [0, '0'],
    ['0', '0'],
    [0.5, '< 30'],
    [-3, '< 30'],
    [29.99, '< 30'],
    [30, '30 - 59'],
    [59.9, '30 - 59'],
    [60, '1:00 min - 1:59 min'],
    [119, '1:00 min - 1:59 min'],
    [120, '2:00 min - 3:59 min'],
    [239, '2:00 min - 3:59 min'],
    [240, '4:00 min - 5:59 min'],
    [359, '4:00 min - 5:59 min'],
    [360, '6:00 min - 7:59 min'],
    [479, '6:00 min - 7:59 min'],
    [480, '8:00 min - 9:59 min'],
    [600, '8:00 min - 9:59 min'],
    [600.01, '> 10:00 min'],
    ['3600', '> 10:00 min'],
  ])('%p s → %p', (value, bucket) => {
    // Act
    const result = bucketDuration(value);

    // Assess
    expect(result).toBe(bucket);
    expect(DURATION_BUCKETS).toContain(result);
  });

  test('absent stays absent; a value that does not parse is kept', () => {
    // Act / Assess
    expect(bucketDuration(undefined)).toBeUndefined();
    expect(bucketDuration('slow')).toBe('slow');
  });
});

describe('utcDate', () => {
  test.each([
    [Date.UTC(2022, 3, 15, 0, 0, 0), '2022-04-15'],
    [Date.UTC(2022, 3, 15, 23, 59, 59, 999), '2022-04-15'],
    [Date.UTC(2022, 3, 16, 0, 0, 0), '2022-04-16'],
    [0, '1970-01-01'],
    [Date.UTC(9999, 11, 31, 23, 59, 59, 999), '9999-12-31'],
  ])('%p → %p (UTC, whatever the process time zone)', (ms, date) => {
    // Act / Assess
    expect(utcDate(ms)).toBe(date);
  });

  test.each([-1, Date.UTC(10000, 0, 1), Number.NaN, Number.POSITIVE_INFINITY])('%p is not countable', (ms) => {
    // Act / Assess
    expect(isCountableTimestamp(ms)).toBe(false);
    expect(() => utcDate(ms)).toThrow(RangeError);
  });
});
