/**
 * Export bundles: which periods are served, the submission window and export timestamps of each,
 * which keys go in, and how long a bundle may be cached. The rules of upstream `/retrieve`
 * (reference/upstream-server.md §6) with deviation 12 (today's bundle cached like `00000`).
 * Pure: every function takes `nowMs` and nothing else from the outside world.
 *
 * A period is a 5-digit string: a UTC date number D (`19500`), or `00000`, the bundle of the whole
 * served window. With today = dayNumber(now):
 *   `00000`            submission hours [(today−15)·24, today·24): the 15 days today−15 … today−1
 *   D, today−14 ≤ D ≤ today   hours [D·24, D·24 + 24)
 *   D > today          404 `cannot request future data\n`
 *   D < today−14       410 `requested data no longer valid\n`
 * Keys are kept when rollingStartIntervalNumber > today·144 − 14·144 (strict, relative to now, so
 * older bundles shrink but never grow), ordered by key data bytewise ascending.
 */
import type { StoredKey } from '../ports';
import { INTERVALS_PER_DAY, SECONDS_PER_DAY, dayNumber } from './time';

/** The period of the bundle of the whole served window (upstream `enableEntirePeriodBundle`). */
export const ENTIRE_PERIOD = '00000';
/** Day bundles are served for D in [today − SERVED_DAYS_BACK, today]. */
export const SERVED_DAYS_BACK = 14;
/** `00000` covers the submissions of this many whole days before today. */
export const ENTIRE_PERIOD_DAYS = 15;
/** Keys whose interval started this many days (or more) before today's midnight are not exported. */
export const KEY_MAX_AGE_DAYS = 14;

/** Today's bundle and `00000` change every run (deviation 12). */
export const CACHE_CONTROL_OPEN = 'public, max-age=600';
/** A closed day only shrinks as its keys age out (upstream's header). */
export const CACHE_CONTROL_CLOSED = 'public, max-age=3600, max-stale=600';

export const REFUSAL_FUTURE = 'cannot request future data\n';
export const REFUSAL_TOO_OLD = 'requested data no longer valid\n';
export const REFUSAL_NOT_FOUND = '404 page not found\n';

export interface BundleWindow {
  readonly period: string;
  /** Submission hours [startHour, endHour), hour numbers; always whole UTC days. */
  readonly startHour: number;
  readonly endHour: number;
  /** TemporaryExposureKeyExport.start_timestamp / end_timestamp, epoch seconds. */
  readonly startTimestamp: number;
  readonly endTimestamp: number;
}

export type PeriodLookup =
  | { readonly kind: 'window'; readonly window: BundleWindow }
  | { readonly kind: 'refused'; readonly status: 404 | 410; readonly body: string };

/** The 5-digit period string of a date number. */
export function periodOfDay(day: number): string {
  return String(day).padStart(5, '0');
}

/** Every period a run of build-exports writes: `00000`, then today−14 … today. */
export function servedPeriods(nowMs: number): string[] {
  const today = dayNumber(nowMs);
  const days = Array.from({ length: SERVED_DAYS_BACK + 1 }, (_, i) => periodOfDay(today - SERVED_DAYS_BACK + i));
  return [ENTIRE_PERIOD, ...days];
}

const dayWindow = (period: string, firstDay: number, endDay: number): BundleWindow => ({
  period,
  startHour: firstDay * 24,
  endHour: endDay * 24,
  startTimestamp: firstDay * SECONDS_PER_DAY,
  endTimestamp: endDay * SECONDS_PER_DAY,
});

/** The window of a period, or the upstream refusal for a period that is not served. */
export function periodWindow(period: string, nowMs: number): PeriodLookup {
  if (!/^[0-9]{5}$/.test(period)) return { kind: 'refused', status: 404, body: REFUSAL_NOT_FOUND };
  const today = dayNumber(nowMs);
  if (period === ENTIRE_PERIOD) {
    return { kind: 'window', window: dayWindow(period, today - ENTIRE_PERIOD_DAYS, today) };
  }
  const day = Number(period);
  if (day > today) return { kind: 'refused', status: 404, body: REFUSAL_FUTURE };
  if (day < today - SERVED_DAYS_BACK) return { kind: 'refused', status: 410, body: REFUSAL_TOO_OLD };
  return { kind: 'window', window: dayWindow(period, day, day + 1) };
}

/** The UTC date numbers whose submissions a window covers, ascending. */
export function daysOfWindow(window: BundleWindow): number[] {
  const first = Math.floor(window.startHour / 24);
  const end = Math.ceil(window.endHour / 24);
  return Array.from({ length: Math.max(0, end - first) }, (_, i) => first + i);
}

/** Keys with a rolling start interval number above this are exported (strict comparison). */
export function minExportedRsinExclusive(nowMs: number): number {
  return (dayNumber(nowMs) - KEY_MAX_AGE_DAYS) * INTERVALS_PER_DAY;
}

/** Whether a key is still exported now (the RSIN filter alone; the window is the reader's). */
export function isExportedKey(key: Pick<StoredKey, 'rollingStartIntervalNumber'>, nowMs: number): boolean {
  return key.rollingStartIntervalNumber > minExportedRsinExclusive(nowMs);
}

/**
 * Bytewise (unsigned) comparison of key data, shorter first on a common prefix. A plain loop:
 * random keys differ in the first byte, and Buffer.compare's native call costs ~20× more per
 * comparison (sorting 750 000 keys: seconds instead of well under one).
 */
export function compareKeyData(a: Pick<StoredKey, 'keyData'>, b: Pick<StoredKey, 'keyData'>): number {
  const x = a.keyData;
  const y = b.keyData;
  const common = Math.min(x.length, y.length);
  for (let i = 0; i < common; i += 1) {
    const difference = x[i] - y[i];
    if (difference !== 0) return difference;
  }
  return x.length - y.length;
}

/** The keys of a bundle: those still exported, in key-data order (a new array). */
export function selectKeys<K extends StoredKey>(keys: Iterable<K>, nowMs: number): K[] {
  const threshold = minExportedRsinExclusive(nowMs);
  const kept: K[] = [];
  for (const key of keys) if (key.rollingStartIntervalNumber > threshold) kept.push(key);
  return kept.sort(compareKeyData);
}

/** Cache-Control of a bundle: today's and `00000` change every run, closed days rarely. */
export function cacheControl(period: string, nowMs: number): string {
  if (period === ENTIRE_PERIOD || Number(period) >= dayNumber(nowMs)) return CACHE_CONTROL_OPEN;
  return CACHE_CONTROL_CLOSED;
}

/** S3 object key of a bundle; `region` is the MCC (e.g. 302), as in the /retrieve URL. */
export function exportObjectKey(region: string, period: string): string {
  return `exports/${region}/${period}.zip`;
}
