/**
 * Value bucketing of aggregate-metrics (reference/metrics-upstream.md §3 step 2), so that the
 * aggregate keys and the CSV reports keep the published vocabulary. Pure.
 *
 * One deliberate fix (spec/METRICS.md): upstream cut the check counts at 6/12/30 although the
 * labels say 1–6, 7–12, 13–30; here the buckets match their labels.
 */

/** A per-event or device value as the envelope allows it (clients send strings). */
export type MetricValue = string | number | boolean;

export const CHECK_COUNT_BUCKETS = ['0', '1-6', '7-12', '13-30', '30+'] as const;
export type CheckCountBucket = (typeof CHECK_COUNT_BUCKETS)[number];

export const DURATION_BUCKETS = [
  '0',
  '< 30',
  '30 - 59',
  '1:00 min - 1:59 min',
  '2:00 min - 3:59 min',
  '4:00 min - 5:59 min',
  '6:00 min - 7:59 min',
  '8:00 min - 9:59 min',
  '> 10:00 min',
] as const;
export type DurationBucket = (typeof DURATION_BUCKETS)[number];

/**
 * `count` of background-check (checks recorded that day): 0 → `0`, 1–6 → `1-6`, 7–12 → `7-12`,
 * 13–30 → `13-30`, ≥ 31 → `30+`. Parsed like upstream (`parseInt`, so `"14"` and `"14.9"` are
 * 14); a value that does not parse, or a negative one, is returned as sent; absent stays absent.
 */
export function bucketCheckCount(value: MetricValue | undefined): MetricValue | undefined {
  if (value === undefined) return undefined;
  const n = Number.parseInt(String(value), 10);
  if (Number.isNaN(n) || n < 0) return value;
  if (n === 0) return '0';
  if (n <= 6) return '1-6';
  if (n <= 12) return '7-12';
  if (n <= 30) return '13-30';
  return '30+';
}

/**
 * `durationInSeconds` of background-process, as upstream: parsed with `parseFloat`; 0 → `0`,
 * below 30 (negative included) → `< 30`, then minute ranges up to 600 s inclusive, above →
 * `> 10:00 min`. A value that does not parse is returned as sent; absent stays absent.
 */
export function bucketDuration(value: MetricValue | undefined): MetricValue | undefined {
  if (value === undefined) return undefined;
  const seconds = Number.parseFloat(String(value));
  if (Number.isNaN(seconds)) return value;
  if (seconds === 0) return '0';
  if (seconds < 30) return '< 30';
  if (seconds < 60) return '30 - 59';
  if (seconds < 120) return '1:00 min - 1:59 min';
  if (seconds < 240) return '2:00 min - 3:59 min';
  if (seconds < 360) return '4:00 min - 5:59 min';
  if (seconds < 480) return '6:00 min - 7:59 min';
  if (seconds <= 600) return '8:00 min - 9:59 min';
  return '> 10:00 min';
}

/** Items dated outside 1970-01-01 … 9999-12-31 (UTC) are not counted (garbage device clocks). */
export const MIN_TIMESTAMP_MS = 0;
export const MAX_TIMESTAMP_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export const isCountableTimestamp = (timestampMs: number): boolean =>
  Number.isFinite(timestampMs) && timestampMs >= MIN_TIMESTAMP_MS && timestampMs <= MAX_TIMESTAMP_MS;

/** UTC calendar date `YYYY-MM-DD` of an epoch-milliseconds timestamp (the item's `timestamp`). */
export function utcDate(timestampMs: number): string {
  if (!isCountableTimestamp(timestampMs)) throw new RangeError('timestamp outside 1970-01-01 … 9999-12-31');
  return new Date(timestampMs).toISOString().slice(0, 10);
}
