/**
 * The metrics-report job (nightly ETL, METRICS.md "metrics-report", upstream §4): rewrite every
 * report file of the catalogue, for every complete day, week (ending Sunday) and month from the
 * first date present up to yesterday (UTC), in two outputs of the reports bucket:
 *
 *   unmasked/csv/<period>/<name>.<period>.csv   restricted, exact values
 *   masked/csv/<period>/<name>.<period>.csv     every value < 20 written as `<20`
 *
 * with <period> one of daily-journalier, weekly-hebdomadaire, monthly-mensuel.
 *
 * Streaming: the files are processed one identifier group at a time (reportGroups). A group's
 * identifiers are read page by page (AggregateReader: IdentifierIndex, `date BETWEEN`), each
 * page is folded into the group's per-(file, day, category) accumulators and dropped, then the
 * group's files are rendered and written and its accumulators released. Memory therefore
 * depends on days × categories of one group, never on the number of aggregate items.
 *
 * Series start: each group's files start on the first date present among its identifiers' rows
 * (published files start on different dates); a group without rows still gets its files, with
 * the header row only, so consumers always find every file.
 *
 * Idempotent: object keys derive from the catalogue only and the content from the table and
 * `nowMs`, so a re-run overwrites each file with the same bytes.
 */
import type { BlobStore, Clock } from '../../ports';
import { reportGroups, REPORTS, type ReportDefinition } from './report-catalogue';
import { CSV_CONTENT_TYPE, renderReport } from './report-csv';
import { formatDay, parseDay, PERIOD_FOLDERS, PERIOD_KINDS, yesterday, type Day, type PeriodKind } from './report-periods';
import type { AggregateReader } from './report-ports';
import { GroupAccumulator } from './report-rollup';

export type ReportOutput = 'unmasked' | 'masked';
export const REPORT_OUTPUTS: readonly ReportOutput[] = ['unmasked', 'masked'];

/** `<output>/csv/<period folder>/<name>.<period folder>.csv` (upstream file naming). */
export function reportObjectKey(output: ReportOutput, kind: PeriodKind, name: string): string {
  const folder = PERIOD_FOLDERS[kind];
  return `${output}/csv/${folder}/${name}.${folder}.csv`;
}

export interface MetricsReportSettings {
  /**
   * Rows dated before this `YYYY-MM-DD` are ignored (device clocks put garbage dates into the
   * table, upstream §6). Undefined: every date present is reported.
   */
  readonly earliestDate?: string;
  /** The files to write (default: the whole catalogue); tests narrow it. */
  readonly reports?: readonly ReportDefinition[];
}

export interface MetricsReportDeps {
  readonly reader: AggregateReader;
  readonly blobs: BlobStore;
  /** Used when no explicit time is given. */
  readonly clock?: Clock;
  readonly settings?: MetricsReportSettings;
}

export interface MetricsReportSummary {
  /** Object keys written, in write order. */
  readonly files: string[];
  /** Data rows written, over all files (masked and unmasked). */
  readonly rows: number;
  /** Aggregate rows read. */
  readonly itemsRead: number;
  /** Aggregate rows ignored (invalid or out-of-window date, bad metricCount). */
  readonly itemsSkipped: number;
}

export class MetricsReportSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetricsReportSettingsError';
  }
}

const utf8 = new TextEncoder();

/** Lower bound of the read range when no earliest date is set (sorts before every date). */
const FIRST_DATE = '0000-01-01';

export async function runMetricsReport(deps: MetricsReportDeps, nowMs: number = requireClock(deps).nowMs()): Promise<MetricsReportSummary> {
  const last = yesterday(nowMs);
  const earliest = earliestDay(deps.settings?.earliestDate);
  const from = earliest === undefined ? FIRST_DATE : formatDay(earliest);
  const to = formatDay(last);

  const files: string[] = [];
  let rows = 0;
  let itemsRead = 0;
  let itemsSkipped = 0;
  for (const group of reportGroups(deps.settings?.reports ?? REPORTS)) {
    const accumulator = new GroupAccumulator(group.reports, { earliest, last });
    for (const identifier of group.identifiers) {
      for await (const page of deps.reader.rows(identifier, from, to)) accumulator.fold(page);
    }
    itemsRead += accumulator.counts.read;
    itemsSkipped += accumulator.counts.skipped;
    for (const report of accumulator.reports) {
      const writes = PERIOD_KINDS.flatMap((kind) => {
        const rendered = renderReport(report.report, report.rows(kind, accumulator.seriesStart, last));
        rows += rendered.rows * REPORT_OUTPUTS.length;
        return REPORT_OUTPUTS.map((output) => ({ key: reportObjectKey(output, kind, report.report.name), text: rendered[output] }));
      });
      // The six objects of one file are written together; the next file waits for them.
      await Promise.all(writes.map((w) => deps.blobs.put(w.key, utf8.encode(w.text), { contentType: CSV_CONTENT_TYPE })));
      files.push(...writes.map((w) => w.key));
    }
  }
  return { files, rows, itemsRead, itemsSkipped };
}

function earliestDay(text: string | undefined): Day | undefined {
  if (text === undefined) return undefined;
  const day = parseDay(text);
  if (day === undefined) throw new MetricsReportSettingsError(`earliestDate must be a YYYY-MM-DD date, got "${text}"`);
  return day;
}

function requireClock(deps: MetricsReportDeps): Clock {
  if (!deps.clock) throw new Error('runMetricsReport: pass nowMs or a clock');
  return deps.clock;
}
