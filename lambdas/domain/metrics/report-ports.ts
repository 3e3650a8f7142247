/**
 * The port metrics-report reads aggregates through (the aggregate_metrics table, GSI
 * IdentifierIndex in AWS and offline). Only the attributes the report catalogue needs cross it;
 * the adapter is lambdas/adapters/dynamo-aggregate-reader.ts.
 */

/** One aggregate counter as the reports see it (upstream §3 attributes, missing values `''`). */
export interface AggregateRow {
  readonly identifier: string;
  /** UTC date `YYYY-MM-DD` of the events counted (item timestamp); validated by the report. */
  readonly date: string;
  /** Province/territory code or `None`. */
  readonly region: string;
  readonly appos: string;
  readonly appversion: string;
  /** Background-check count bucket label (`0`, `1-6`, `7-12`, `13-30`, `30+`). */
  readonly count: string;
  readonly pushnotification: string;
  readonly frameworkenabled: string;
  readonly withDate: string;
  readonly isUserExposed: string;
  /** Events counted under this key. */
  readonly metricCount: number;
}

/** Reads aggregate counters one identifier and date range at a time. */
export interface AggregateReader {
  /**
   * Every row of `identifier` with `from ≤ date ≤ to` (strings `YYYY-MM-DD`), one page at a time
   * in ascending date order, so a caller never holds more than the page it is folding.
   */
  rows(identifier: string, from: string, to: string): AsyncIterable<readonly AggregateRow[]>;
}
