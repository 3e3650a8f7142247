/**
 * The metrics pipeline over HTTP on a runtime of its own (the reports read the whole aggregate
 * table): POST /save-metrics → drain the raw_metrics stream → re-send and re-deliver → nightly
 * report → read the CSV from the local S3 server.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { s3Client } from '../../lambdas/adapters/aws-clients';
import { freePort } from '../../local/ports';
import { startLocalProcess, TEST_ENV, type LocalProcess } from '../support/local-process';
import { fetchInfo, getJson } from '../support/runtime';

let runtime: LocalProcess;
let s3: S3Client;
let reportsBucket: string;

beforeAll(async () => {
  runtime = await startLocalProcess({ name: 'metrics-e2e', port: await freePort() });
  const info = await fetchInfo(runtime.url);
  s3 = s3Client({ endpoint: info.s3.endpoint, region: info.s3.region, credentials: { accessKeyId: info.s3.accessKeyId, secretAccessKey: info.s3.secretAccessKey } });
  reportsBucket = info.s3.buckets.reports;
});

afterAll(async () => {
  s3?.destroy();
  await runtime?.stop();
});

const DAY_MS = 86_400_000;
const yesterdayNoon = Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS / 2;
const yesterday = new Date(yesterdayNoon).toISOString().slice(0, 10);

const envelope = (metricstimestamp: number) => ({
  metricstimestamp,
  appversion: '1.9.0',
  appos: 'android',
  osversion: '30',
  manufacturer: 'Google',
  model: 'Pixel 4a',
  androidreleaseversion: '11',
  payload: [{ identifier: 'installed', region: 'ON', timestamp: yesterdayNoon }],
});

const post = (body: unknown, apiKey: string = TEST_ENV.METRICS_API_KEY) =>
  fetch(`${runtime.url}/save-metrics`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'x-api-key': apiKey },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

const run = (job: string) => getJson(`${runtime.url}/_local/run/${job}`, { method: 'POST' });

async function csv(key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: reportsBucket, Key: key }));
  expect(out.ContentType).toBe('text/csv; charset=utf-8');
  return out.Body!.transformToString();
}

const rowFor = (text: string, date: string) => text.split('\n').find((line) => line.startsWith(`${date},`));

test('an installed event is counted exactly once in the daily installs CSV after a re-send and a re-delivery', async () => {
  // Prepare: the app posts the event, and the batch is aggregated.
  const first = await post(envelope(yesterdayNoon + 1000));
  expect(first.status).toBe(200);
  expect(await first.json()).toEqual({ status: 'RECORD CREATED' });
  const drained = await run('aggregate-metrics');
  expect(drained.result.failures).toBe(0);

  // Act: the response was lost, so the phone re-sends the same event in a fresh envelope; then
  // the whole stream is delivered again, as a Lambda retry would.
  const resent = await post(envelope(Date.now()));
  await run('aggregate-metrics');
  const redelivered = await run('redeliver-aggregate-metrics');
  const report = await run('metrics-report');

  // Assess
  expect(resent.status).toBe(200);
  expect(redelivered.result.records).toBeGreaterThanOrEqual(2);
  expect(report.result.files.length).toBeGreaterThan(0);
  const unmasked = await csv('unmasked/csv/daily-journalier/installs.daily-journalier.csv');
  expect(rowFor(unmasked, yesterday)).toBe(`${yesterday},1`);
  const masked = await csv('masked/csv/daily-journalier/installs.daily-journalier.csv');
  expect(rowFor(masked, yesterday)).toBe(`${yesterday},<20`);
});

test.each([
  ['not JSON', '{"metricstimestamp":'],
  ['no payload', { metricstimestamp: 1, appversion: '1.0', appos: 'ios' }],
  ['empty payload', { ...envelope(1), payload: [] }],
  ['appversion too long', { ...envelope(1), appversion: '12345678901' }],
])('a malformed envelope (%s) is 400 with a reason and stores nothing', async (_name, body) => {
  // Act
  const response = await post(body);
  const drained = await run('aggregate-metrics');

  // Assess
  expect(response.status).toBe(400);
  expect(((await response.json()) as { reason?: string }).reason).toEqual(expect.any(String));
  expect(drained.result.records).toBe(0);
});

test('a missing or wrong API key is 403', async () => {
  expect((await post(envelope(1), 'wrong-key-wrong-key-wrong')).status).toBe(403);
  expect(
    (await fetch(`${runtime.url}/save-metrics`, { method: 'POST', body: JSON.stringify(envelope(1)) })).status,
  ).toBe(403);
});

test('a body over 120 000 bytes is refused', async () => {
  // Prepare
  const big = { ...envelope(1), payload: Array.from({ length: 2000 }, () => ({ identifier: 'installed', region: 'ON', timestamp: yesterdayNoon, pad: 'x'.repeat(60) })) };

  // Act
  const response = await post(big);

  // Assess
  expect(JSON.stringify(big).length).toBeGreaterThan(120_000);
  expect([400, 413]).toContain(response.status);
});
