/**
 * Golden report files: a fixed set of aggregates (aggregates.ts) run through runMetricsReport at
 * a fixed time must produce, byte for byte, the CSV files committed under fixtures/ (same paths
 * as the object keys), and the header of every file in the catalogue (fixtures/headers.txt).
 *
 * Rewrite after a reviewed format change:  UPDATE_GOLDEN=1 npx jest --selectProjects contract
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPORTS } from '../../../lambdas/domain/metrics/report-catalogue';
import { REPORT_OUTPUTS, reportObjectKey, runMetricsReport, type MetricsReportSummary } from '../../../lambdas/domain/metrics/report';
import { PERIOD_KINDS } from '../../../lambdas/domain/metrics/report-periods';
import { InMemoryAggregateReader, MemoryBlobStore } from '../../unit/reports/builders';
import { GOLDEN_FILES, GOLDEN_NOW, goldenAggregates } from './aggregates';

const FIXTURES = path.join(__dirname, 'fixtures');

/** The committed golden text at `relative`; with UPDATE_GOLDEN=1 first (re)writes it from `actual`. */
function golden(relative: string, actual: Uint8Array | string): Buffer {
  const file = path.join(FIXTURES, relative);
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, actual);
  }
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`golden fixture ${relative} is missing; create it with UPDATE_GOLDEN=1 npx jest --selectProjects contract`, { cause: err });
  }
}

const blobs = new MemoryBlobStore();
let summary: MetricsReportSummary;

beforeAll(async () => {
  summary = await runMetricsReport({ reader: new InMemoryAggregateReader(goldenAggregates(), 4), blobs }, GOLDEN_NOW);
});

const cases = GOLDEN_FILES.flatMap((name) => PERIOD_KINDS.flatMap((kind) => REPORT_OUTPUTS.map((output) => reportObjectKey(output, kind, name))));

describe('golden report files', () => {
  test.each(cases)('%s matches its golden file byte for byte', (key) => {
    // Prepare
    const actual = blobs.objects.get(key);

    // Act
    const expected = golden(key, actual?.body ?? new Uint8Array());

    // Assess
    expect(actual).toBeDefined();
    expect(Buffer.from(actual!.body).toString('utf8')).toBe(expected.toString('utf8'));
    expect(Buffer.from(actual!.body).equals(expected)).toBe(true);
    expect(actual!.contentType).toBe('text/csv; charset=utf-8');
  });

  test('the header row of every file of the catalogue', () => {
    // Prepare
    const headers = REPORTS.map((r) => `${r.name}: ${blobs.text(reportObjectKey('unmasked', 'daily', r.name)).split('\n')[0]}`).join('\n') + '\n';

    // Act
    const expected = golden('headers.txt', headers);

    // Assess
    expect(headers).toBe(expected.toString('utf8'));
  });

  test('every file of a period has the same header in all periods and outputs, and the run skipped the bad rows', () => {
    // Prepare
    const firstLines = REPORTS.map((r) =>
      new Set(PERIOD_KINDS.flatMap((kind) => REPORT_OUTPUTS.map((output) => blobs.text(reportObjectKey(output, kind, r.name)).split('\n')[0]))).size,
    );

    // Act / Assess
    expect(firstLines.every((n) => n === 1)).toBe(true);
    expect(summary.itemsSkipped).toBe(1); // 2021-02-30; the rows of today are outside the query range
    expect(summary.files).toHaveLength(REPORTS.length * 6);
  });
});
