/**
 * metrics-report against the shared runtime's DynamoDB Local (aggregate_metrics, GSI
 * IdentifierIndex) and S3 server: aggregate items put directly, the report run at a fixed time,
 * the CSVs read back from S3.
 *
 * Isolation: the reports aggregate every item of the table, so this file owns a date window no
 * other test uses (June–July 2003, bounded by earliestDate) and clears it before it starts; its
 * sparse-file rows carry a distinctive app version. The objects go to a bucket of this run (same
 * object keys as the reports bucket) so that no concurrent report run can overwrite them while
 * they are read back.
 */
import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { DeleteCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient, s3Client } from '../../../lambdas/adapters/aws-clients';
import { DynamoAggregateReader } from '../../../lambdas/adapters/dynamo-aggregate-reader';
import { REPORTS } from '../../../lambdas/domain/metrics/report-catalogue';
import { reportObjectKey, runMetricsReport, type MetricsReportSummary } from '../../../lambdas/domain/metrics/report';
import type { AggregateRow } from '../../../lambdas/domain/metrics/report-ports';
import { buildMetricsReportContext } from '../../../lambdas/shared/report-context';
import { FixedClock } from '../../support/builders/deterministic';
import { runtimeInfo } from '../../support/runtime';

/** Wednesday 2003-07-02: yesterday is Tuesday 2003-07-01; the last complete week ends Sunday 2003-06-29. */
const NOW = Date.parse('2003-07-02T06:00:00Z');
const WINDOW = { from: '2003-06-01', to: '2003-07-31' };
const IDENTIFIERS = ['installed', 'active-user'];
const VERSION = `it${randomUUID().slice(0, 8)}`;

let db: DynamoDBDocumentClient;
let s3: S3Client;
let table: string;
let bucket: string;

interface Seed {
  identifier: string;
  date: string;
  appos: string;
  model: string;
  region?: string;
  metricCount: number;
}

/** An aggregate item as aggregate-metrics writes it (upstream §3 attributes and 17-part sk). */
function aggregateItem(seed: Seed): Record<string, unknown> {
  const region = seed.region ?? 'ON';
  const attributes = {
    region,
    identifier: seed.identifier,
    date: seed.date,
    appos: seed.appos,
    osversion: '30',
    appversion: VERSION,
    manufacturer: 'google',
    model: seed.model,
    androidreleaseversion: '11',
    pushnotification: '',
    frameworkenabled: '',
    state: '',
    hoursSinceExposureDetectedAt: '',
    count: '',
    duration: '',
    withDate: '',
    isUserExposed: '',
  };
  const star = (value: string) => value || '*';
  const sk = [
    region, seed.identifier, seed.date, seed.appos, attributes.osversion, VERSION, star(attributes.manufacturer), star(seed.model),
    star(attributes.androidreleaseversion), '*', '*', '*', '*', '*', '*', '*', '*',
  ].join('#');
  return { pk: region, sk, ...attributes, status: '', version: 6, metricCount: seed.metricCount };
}

const SEEDS: Seed[] = [
  // Thursday 2003-06-26 … Sunday 2003-06-29: 6 android installs a day (two models on the first day)
  { identifier: 'installed', date: '2003-06-26', appos: 'android', model: 'Pixel 4a', metricCount: 4 },
  { identifier: 'installed', date: '2003-06-26', appos: 'android', model: 'Pixel 5', metricCount: 2 },
  { identifier: 'installed', date: '2003-06-27', appos: 'android', model: 'Pixel 5', metricCount: 6 },
  { identifier: 'installed', date: '2003-06-28', appos: 'android', model: 'Pixel 5', metricCount: 6 },
  { identifier: 'installed', date: '2003-06-29', appos: 'android', model: 'Pixel 5', metricCount: 6 },
  { identifier: 'installed', date: '2003-06-27', appos: 'ios', model: 'unavailable', metricCount: 3 },
  { identifier: 'installed', date: '2003-06-30', appos: 'android', model: 'Pixel 5', metricCount: 30 },
  { identifier: 'installed', date: '2003-07-01', appos: 'android', model: 'Pixel 5', metricCount: 2 },
  // today: not complete, never read
  { identifier: 'installed', date: '2003-07-02', appos: 'android', model: 'Pixel 5', metricCount: 500 },
  // active users in QC from Saturday: the series of the active-user files starts 2003-06-28
  { identifier: 'active-user', date: '2003-06-28', appos: 'ios', model: 'unavailable', region: 'QC', metricCount: 25 },
  { identifier: 'active-user', date: '2003-06-29', appos: 'ios', model: 'unavailable', region: 'QC', metricCount: 25 },
];

