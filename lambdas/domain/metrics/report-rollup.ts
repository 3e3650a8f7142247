/**
 * Folding aggregate rows into report values, and rolling daily values up to periods.
 *
 * Memory: a report keeps one number per (day, category) it has seen: its daily value, the sum of
 * `metricCount` over the matching rows of that UTC date. Rows are folded page by page and never
 * kept, so the state grows with days × categories, never with the number of aggregate items.
 * Weekly and monthly values derive from the daily ones when the file is rendered.
 */
import { isDense, type Dimension, type ReportDefinition } from './report-catalogue';
import { completePeriods, formatDay, parseDay, type Day, type PeriodKind } from './report-periods';
import type { AggregateRow } from './report-ports';

/** One output row before masking: the period's date, its categories and its value. */
export interface ReportRow {
  readonly date: string;
  readonly categories: readonly string[];
  readonly value: number;
}

const SEPARATOR = '\u001f';
const keyOf = (categories: readonly string[]): string => categories.join(SEPARATOR);
const categoriesOf = (key: string, arity: number): string[] => (arity === 0 ? [] : key.split(SEPARATOR));

/** Every combination of the dimensions' vocabularies, in output order (dense files). */
function allCategories(dimensions: readonly Dimension[]): string[][] {
  return dimensions.reduce<string[][]>(
    (combos, dimension) => combos.flatMap((combo) => (dimension.vocabulary ?? []).map((value) => [...combo, value])),
    [[]],
  );
}

/** Output order of category tuples: by each dimension in turn (vocabulary order or its compare). */
function categoryOrder(dimensions: readonly Dimension[]): (a: readonly string[], b: readonly string[]) => number {
  const ranks = dimensions.map((d) => (d.vocabulary ? new Map(d.vocabulary.map((v, i) => [v, i])) : undefined));
  return (a, b) => {
    for (let i = 0; i < dimensions.length; i += 1) {
      const rank = ranks[i];
      const order = rank
        ? (rank.get(a[i]) ?? Number.MAX_SAFE_INTEGER) - (rank.get(b[i]) ?? Number.MAX_SAFE_INTEGER)
        : (dimensions[i].compare ?? ((x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0)))(a[i], b[i]);
      if (order !== 0) return order;
    }
    return 0;
  };
}

/** The daily values of one report file. */
export class ReportAccumulator {
  private readonly days = new Map<Day, Map<string, number>>();
  private cellCount = 0;

  constructor(readonly report: ReportDefinition) {}

  /** Adds a row dated `day`; false when the row has no category in one of the dimensions. */
  add(day: Day, row: AggregateRow, metricCount: number): boolean {
    const categories: string[] = [];
    for (const dimension of this.report.dimensions) {
      const category = dimension.categorize(row);
      if (category === undefined) return false;
      categories.push(category);
    }
    const key = keyOf(categories);
    let cells = this.days.get(day);
    if (!cells) {
      cells = new Map();
      this.days.set(day, cells);
    }
    const before = cells.get(key);
    if (before === undefined) this.cellCount += 1;
    cells.set(key, (before ?? 0) + metricCount);
    return true;
  }

  /** Number of (day, category) values held: the accumulator's size. */
  get cells(): number {
    return this.cellCount;
  }

  /**
   * The rows of the file for the complete periods of `kind` of a series starting on
   * `seriesStart` (undefined: no data, no rows) up to `lastDay`, in date then category order.
   * Sums for `sum` files; for `mean` files the sum divided by the days of the period within the
   * series, truncated (a day without rows counts as 0).
   */
  *rows(kind: PeriodKind, seriesStart: Day | undefined, lastDay: Day): Generator<ReportRow> {
    if (seriesStart === undefined) return;
    const dimensions = this.report.dimensions;
    const dense = isDense(this.report) ? allCategories(dimensions) : undefined;
    const order = categoryOrder(dimensions);
    for (const period of completePeriods(kind, seriesStart, lastDay)) {
      const totals = new Map<string, number>();
      for (let day = period.first; day <= period.end; day += 1) {
        for (const [key, value] of this.days.get(day) ?? []) totals.set(key, (totals.get(key) ?? 0) + value);
      }
      const categories = dense ?? [...totals.keys()].map((key) => categoriesOf(key, dimensions.length)).sort(order);
      const date = formatDay(period.end);
      for (const tuple of categories) {
        const total = totals.get(keyOf(tuple)) ?? 0;
        const value = this.report.rollUp === 'mean' ? Math.floor(total / period.days) : total;
        yield { date, categories: tuple, value };
      }
    }
  }
}

/** Counts of a fold, for the job summary. */
export interface FoldCounts {
  /** Rows read. */
  read: number;
  /** Rows ignored: date not a valid `YYYY-MM-DD`, outside the run, or a bad metricCount. */
  skipped: number;
}

/**
 * The reports of one identifier group: their accumulators and the group's series start (the
 * first valid date among the group's rows), shared by all of its files.
 */
export class GroupAccumulator {
  readonly reports: readonly ReportAccumulator[];
  private first: Day | undefined;
  readonly counts: FoldCounts = { read: 0, skipped: 0 };

  constructor(
    reports: readonly ReportDefinition[],
    /** Rows dated outside [earliest, last] are ignored. */
    private readonly window: { readonly earliest?: Day; readonly last: Day },
  ) {
    this.reports = reports.map((r) => new ReportAccumulator(r));
  }

  fold(page: readonly AggregateRow[]): void {
    for (const row of page) {
      this.counts.read += 1;
      const day = parseDay(row.date);
      const metricCount = row.metricCount;
      const inWindow = day !== undefined && day <= this.window.last && (this.window.earliest === undefined || day >= this.window.earliest);
      if (!inWindow || !Number.isFinite(metricCount) || metricCount < 0) {
        this.counts.skipped += 1;
        continue;
      }
      if (this.first === undefined || day < this.first) this.first = day;
      for (const report of this.reports) report.add(day, row, metricCount);
    }
  }

  /** The first day of the group's series; undefined when no row was folded. */
  get seriesStart(): Day | undefined {
    return this.first;
  }
}
