/**
 * CSV rendering of report files: RFC 4180 fields (quoted only when they contain a comma, a
 * double quote, CR or LF; quotes doubled), `\n` line ends including after the last row, UTF-8,
 * a header row of bilingual column names. The masked output writes every value below 20 as
 * `<20`; masking is applied to the final (rolled-up) values, the unmasked output is untouched.
 */
import { MASK_TEXT, MASK_THRESHOLD, headerOf, type ReportDefinition } from './report-catalogue';
import type { ReportRow } from './report-rollup';

export const CSV_CONTENT_TYPE = 'text/csv; charset=utf-8';

/** One field, quoted when RFC 4180 requires it. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One record with its line end. */
export const csvLine = (fields: readonly string[]): string => `${fields.map(csvField).join(',')}\n`;

/**
 * Client-supplied text (app versions) that a spreadsheet would run as a formula gets a leading
 * apostrophe (OWASP CSV injection advice); genuine versions never start with these characters.
 */
export const neutraliseFormula = (text: string): string => (/^[=+\-@\t\r]/.test(text) ? `'${text}` : text);

/** A value as written in the masked output. */
export const maskValue = (value: number): string => (value < MASK_THRESHOLD ? MASK_TEXT : String(value));

/** Both outputs of one report file and period. */
export interface RenderedReport {
  readonly unmasked: string;
  readonly masked: string;
  /** Data rows (without the header), the same in both outputs. */
  readonly rows: number;
}

/** Renders rows into the unmasked and masked CSV texts in one pass over the rows. */
export function renderReport(report: ReportDefinition, rows: Iterable<ReportRow>): RenderedReport {
  const header = csvLine(headerOf(report));
  const freeText = report.dimensions.map((d) => d.freeText === true);
  const unmasked: string[] = [header];
  const masked: string[] = [header];
  let count = 0;
  for (const row of rows) {
    const leading = [row.date, ...row.categories.map((c, i) => (freeText[i] ? neutraliseFormula(c) : c))];
    unmasked.push(csvLine([...leading, String(row.value)]));
    masked.push(csvLine([...leading, maskValue(row.value)]));
    count += 1;
  }
  return { unmasked: unmasked.join(''), masked: masked.join(''), rows: count };
}