async function clearWindow(): Promise<void> {
  for (const identifier of IDENTIFIERS) {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await db.send(
        new QueryCommand({
          TableName: table,
          IndexName: 'IdentifierIndex',
          KeyConditionExpression: 'identifier = :id AND #date BETWEEN :from AND :to',
          ExpressionAttributeNames: { '#date': 'date' },
          ExpressionAttributeValues: { ':id': identifier, ':from': WINDOW.from, ':to': WINDOW.to },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      await Promise.all((page.Items ?? []).map((item) => db.send(new DeleteCommand({ TableName: table, Key: { pk: item.pk, sk: item.sk } }))));
      start = page.LastEvaluatedKey;
    } while (start);
  }
}

async function download(key: string): Promise<{ text: string; contentType?: string }> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return { text: await out.Body!.transformToString('utf-8'), contentType: out.ContentType };
}

async function listKeys(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

const rowsOf = (text: string) => text.split('\n').slice(1, -1);
const mine = (text: string) => rowsOf(text).filter((line) => line.includes(`,${VERSION},`));

let summary: MetricsReportSummary;

beforeAll(async () => {
  const info = await runtimeInfo();
  db = documentClient({
    endpoint: info.dynamodb.endpoint,
    region: info.dynamodb.region,
    credentials: { accessKeyId: info.dynamodb.accessKeyId, secretAccessKey: info.dynamodb.secretAccessKey },
  });
  s3 = s3Client({
    endpoint: info.s3.endpoint,
    region: info.s3.region,
    credentials: { accessKeyId: info.s3.accessKeyId, secretAccessKey: info.s3.secretAccessKey },
  });
  table = info.dynamodb.tables.aggregateMetrics;
  bucket = `reports-it-${randomUUID().slice(0, 8)}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await clearWindow();
  await Promise.all(SEEDS.map((seed) => db.send(new PutCommand({ TableName: table, Item: aggregateItem(seed) }))));

  // Page size 2: every identifier is read over several Query pages.
  const context = buildMetricsReportContext({
    db,
    aggregateMetricsTable: table,
    s3,
    reportsBucket: bucket,
    clock: new FixedClock(NOW),
    settings: { earliestDate: WINDOW.from },
    pageSize: 2,
  });
  summary = await runMetricsReport(context);
});

afterAll(async () => {
  await clearWindow();
  db.destroy();
  s3.destroy();
});

describe('metrics-report on DynamoDB Local and the S3 server', () => {
  test('writes every catalogue file under masked/ and unmasked/ with the upstream names, as text/csv', async () => {
    // Prepare
    const expected = REPORTS.flatMap((r) =>
      (['daily', 'weekly', 'monthly'] as const).flatMap((kind) => [reportObjectKey('unmasked', kind, r.name), reportObjectKey('masked', kind, r.name)]),
    );

    // Act
    const [unmasked, masked] = await Promise.all([listKeys('unmasked/'), listKeys('masked/')]);
    const sample = await download('masked/csv/weekly-hebdomadaire/installs_os_av.weekly-hebdomadaire.csv');

    // Assess
    expect([...unmasked, ...masked].sort()).toEqual([...expected].sort());
    expect([...summary.files].sort()).toEqual([...expected].sort());
    expect(unmasked).toContain('unmasked/csv/daily-journalier/installs.daily-journalier.csv');
    expect(masked).toContain('masked/csv/monthly-mensuel/active_users_pt.monthly-mensuel.csv');
    expect(sample.contentType).toBe('text/csv; charset=utf-8');
    expect(summary.itemsRead).toBe(10); // the two identifiers' items up to yesterday
  });

  test('the sparse file lists this run’s app version per period, exact when unmasked and <20 when masked', async () => {
    // Prepare
    const name = 'installs_os_av';

    // Act
    const [daily, weekly, monthly, dailyMasked, weeklyMasked, monthlyMasked] = await Promise.all(
      [
        reportObjectKey('unmasked', 'daily', name),
        reportObjectKey('unmasked', 'weekly', name),
        reportObjectKey('unmasked', 'monthly', name),
        reportObjectKey('masked', 'daily', name),
        reportObjectKey('masked', 'weekly', name),
        reportObjectKey('masked', 'monthly', name),
      ].map(async (key) => (await download(key)).text),
    );

    // Assess
    const v = VERSION;
    expect(daily.split('\n')[0]).toBe('date,os-se,app_version-version_appli,count-nombre');
    expect(mine(daily)).toEqual([
      `2003-06-26,android,${v},6`,
      `2003-06-27,android,${v},6`,
      `2003-06-27,ios,${v},3`,
      `2003-06-28,android,${v},6`,
      `2003-06-29,android,${v},6`,
      `2003-06-30,android,${v},30`,
      `2003-07-01,android,${v},2`,
    ]);
    expect(mine(dailyMasked)).toEqual([
      `2003-06-26,android,${v},<20`,
      `2003-06-27,android,${v},<20`,
      `2003-06-27,ios,${v},<20`,
      `2003-06-28,android,${v},<20`,
      `2003-06-29,android,${v},<20`,
      `2003-06-30,android,${v},30`,
      `2003-07-01,android,${v},<20`,
    ]);
    expect(mine(weekly)).toEqual([`2003-06-29,android,${v},24`, `2003-06-29,ios,${v},3`]);
    expect(mine(weeklyMasked)).toEqual([`2003-06-29,android,${v},24`, `2003-06-29,ios,${v},<20`]);
    expect(mine(monthly)).toEqual([`2003-06-30,android,${v},54`, `2003-06-30,ios,${v},3`]);
    expect(mine(monthlyMasked)).toEqual([`2003-06-30,android,${v},54`, `2003-06-30,ios,${v},<20`]);
  });

  test('dense files: every date of the window and every category, means for active users', async () => {
    // Prepare / Act
    const installs = (await download(reportObjectKey('unmasked', 'daily', 'installs'))).text;
    const installsMasked = (await download(reportObjectKey('masked', 'daily', 'installs'))).text;
    const activePt = (await download(reportObjectKey('unmasked', 'weekly', 'active_users_pt'))).text;
    const activePtMasked = (await download(reportObjectKey('masked', 'daily', 'active_users_pt'))).text;

    // Assess
    expect(installs).toBe('date,count-nombre\n2003-06-26,6\n2003-06-27,9\n2003-06-28,6\n2003-06-29,6\n2003-06-30,30\n2003-07-01,2\n');
    expect(installsMasked).toBe('date,count-nombre\n2003-06-26,<20\n2003-06-27,<20\n2003-06-28,<20\n2003-06-29,<20\n2003-06-30,30\n2003-07-01,<20\n');
    expect(rowsOf(activePt)).toHaveLength(14);
    expect(rowsOf(activePt).filter((line) => !line.endsWith(',0'))).toEqual(['2003-06-29,QC,25']); // (25 + 25) / 2 days
    expect(rowsOf(activePtMasked).filter((line) => !line.endsWith(',<20'))).toEqual(['2003-06-28,QC,25', '2003-06-29,QC,25']);
    expect(rowsOf(activePtMasked)).toHaveLength(4 * 14); // 2003-06-28 … 2003-07-01
  });

  test('files of identifiers without data in the window are the header row only', async () => {
    // Prepare / Act
    const otk = (await download(reportObjectKey('masked', 'daily', 'otk_pt_dp'))).text;

    // Assess
    expect(otk).toBe('date,region,date_provided-date_fournie,count-nombre\n');
  });
});

describe('DynamoAggregateReader on DynamoDB Local', () => {
  test('with Limit 2 it follows the pages of IdentifierIndex and still totals every item of the range', async () => {
    // Prepare
    const reader = new DynamoAggregateReader(db, table, 2);
    const pages: (readonly AggregateRow[])[] = [];

    // Act
    for await (const page of reader.rows('installed', '2003-06-01', '2003-07-01')) pages.push(page);

    // Assess
    const rows = pages.flat();
    expect(pages.length).toBe(4);
    expect(pages.every((p) => p.length <= 2)).toBe(true);
    expect(rows).toHaveLength(8);
    expect(rows.reduce((sum, r) => sum + r.metricCount, 0)).toBe(59);
    expect(rows.map((r) => r.date)).toEqual([...rows.map((r) => r.date)].sort());
    expect(rows.every((r) => r.appversion === VERSION && r.region === 'ON')).toBe(true);
  });

  test('the date range is inclusive at both ends and excludes the rest', async () => {
    // Prepare
    const reader = new DynamoAggregateReader(db, table, 2);
    const dates: string[] = [];

    // Act
    for await (const page of reader.rows('installed', '2003-06-27', '2003-06-29')) dates.push(...page.map((r) => r.date));

    // Assess
    expect(dates.sort()).toEqual(['2003-06-27', '2003-06-27', '2003-06-28', '2003-06-29']);
  });
});
