/**
 * Test data and in-memory stand-ins for metrics-report: an aggregate row builder, a paging
 * AggregateReader over an array and a BlobStore that keeps objects in a Map. Shared by the unit,
 * contract and integration tests of the reports.
 */
import { REPORTS, type ReportDefinition } from '../../../lambdas/domain/metrics/report-catalogue';
import type { AggregateReader, AggregateRow } from '../../../lambdas/domain/metrics/report-ports';
import type { BlobStore } from '../../../lambdas/ports';

export function row(overrides: Partial<AggregateRow> = {}): AggregateRow {
  return {
    identifier: 'active-user',
    date: '2021-03-01',
    region: 'ON',
    appos: 'ios',
    appversion: '1.5.4',
    count: '',
    pushnotification: '',
    frameworkenabled: '',
    withDate: '',
    isUserExposed: '',
    metricCount: 1,
    ...overrides,
  };
}

/** One row per date in [first, last] (inclusive, `YYYY-MM-DD`), built by `make`. */
export function daily(first: string, last: string, make: (date: string, index: number) => Partial<AggregateRow>): AggregateRow[] {
  const rows: AggregateRow[] = [];
  for (let ms = Date.parse(`${first}T00:00:00Z`), i = 0; ms <= Date.parse(`${last}T00:00:00Z`); ms += 86_400_000, i += 1) {
    const date = new Date(ms).toISOString().slice(0, 10);
    rows.push(row({ date, ...make(date, i) }));
  }
  return rows;
}

export interface ReaderCall {
  readonly identifier: string;
  readonly from: string;
  readonly to: string;
}

/** Pages through `rows` like the IdentifierIndex: one identifier, `from ≤ date ≤ to`, by date. */
export class InMemoryAggregateReader implements AggregateReader {
  readonly calls: ReaderCall[] = [];
  pagesYielded = 0;

  constructor(
    private readonly data: readonly AggregateRow[],
    private readonly pageSize = 3,
  ) {}

  async *rows(identifier: string, from: string, to: string): AsyncIterable<readonly AggregateRow[]> {
    this.calls.push({ identifier, from, to });
    const matching = this.data
      .filter((r) => r.identifier === identifier && r.date >= from && r.date <= to)
      .sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
    for (let i = 0; i < matching.length; i += this.pageSize) {
      this.pagesYielded += 1;
      yield matching.slice(i, i + this.pageSize);
    }
  }
}

export interface StoredBlob {
  readonly body: Uint8Array;
  readonly contentType: string;
  readonly cacheControl?: string;
}

export class MemoryBlobStore implements BlobStore {
  readonly objects = new Map<string, StoredBlob>();
  readonly putOrder: string[] = [];

  async put(key: string, body: Uint8Array, meta: { readonly contentType: string; readonly cacheControl?: string }): Promise<void> {
    this.objects.set(key, { body, ...meta });
    this.putOrder.push(key);
  }

  text(key: string): string {
    const blob = this.objects.get(key);
    if (!blob) throw new Error(`no object ${key}; have ${[...this.objects.keys()].slice(0, 5).join(', ')} …`);
    return new TextDecoder().decode(blob.body);
  }
}

export function reportNamed(name: string): ReportDefinition {
  const report = REPORTS.find((r) => r.name === name);
  if (!report) throw new Error(`no report ${name}`);
  return report;
}

/** Epoch ms of an ISO instant. */
export const at = (iso: string): number => Date.parse(iso);

/** CSV text → lines without the trailing empty one. */
export const lines = (csv: string): string[] => csv.split('\n').slice(0, -1);
