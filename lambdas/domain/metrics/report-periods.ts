/**
 * Report periods (upstream §4): UTC days; weeks ending Sunday, dated by the Sunday; months dated
 * by their last day. Only complete periods are reported: a period is written once its last day is
 * at most yesterday (UTC). The first period of a series may be partial (the series starts within
 * it) and is included, as in the published files.
 *
 * Days are whole numbers of days since 1970-01-01 (UTC), so period arithmetic never touches a
 * time zone.
 */

export const DAY_MS = 86_400_000;

/** Days since 1970-01-01 UTC. */
export type Day = number;

export type PeriodKind = 'daily' | 'weekly' | 'monthly';

/** Output folder of each period kind (also the file name suffix: `<name>.<folder>.csv`). */
export const PERIOD_FOLDERS: Readonly<Record<PeriodKind, string>> = {
  daily: 'daily-journalier',
  weekly: 'weekly-hebdomadaire',
  monthly: 'monthly-mensuel',
};

export const PERIOD_KINDS: readonly PeriodKind[] = ['daily', 'weekly', 'monthly'];

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The day of a strict `YYYY-MM-DD` calendar date, or undefined (wrong shape, 2021-02-30 …). */
export function parseDay(text: string): Day | undefined {
  const match = DATE.exec(text);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const ms = Date.UTC(year, month - 1, day);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== year || back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day) return undefined;
  return ms / DAY_MS;
}

/** `YYYY-MM-DD` of a day. */
export function formatDay(day: Day): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** The UTC day containing `ms`. */
export const utcDay = (ms: number): Day => Math.floor(ms / DAY_MS);

/** The last day a run may report: the UTC day before `nowMs` (the current day is never complete). */
export const yesterday = (nowMs: number): Day => utcDay(nowMs) - 1;

/** 0 = Sunday … 6 = Saturday (1970-01-01 was a Thursday). */
export const weekday = (day: Day): number => (((day + 4) % 7) + 7) % 7;

/** The Sunday that ends the week of `day` (the day itself on a Sunday). */
export const weekEnding = (day: Day): Day => day + ((7 - weekday(day)) % 7);

/** The last day of the month of `day`. */
export function monthEnding(day: Day): Day {
  const date = new Date(day * DAY_MS);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0) / DAY_MS;
}

function monthStart(day: Day): Day {
  const date = new Date(day * DAY_MS);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1) / DAY_MS;
}

/** The last day of the period of `kind` containing `day`: the date a period is reported under. */
export function periodEnding(kind: PeriodKind, day: Day): Day {
  switch (kind) {
    case 'daily':
      return day;
    case 'weekly':
      return weekEnding(day);
    case 'monthly':
      return monthEnding(day);
  }
}

function periodStart(kind: PeriodKind, end: Day): Day {
  switch (kind) {
    case 'daily':
      return end;
    case 'weekly':
      return end - 6;
    case 'monthly':
      return monthStart(end);
  }
}

/** One reported period of a series. */
export interface Period {
  /** The date the period is reported under (its last day). */
  readonly end: Day;
  /** Its first day within the series (later than the period's start for a partial first period). */
  readonly first: Day;
  /** Days of the period within the series (`end − first + 1`): the divisor of a mean. */
  readonly days: number;
}

/**
 * The complete periods of a series that starts on `seriesStart`, in date order: every period
 * whose last day is ≤ `lastDay` (yesterday). Empty when the series starts after `lastDay`.
 */
export function completePeriods(kind: PeriodKind, seriesStart: Day, lastDay: Day): Period[] {
  const periods: Period[] = [];
  for (let end = periodEnding(kind, seriesStart); end <= lastDay; end = periodEnding(kind, end + 1)) {
    const first = Math.max(seriesStart, periodStart(kind, end));
    periods.push({ end, first, days: end - first + 1 });
  }
  return periods;
}
