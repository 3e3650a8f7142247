/**
 * /retrieve and the export bundles over HTTP, on a runtime of its own whose clock the tests move
 * (POST /_local/clock moves every handler, the edge function and build-exports together).
 *
 * Covers: the issue's acceptance round trip (issue code → claim → upload → build-exports →
 * retrieve → verify with Node crypto and openssl), upstream retrieve_test.rb RT1–RT14,
 * roundtrip_test.rb RR1–RR7, the retention of expiration_worker_test.rb EW2, deviations 9, 10
 * and 12 (PROTOCOL.md), and the idempotency of build-exports.
 *
 * Epochs. Each scenario runs on its own UTC day B = R + 40·n (R = the real date when the file
 * starts): keys are stored by submission time and a bundle covers at most the 16 days before
 * "today", so no scenario can see another's keys, and inside a scenario every bundle's content
 * is known exactly ("exactly these keys and nothing else"). The clock is always set to absolute
 * wall-clock times of those days, so the tests mean the same at any real time of day.
 *
 * Upstream edited the database to time-travel; here every key is uploaded over HTTP with the
 * clock set to the intended submission time first (the submission hour is truncated to the
 * hour, so e.g. 01:59:00 stands for upstream's 01:59:59 with a minute of margin), and the clock
 * is then moved to "now" of the scenario before build-exports runs.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { freePort } from '../../../local/ports';
import { covidshield } from '../../../proto';
import { AppClient, loopbackFor, uploadOf, type ClaimedKeySet } from '../../support/app-client';
import { startLocalProcess, TEST_ENV, type LocalProcess } from '../../support/local-process';
import { fetchInfo } from '../../support/runtime';
import { openStore, PROTOBUF, UploadError, type Store } from '../submission/support';
import {
  at,
  bundleOf,
  CACHE_CLOSED,
  CACHE_OPEN,
  dayOf,
  ENTIRE_PERIOD,
  exportHeader,
  hourOf,
  keyId,
  MCC,
  midnightOf,
  periodOf,
  retrieveHmac,
  RetrievalClient,
  runBuildExports,
  ServerClock,
  SIGNATURE_INFO,
  signatureListOf,
  signatureOf,
  sorted,
  TEXT_PLAIN,
  verifiesWithNode,
  verifyWithOpenssl,
  ZIP,
  HOUR_MS,
  DAY_MS,
  type ExportedKey,
} from './support';

type Tek = covidshield.TemporaryExposureKey.$Properties;
const { ReportType } = covidshield.TemporaryExposureKey;

const REAL_TODAY = dayOf(Date.now());
/** The "today" of scenario n (see Epochs above). */
const epochDay = (n: number) => REAL_TODAY + 40 * n;
const EXPORT_HEADER = Buffer.from('EK Export v1    ', 'ascii');

let runtime: LocalProcess;
let client: AppClient;
let clock: ServerClock;
let retrieval: RetrievalClient;
let store: Store;
let hmacKey: string;
let publicKeyPem: string;

beforeAll(async () => {
  // The scheduler must not run build-exports between a clock move and the run a test asks for.
  runtime = await startLocalProcess({ name: 'e2e-retrieval', port: await freePort(), env: { LOCAL_EXPORT_INTERVAL_SECONDS: '86400' } });
  const info = await fetchInfo(runtime.url);
  hmacKey = info.retrieveHmacKey;
  publicKeyPem = info.exportSigningPublicKeyPem;
  client = new AppClient(runtime.url, loopbackFor(__filename));
  clock = new ServerClock(runtime.url);
  retrieval = new RetrievalClient(runtime.url, hmacKey, clock, loopbackFor(__filename));
  store = await openStore(runtime.url);
}, 90_000);

afterAll(async () => {
  store?.close();
  await runtime?.stop();
});

/** A key as the app sends it (reference §12: no report type, no onset); other fields may be added. */
const appKey = (rollingStartIntervalNumber: number, extra: Partial<Tek> = {}): Tek => ({
  keyData: new Uint8Array(randomBytes(16)),
  transmissionRiskLevel: 1,
  rollingStartIntervalNumber,
  rollingPeriod: 144,
  ...extra,
});

/** How the bundles must carry a key: every field, absent report type / onset as CONFIRMED_TEST / 0. */
const exported = (key: Tek): ExportedKey => ({
  keyData: Buffer.from(key.keyData!).toString('base64'),
  transmissionRiskLevel: key.transmissionRiskLevel ?? 0,
  rollingStartIntervalNumber: key.rollingStartIntervalNumber!,
  rollingPeriod: key.rollingPeriod ?? 144,
  reportType: ReportType[key.reportType || ReportType.CONFIRMED_TEST],
  daysSinceOnsetOfSymptoms: key.daysSinceOnsetOfSymptoms ?? 0,
});

const idOf = (key: Tek) => keyId(key.keyData!);

/** Moves the clock to `targetMs`, then (with a fresh key set unless one is given) uploads the keys. */
async function uploadAt(targetMs: number, keys: Tek[], keySet?: ClaimedKeySet) {
  await clock.set(targetMs);
  const set = keySet ?? (await client.newKeySet());
  const response = await client.upload(set, uploadOf(keys, clock.now()));
  return { set, response };
}

/** Asserts 200 NONE (application/x-protobuf) for an upload. */
function expectAccepted(response: { status: number; contentType: string | null; error: number }) {
  expect([response.status, response.contentType, UploadError[response.error]]).toEqual([200, PROTOBUF, 'NONE']);
}

/** The plain-text answer of the edge function. */
const answerOf = (response: { status: number; headers: Record<string, unknown>; text(): string }) => ({
  status: response.status,
  contentType: response.headers['content-type'],
  body: response.text(),
});

/** Key ids of every served bundle (00000 and today−14 … today) at the server's current time. */
async function everyBundle(): Promise<Record<string, string[]>> {
  const today = dayOf(clock.now());
  return retrieval.keyIdsByPeriod([ENTIRE_PERIOD, ...Array.from({ length: 15 }, (_, i) => periodOf(today - i))]);
}

/** Every served period mapped to no keys, then the given ones. */
const bundlesWith = (today: number, content: Record<string, string[]>) => ({
  [ENTIRE_PERIOD]: [],
  ...Object.fromEntries(Array.from({ length: 15 }, (_, i) => [periodOf(today - i), []])),
  ...content,
});

/** start_timestamp and end_timestamp of a bundle. */
const timestamps = (bundle: { decoded: Parameters<typeof exportHeader>[0] }) => {
  const header = exportHeader(bundle.decoded);
  return { start: header.startTimestamp, end: header.endTimestamp };
};

describe('acceptance round trip: issue code → claim → upload → build-exports → GET /retrieve/302/{today}/{hmac}', () => {
  const today = epochDay(0);
  const rsin = (day: number, interval = 0) => midnightOf(day) + interval;
  // Varied report types and onsets; all six fields unless a row says otherwise.
  const rows: { sent: Tek; expected: Omit<ExportedKey, 'keyData'> }[] = [
    { sent: { transmissionRiskLevel: 1, rollingStartIntervalNumber: rsin(today), rollingPeriod: 144, reportType: ReportType.CONFIRMED_TEST, daysSinceOnsetOfSymptoms: 0 },
      expected: { transmissionRiskLevel: 1, rollingStartIntervalNumber: rsin(today), rollingPeriod: 144, reportType: 'CONFIRMED_TEST', daysSinceOnsetOfSymptoms: 0 } },
    { sent: { transmissionRiskLevel: 4, rollingStartIntervalNumber: rsin(today - 1), rollingPeriod: 144, reportType: ReportType.CONFIRMED_CLINICAL_DIAGNOSIS, daysSinceOnsetOfSymptoms: -3 },
      expected: { transmissionRiskLevel: 4, rollingStartIntervalNumber: rsin(today - 1), rollingPeriod: 144, reportType: 'CONFIRMED_CLINICAL_DIAGNOSIS', daysSinceOnsetOfSymptoms: -3 } },
    { sent: { transmissionRiskLevel: 8, rollingStartIntervalNumber: rsin(today - 5, 36), rollingPeriod: 100, reportType: ReportType.SELF_REPORT, daysSinceOnsetOfSymptoms: 14 },
      expected: { transmissionRiskLevel: 8, rollingStartIntervalNumber: rsin(today - 5, 36), rollingPeriod: 100, reportType: 'SELF_REPORT', daysSinceOnsetOfSymptoms: 14 } },
    { sent: { transmissionRiskLevel: 0, rollingStartIntervalNumber: rsin(today - 12), rollingPeriod: 144, reportType: ReportType.CONFIRMED_TEST, daysSinceOnsetOfSymptoms: -14 },
      expected: { transmissionRiskLevel: 0, rollingStartIntervalNumber: rsin(today - 12), rollingPeriod: 144, reportType: 'CONFIRMED_TEST', daysSinceOnsetOfSymptoms: -14 } },
    // starts tomorrow 01:00, less than a day ahead of the upload (deviation 3 keeps it)
    { sent: { transmissionRiskLevel: 2, rollingStartIntervalNumber: rsin(today + 1, 6), rollingPeriod: 144, reportType: ReportType.SELF_REPORT, daysSinceOnsetOfSymptoms: 7 },
      expected: { transmissionRiskLevel: 2, rollingStartIntervalNumber: rsin(today + 1, 6), rollingPeriod: 144, reportType: 'SELF_REPORT', daysSinceOnsetOfSymptoms: 7 } },
    // report type UNKNOWN (0) sent explicitly counts as absent (deviation 4)
    { sent: { transmissionRiskLevel: 5, rollingStartIntervalNumber: rsin(today - 2, 1), rollingPeriod: 1, reportType: ReportType.UNKNOWN, daysSinceOnsetOfSymptoms: 1 },
      expected: { transmissionRiskLevel: 5, rollingStartIntervalNumber: rsin(today - 2, 1), rollingPeriod: 1, reportType: 'CONFIRMED_TEST', daysSinceOnsetOfSymptoms: 1 } },
    // report type absent
    { sent: { transmissionRiskLevel: 6, rollingStartIntervalNumber: rsin(today - 7), rollingPeriod: 144, daysSinceOnsetOfSymptoms: -7 },
      expected: { transmissionRiskLevel: 6, rollingStartIntervalNumber: rsin(today - 7), rollingPeriod: 144, reportType: 'CONFIRMED_TEST', daysSinceOnsetOfSymptoms: -7 } },
    // days since onset absent
    { sent: { transmissionRiskLevel: 3, rollingStartIntervalNumber: rsin(today - 10), rollingPeriod: 144, reportType: ReportType.CONFIRMED_CLINICAL_DIAGNOSIS },
      expected: { transmissionRiskLevel: 3, rollingStartIntervalNumber: rsin(today - 10), rollingPeriod: 144, reportType: 'CONFIRMED_CLINICAL_DIAGNOSIS', daysSinceOnsetOfSymptoms: 0 } },
    // exactly what the app sends: no report type, no onset, no rolling period (proto2 default 144)
    { sent: { transmissionRiskLevel: 1, rollingStartIntervalNumber: rsin(today - 3) },
      expected: { transmissionRiskLevel: 1, rollingStartIntervalNumber: rsin(today - 3), rollingPeriod: 144, reportType: 'CONFIRMED_TEST', daysSinceOnsetOfSymptoms: 0 } },
  ];
  const keys = rows.map((row) => ({ ...row, sent: { keyData: new Uint8Array(randomBytes(16)), ...row.sent } }));

  test('200 application/zip, public, max-age=600; entries [export.bin, export.sig]; header bytes; signature verifies (Node and openssl); SignatureInfo, batch 1/1, CA, today’s timestamps; exactly the uploaded keys in key-data order with their fields', async () => {
    // Prepare
    await clock.set(at(today, 12));
    const issued = await client.issueCode();
    expect([issued.status, issued.headers['content-type']]).toEqual([200, TEXT_PLAIN]);
    const code = issued.text().trim();
    expect(code).toMatch(/^[0-9A-Z]{10}$/);
    const app = nacl.box.keyPair();
    const claimed = await client.claim(code, app.publicKey);
    expect([claimed.status, claimed.message.error, claimed.message.serverPublicKey.length]).toEqual([200, 0, 32]);
    const keySet: ClaimedKeySet = { code, app, serverPublicKey: claimed.message.serverPublicKey };
    expectAccepted(await client.upload(keySet, uploadOf(keys.map((k) => k.sent), clock.now())));
    const expectedKeys = keys
      .map((k) => ({ keyData: Buffer.from(k.sent.keyData!).toString('base64'), ...k.expected }))
      .sort((a, b) => Buffer.compare(Buffer.from(a.keyData, 'base64'), Buffer.from(b.keyData, 'base64')));

    // Act
    await runBuildExports(runtime.url);
    const period = periodOf(today);
    // The app: lowercase hex HMAC-SHA256(hex-decode(HMAC_KEY), "302:{period}:{floor(now_ms / 3 600 000)}").
    const hmac = retrieveHmac(TEST_ENV.RETRIEVE_HMAC_KEY, MCC, period, Math.floor(clock.now() / 3_600_000));
    const response = await retrieval.path(`/retrieve/302/${period}/${hmac}`);

    // Assess
    expect(hmacKey).toBe(TEST_ENV.RETRIEVE_HMAC_KEY);
    expect([response.status, response.headers['content-type'], response.headers['cache-control']]).toEqual([200, ZIP, CACHE_OPEN]);
    const { decoded, keys: served } = bundleOf(response);
    expect(decoded.entryNames).toEqual(['export.bin', 'export.sig']);
    expect(Buffer.from(decoded.exportBin.subarray(0, 16))).toEqual(EXPORT_HEADER);
    const signatures = signatureListOf(decoded);
    expect(signatures).toEqual({ signatures: [{ signatureInfo: SIGNATURE_INFO, batchNum: 1, batchSize: 1, signature: expect.any(String) }] });
    const signature = signatureOf(decoded);
    expect(verifiesWithNode(decoded.exportBin, signature, publicKeyPem)).toBe(true);
    expect(verifyWithOpenssl(decoded.exportBin, signature, publicKeyPem)).toEqual({ status: 0, output: 'Verified OK' });
    expect(exportHeader(decoded)).toEqual({
      startTimestamp: today * 86400,
      endTimestamp: (today + 1) * 86400,
      region: 'CA',
      batchNum: 1,
      batchSize: 1,
      signatureInfos: [SIGNATURE_INFO],
    });
    expect(served).toEqual(expectedKeys);
  });

  test('verification can fail: a tampered export.bin, the protobuf without its header, or another key is refused by Node crypto and openssl', async () => {
    // Prepare
    await clock.set(at(today, 12, 5));
    const { decoded } = await retrieval.bundle(periodOf(today));
    const signature = signatureOf(decoded);
    const tampered = Buffer.from(decoded.exportBin);
    tampered[tampered.length - 1] ^= 0x01;
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

    // Act
    const results = {
      tamperedNode: verifiesWithNode(tampered, signature, publicKeyPem),
      tamperedOpenssl: verifyWithOpenssl(tampered, signature, publicKeyPem),
      withoutHeader: verifiesWithNode(decoded.exportBin.subarray(16), signature, publicKeyPem),
      otherKeyNode: verifiesWithNode(decoded.exportBin, signature, otherKey),
      otherKeyOpenssl: verifyWithOpenssl(decoded.exportBin, signature, otherKey),
      intact: verifiesWithNode(decoded.exportBin, signature, publicKeyPem),
    };

    // Assess
    expect(results).toEqual({
      tamperedNode: false,
      tamperedOpenssl: { status: 1, output: 'Verification failure' },
      withoutHeader: false,
      otherKeyNode: false,
      otherKeyOpenssl: { status: 1, output: 'Verification failure' },
      intact: true,
    });
  });
});

describe('retrieve_test.rb (periods, methods, HMAC) and deviations 9, 10, 12', () => {
  const today = epochDay(1);
  const NOW = at(today, 12, 30);

  beforeAll(async () => {
    await clock.set(NOW);
    await runBuildExports(runtime.url);
  });
  beforeEach(async () => {
    await clock.set(NOW);
  });

  test('RT1 today−3 with no data: happy zip (closed-day Cache-Control) whose signed export has the day’s timestamps, CA, batch 1/1, one SignatureInfo and no keys', async () => {
    // Act
    const response = await retrieval.retrieve(periodOf(today - 3));

    // Assess
    expect([response.status, response.headers['content-type'], response.headers['cache-control']]).toEqual([200, ZIP, CACHE_CLOSED]);
    const { decoded } = bundleOf(response);
    expect(decoded.entryNames).toEqual(['export.bin', 'export.sig']);
    expect(Buffer.from(decoded.exportBin.subarray(0, 16))).toEqual(EXPORT_HEADER);
    expect(exportHeader(decoded)).toEqual({
      startTimestamp: (today - 3) * 86400,
      endTimestamp: (today - 2) * 86400,
      region: 'CA',
      batchNum: 1,
      batchSize: 1,
      signatureInfos: [SIGNATURE_INFO],
    });
    expect(signatureListOf(decoded)).toEqual({ signatures: [{ signatureInfo: SIGNATURE_INFO, batchNum: 1, batchSize: 1, signature: expect.any(String) }] });
    expect(verifiesWithNode(decoded.exportBin, signatureOf(decoded), publicKeyPem)).toBe(true);
  });

  test.each([
    ['RT2 today (deviation 12: served, cached 10 min)', 0, CACHE_OPEN],
    ['RT3 today−1', 1, CACHE_CLOSED],
    ['RT11 today−2', 2, CACHE_CLOSED],
    ['RT5 today−14 (the oldest day served)', 14, CACHE_CLOSED],
  ])('%s: 200 application/zip with its Cache-Control and the day’s window', async (_label, daysBack, cacheControl) => {
    // Act
    const response = await retrieval.retrieve(periodOf(today - daysBack));

    // Assess
    expect([response.status, response.headers['content-type'], response.headers['cache-control']]).toEqual([200, ZIP, cacheControl]);
    const { start, end } = timestamps(bundleOf(response));
    expect([start, end]).toEqual([(today - daysBack) * 86400, (today - daysBack + 1) * 86400]);
  });

  test('00000: 200 application/zip, public, max-age=600, window today−15 … today−1 (timestamps (today−15)·86400 and today·86400)', async () => {
    // Act
    const response = await retrieval.retrieve(ENTIRE_PERIOD);

    // Assess
    expect([response.status, response.headers['content-type'], response.headers['cache-control']]).toEqual([200, ZIP, CACHE_OPEN]);
    const { start, end } = timestamps(bundleOf(response));
    expect([start, end]).toEqual([(today - 15) * 86400, today * 86400]);
  });

  test.each([
    ['RT4 today+1', 404, 'cannot request future data\n', () => periodOf(today + 1)],
    ['today+30', 404, 'cannot request future data\n', () => periodOf(today + 30)],
    ['RT6 today−15', 410, 'requested data no longer valid\n', () => periodOf(today - 15)],
    ['today−400', 410, 'requested data no longer valid\n', () => periodOf(today - 400)],
  ])('%s with a valid HMAC: %i, text/plain body as upstream', async (_label, status, body, period) => {
    // Act
    const response = await retrieval.retrieve(period());

    // Assess
    expect(answerOf(response)).toEqual({ status, contentType: TEXT_PLAIN, body });
  });

  test.each(['POST', 'PUT', 'PATCH', 'DELETE'])('RT7 %s with a valid HMAC on today−1: 405 method not allowed', async (method) => {
    // Act
    const response = await retrieval.retrieve(periodOf(today - 1), { method });

    // Assess
    expect(answerOf(response)).toEqual({ status: 405, contentType: TEXT_PLAIN, body: 'method not allowed\n' });
  });

  test('auth comes before the method check: POST with a wrong HMAC is 401', async () => {
    // Act
    const response = await retrieval.retrieve(periodOf(today - 1), { method: 'POST', hmac: 'ab'.repeat(32) });

    // Assess
    expect(answerOf(response)).toEqual({ status: 401, contentType: TEXT_PLAIN, body: 'unauthorized\n' });
  });

  test('deviation 10: HEAD is accepted like GET (200, application/zip, same Cache-Control and length, no body)', async () => {
    // Act
    const head = await retrieval.retrieve(periodOf(today - 1), { method: 'HEAD' });
    const get = await retrieval.retrieve(periodOf(today - 1));

    // Assess
    expect([head.status, head.headers['content-type'], head.headers['cache-control'], head.body.length]).toEqual([200, ZIP, CACHE_CLOSED, 0]);
    expect(head.headers['content-length']).toBe(String(get.body.length));
  });

  test.each([
    [-2, 401],
    [-1, 200],
    [0, 200],
    [1, 200],
    [2, 401],
  ])('the HMAC of hour H0 with the server clock moved by %i h (accepted within ±1 h only): %i', async (shift, status) => {
    // Prepare
    const period = periodOf(today - 1);
    const hmac = retrieval.hmac(period, { hour: hourOf(NOW) });
    await clock.set(NOW + shift * HOUR_MS);

    // Act
    const response = await retrieval.retrieve(period, { hmac });

    // Assess
    expect(response.status).toBe(status);
    if (status === 401) expect(answerOf(response)).toEqual({ status, contentType: TEXT_PLAIN, body: 'unauthorized\n' });
  });

  test('HMACs for the hours H−2 … H+2 at a fixed clock: H−1, H, H+1 accepted; H±2 refused', async () => {
    // Prepare
    const period = periodOf(today - 1);
    const hour = hourOf(clock.now());

    // Act
    const statuses = [];
    for (const delta of [-2, -1, 0, 1, 2]) statuses.push((await retrieval.retrieve(period, { hmac: retrieval.hmac(period, { hour: hour + delta }) })).status);

    // Assess
    expect(statuses).toEqual([401, 200, 200, 200, 401]);
  });

  test('RT12 the valid HMAC of today−2 on the URL of today−3: 401 unauthorized', async () => {
    // Prepare
    const hmac = retrieval.hmac(periodOf(today - 2));

    // Act
    const own = await retrieval.retrieve(periodOf(today - 2), { hmac });
    const other = await retrieval.retrieve(periodOf(today - 3), { hmac });

    // Assess
    expect(own.status).toBe(200);
    expect(answerOf(other)).toEqual({ status: 401, contentType: TEXT_PLAIN, body: 'unauthorized\n' });
  });

  test.each([
    ['RT13 first 8 hex digits replaced', (h: string) => h.slice(0, 8).replace(/./g, (c) => (15 - parseInt(c, 16)).toString(16)) + h.slice(8)],
    ['cut to 63 hex digits', (h: string) => h.slice(1)],
    ['extended to 65 hex digits', (h: string) => `${h}0`],
    ['first digit made non-hex', (h: string) => `g${h.slice(1)}`],
    ['empty segment', () => ''],
    ['computed with another HMAC key', () => retrieveHmac('b'.repeat(80), MCC, periodOf(today - 1), hourOf(NOW))],
    ['computed over another region (the message uses the URL region)', () => retrieveHmac(TEST_ENV.RETRIEVE_HMAC_KEY, '303', periodOf(today - 1), hourOf(NOW))],
  ])('the HMAC of today−1 altered (%s): 401 unauthorized', async (_label, alter) => {
    // Prepare
    const hmac = alter(retrieval.hmac(periodOf(today - 1)));

    // Act
    const response = await retrieval.path(`/retrieve/${MCC}/${periodOf(today - 1)}/${hmac}`);

    // Assess
    expect(answerOf(response)).toEqual({ status: 401, contentType: TEXT_PLAIN, body: 'unauthorized\n' });
  });

  test('the HMAC in upper-case hex is accepted (upstream: valid hex of either case)', async () => {
    // Act
    const response = await retrieval.retrieve(periodOf(today - 1), { hmac: retrieval.hmac(periodOf(today - 1)).toUpperCase() });

    // Assess
    expect([response.status, response.headers['content-type']]).toEqual([200, ZIP]);
  });

  test.each([
    ['RT14 no HMAC segment', () => `/retrieve/${MCC}/${periodOf(today - 1)}`],
    ['a fourth segment', () => `/retrieve/${MCC}/${periodOf(today - 1)}/${retrieval.hmac(periodOf(today - 1))}/x`],
    ['a period that is not 5 digits', () => `/retrieve/${MCC}/1900a/${retrieval.hmac('1900a')}`],
    ['deviation 9: region 303 with an HMAC computed for 303', () => `/retrieve/303/${periodOf(today - 1)}/${retrieval.hmac(periodOf(today - 1), { region: '303' })}`],
    ['deviation 9: region 303 with the HMAC of 302', () => `/retrieve/303/${periodOf(today - 1)}/${retrieval.hmac(periodOf(today - 1))}`],
    ['deviation 9: region 303, period 00000, HMAC for 303', () => `/retrieve/303/${ENTIRE_PERIOD}/${retrieval.hmac(ENTIRE_PERIOD, { region: '303' })}`],
    ['deviation 9: region 303 with no HMAC at all', () => `/retrieve/303/${periodOf(today - 1)}/`],
  ])('%s: 404 `404 page not found`', async (_label, path) => {
    // Act
    const response = await retrieval.path(path());

    // Assess
    expect(answerOf(response)).toEqual({ status: 404, contentType: TEXT_PLAIN, body: '404 page not found\n' });
  });

  test('RT8 a key active 8 days ago (RSIN = that midnight), submitted yesterday 07:00 with TRL 8, is exactly yesterday’s bundle: rolling period 144, CONFIRMED_TEST, onset 0', async () => {
    // Prepare: the app sends no report type and no onset.
    const key = appKey(midnightOf(today - 8), { transmissionRiskLevel: 8 });
    expectAccepted((await uploadAt(at(today - 1, 7), [key])).response);
    await clock.set(NOW);

    // Act
    await runBuildExports(runtime.url);
    const yesterday = await retrieval.bundle(periodOf(today - 1));
    const entire = await retrieval.bundle(ENTIRE_PERIOD);
    const todays = await retrieval.bundle(periodOf(today));

    // Assess
    const expected = {
      keyData: Buffer.from(key.keyData!).toString('base64'),
      transmissionRiskLevel: 8,
      rollingStartIntervalNumber: midnightOf(today - 8),
      rollingPeriod: 144,
      reportType: 'CONFIRMED_TEST',
      daysSinceOnsetOfSymptoms: 0,
    };
    expect(yesterday.keys).toEqual([expected]);
    expect(entire.keys).toEqual([expected]);
    expect(todays.keys).toEqual([]);
    expect(verifiesWithNode(yesterday.decoded.exportBin, signatureOf(yesterday.decoded), publicKeyPem)).toBe(true);
  });
});

describe('RT9/RT10 key selection by submission time (uploads with the clock moved first)', () => {
  const today = epochDay(2);
  const NOW = at(today, 12);
  const rsin = midnightOf(today - 3);
  // Upstream RT9 key "1": 23:59:59 on today−16. Its newest allowed RSIN (deviation 3: at most a
  // day ahead) is today−15 23:50, which the RSIN filter of today drops anyway.
  const k1 = appKey(midnightOf(today - 15) + 143);
  // Upstream RT9 key "2": 00:00 on today−15. Over HTTP a key uploaded then can start at most at
  // today−14 00:00, and the filter (RSIN > (today−14)·144, strict) drops exactly that key, so
  // upstream's "2" is not reproducible as a visible key; k2Midnight pins the strict filter and
  // k2 (23:59 on today−15, RSIN today−14 23:00) shows that today−15 is inside 00000.
  const k2Midnight = appKey(midnightOf(today - 14));
  const k2 = appKey(midnightOf(today - 14) + 138);
  // RT10 keys "1"…"4" (and RT9's "3", "4", "5"); k6 is RT9's "6" (02:00 today).
  const r1 = appKey(rsin, { reportType: ReportType.SELF_REPORT, daysSinceOnsetOfSymptoms: -2 });
  const r2 = appKey(rsin, { transmissionRiskLevel: 7 });
  const k3 = appKey(rsin + 10, { rollingPeriod: 12 });
  const k4 = appKey(rsin, { reportType: ReportType.CONFIRMED_CLINICAL_DIAGNOSIS, daysSinceOnsetOfSymptoms: 3 });
  const k5 = appKey(rsin - 144);
  const k6 = appKey(rsin);
  const uploads: [number, Tek[], number][] = [
    [at(today - 16, 23, 59), [k1], (today - 16) * 24 + 23],
    [at(today - 15), [k2Midnight], (today - 15) * 24],
    [at(today - 15, 23, 59), [k2], (today - 15) * 24 + 23],
    [at(today - 2, 23, 59), [r1], (today - 2) * 24 + 23],
    [at(today - 1), [r2], (today - 1) * 24],
    [at(today - 1, 1, 59), [k3], (today - 1) * 24 + 1],
    [at(today - 1, 2), [k4, k5], (today - 1) * 24 + 2],
    [at(today, 2), [k6], today * 24 + 2],
  ];

  beforeAll(async () => {
    for (const [time, keys] of uploads) expectAccepted((await uploadAt(time, keys)).response);
    await clock.set(NOW);
    await runBuildExports(runtime.url);
  });
  beforeEach(async () => {
    await clock.set(NOW);
  });

  test('guard: every key is stored with the submission hour its upload was timed for', async () => {
    // Act
    const items = await store.keys(uploads.flatMap(([, keys]) => keys.map((k) => k.keyData!)));

    // Assess
    const hours = Object.fromEntries(items.map((item) => [keyId(item.keyData as Uint8Array), item.submissionHour]));
    expect(hours).toEqual(Object.fromEntries(uploads.flatMap(([, keys, hour]) => keys.map((k) => [idOf(k), hour]))));
  });

  test('RT9 00000 holds the keys submitted today−15 00:00 … today−1 23:59 that pass the RSIN filter, in key-data order: not 23:59 on today−16, not 02:00 today', async () => {
    // Act
    const bundle = await retrieval.bundle(ENTIRE_PERIOD);

    // Assess
    expect(bundle.keyIds).toEqual(sorted([k2, r1, r2, k3, k4, k5].map(idOf)));
    expect(bundle.keys).toEqual(bundle.keyIds.map((id) => exported([k2, r1, r2, k3, k4, k5].find((k) => idOf(k) === id)!)));
  });

  test('RT10 today−1 holds the keys submitted 00:00, 01:59 and 02:00 yesterday (not 23:59 two days ago), in key-data order', async () => {
    // Act
    const bundle = await retrieval.bundle(periodOf(today - 1));

    // Assess
    expect(bundle.keyIds).toEqual(sorted([r2, k3, k4, k5].map(idOf)));
    expect(bundle.keys).toEqual(bundle.keyIds.map((id) => exported([r2, k3, k4, k5].find((k) => idOf(k) === id)!)));
  });

  test('every served bundle holds exactly the keys of its window: today−2 the 23:59 key, today the 02:00 key, all other days none', async () => {
    // Act
    const bundles = await everyBundle();

    // Assess
    expect(bundles).toEqual(
      bundlesWith(today, {
        [ENTIRE_PERIOD]: sorted([k2, r1, r2, k3, k4, k5].map(idOf)),
        [periodOf(today - 1)]: sorted([r2, k3, k4, k5].map(idOf)),
        [periodOf(today - 2)]: [idOf(r1)],
        [periodOf(today)]: [idOf(k6)],
      }),
    );
  });

  test('the RSIN filter is strict and relative to today: a key starting at the midnight of today−14 is stored but exported nowhere; one day earlier it was', async () => {
    // Act
    const now = await everyBundle();
    await clock.set(at(today - 1, 12));
    await runBuildExports(runtime.url);
    const dayBefore = await retrieval.bundle(periodOf(today - 15));
    await clock.set(NOW);
    await runBuildExports(runtime.url);

    // Assess
    expect(await store.key(k2Midnight.keyData!)).toBeDefined();
    expect(Object.values(now).flat()).not.toContain(idOf(k2Midnight));
    // At today−1 its RSIN (today−14 00:00) is above (today−15)·144, and its day today−15 is still served.
    expect(dayBefore.keyIds).toEqual(sorted([k2Midnight, k2].map(idOf)));
  });

  test('idempotent: two runs without new keys give byte-identical export.bin for every period (only the ECDSA signatures differ)', async () => {
    // Act
    const first = await runBuildExports(runtime.url);
    const periods = first.periods;
    const before = await Promise.all(periods.map((p) => retrieval.bundle(p)));
    const second = await runBuildExports(runtime.url);
    const after = await Promise.all(periods.map((p) => retrieval.bundle(p)));

    // Assess
    // bytesWritten may differ by a few bytes: DER signatures are 70–72 bytes long.
    expect({ periods: second.periods, keysPerPeriod: second.keysPerPeriod }).toEqual({ periods: first.periods, keysPerPeriod: first.keysPerPeriod });
    expect(periods).toEqual([ENTIRE_PERIOD, ...Array.from({ length: 15 }, (_, i) => periodOf(today - 14 + i))]);
    expect(Object.values(first.keysPerPeriod).reduce((a, b) => a + b, 0)).toBe(12);
    periods.forEach((period, i) => {
      expect({ period, exportBin: Buffer.from(after[i].decoded.exportBin) }).toEqual({ period, exportBin: Buffer.from(before[i].decoded.exportBin) });
      const [s1, s2] = [before[i], after[i]].map((b) => signatureOf(b.decoded));
      expect(Buffer.from(s1).equals(Buffer.from(s2))).toBe(false);
      expect([verifiesWithNode(after[i].decoded.exportBin, s1, publicKeyPem), verifiesWithNode(after[i].decoded.exportBin, s2, publicKeyPem)]).toEqual([true, true]);
    });
  });
});

/**
 * roundtrip_test.rb with a moving clock. Upstream's move_forward(N h) subtracted N hours from the
 * key pair's `created`, the keys' submission hour and (as 6N intervals) their RSIN; moving the
 * clock N hours forward is the same transformation seen from the other side (all stored times
 * stay, "now" advances), so upstream's expectations carry over unchanged. Uploads made after a
 * step are built relative to the moved clock, as upstream built them relative to its now.
 *
 * Start t0 = 06:00 on day B. Upstream ran at any time of day, but its expectations hold only if
 * the days do not roll over in between: RR3 (t0 + 28 h) needs t0 before 20:00, RR5 (t0 + 314 h)
 * before 22:00. With t0 = 06:00:
 *   step  clock            today  RSIN filter (> ·144)  visible union of bundles today−1 … today−14
 *   RR1   B 06:00          B      B−14                  ∅ (a…m submitted today)
 *   RR2   B+1 06:00        B+1    B−13                  a…m (submitted B; m = B−13 noon > B−13)
 *   RR3   B+1 09:00/10:00  B+1    B−13                  a…m
 *   RR4   B+13 07:00       B+13   B−1                   a (B−1 noon), z (B noon); b…m dropped
 *   RR5   B+13 08:00       B+13   B−1                   a, z
 *   RR6   B+14 08:00       B+14   B                     z
 *   RR7   B+15 08:00       B+15   B+1                   ∅; key pair expired at B+15 00:00
 * "Stored" counts the items the server still reads (expiresAt > now): a…m expire at the start of
 * B+16, z at the start of B+17.
 */
describe('roundtrip_test.rb RR1–RR7 (clock moved forward instead of shifting database times)', () => {
  const B = epochDay(3);
  const t0 = at(B, 6);
  const names = 'abcdefghijklm'.split('');
  // a…m: RSIN at noon of days B−1 … B−13
  const letters = names.map((name, i) => ({ name, key: appKey(midnightOf(B - 1 - i) + 72) }));
  // z: noon of "yesterday" at RR2 (day B)
  const z = { name: 'z', key: appKey(midnightOf(B) + 72) };
  const nameOf = new Map([...letters, z].map(({ name, key }) => [idOf(key), name]));
  const rr2Payload = () => [...letters.slice(0, 12).map((l) => l.key), z.key];
  let keySet: ClaimedKeySet;

  /** Runs build-exports at the current clock and returns the names in bundles today−1 … today−14. */
  async function visible(): Promise<string[]> {
    await runBuildExports(runtime.url);
    const today = dayOf(clock.now());
    const bundles = await retrieval.keyIdsByPeriod(Array.from({ length: 14 }, (_, i) => periodOf(today - 1 - i)));
    return [...new Set(Object.values(bundles).flat())].map((id) => nameOf.get(id) ?? `foreign ${id}`).sort();
  }

  /** How many of the scenario's keys the server still reads (stored and not expired). */
  async function stored(): Promise<number> {
    const items = await store.keys([...letters, z].map(({ key }) => key.keyData!));
    return items.filter((item) => Number(item.expiresAt) > clock.now() / 1000).length;
  }

  const remaining = async () => (await store.keyPair(keySet.serverPublicKey))?.remainingKeys;

  test('RR1 13 keys a…m (RSIN noon of days −1 … −13) uploaded at B 06:00: 200 NONE, 13 stored, nothing visible (all submitted today)', async () => {
    // Prepare
    await clock.set(t0);
    keySet = await client.newKeySet();

    // Act
    const response = await client.upload(keySet, uploadOf(letters.map((l) => l.key), clock.now()));

    // Assess
    expectAccepted(response);
    expect(await stored()).toBe(13);
    expect(await remaining()).toBe(43 - 13);
    expect(await visible()).toEqual([]);
  });

  test('RR2 +1 day: a…l again (duplicates) and a new z (noon yesterday): 200 NONE, 14 stored, only z charged; visible a…m', async () => {
    // Prepare
    await clock.set(t0 + DAY_MS);

    // Act
    const response = await client.upload(keySet, uploadOf(rr2Payload(), clock.now()));

    // Assess
    expectAccepted(response);
    expect(await stored()).toBe(14);
    expect(await remaining()).toBe(43 - 14);
    expect(await visible()).toEqual(names);
  });

  test('RR3 +3 h and +1 h more: still a…m', async () => {
    // Act
    await clock.set(t0 + DAY_MS + 3 * HOUR_MS);
    const afterThree = await visible();
    await clock.set(t0 + DAY_MS + 4 * HOUR_MS);
    const afterFour = await visible();

    // Assess
    expect(afterThree).toEqual(names);
    expect(afterFour).toEqual(names);
  });

  test('RR4 +11 d 21 h (B+13 07:00): only a and z; b…m have left the RSIN window', async () => {
    // Act
    await clock.set(t0 + 13 * DAY_MS + HOUR_MS);

    // Assess
    expect(await visible()).toEqual(['a', 'z']);
    expect(await stored()).toBe(14);
  });

  test('RR5 the RR2 payload again (duplicates, or outside the per-key window): 200 NONE, 14 stored, nothing charged; +1 h: still a and z', async () => {
    // Prepare
    await clock.set(t0 + 13 * DAY_MS + HOUR_MS);

    // Act
    const response = await client.upload(keySet, uploadOf(rr2Payload(), clock.now()));
    await clock.set(t0 + 13 * DAY_MS + 2 * HOUR_MS);

    // Assess
    expectAccepted(response);
    expect(await stored()).toBe(14);
    expect(await remaining()).toBe(43 - 14);
    expect(await visible()).toEqual(['a', 'z']);
  });

  test('RR6 +1 day (B+14 08:00): only z; 14 stored', async () => {
    // Act
    await clock.set(t0 + 14 * DAY_MS + 2 * HOUR_MS);

    // Assess
    expect(await visible()).toEqual(['z']);
    expect(await stored()).toBe(14);
  });

  test('RR7 +1 day (B+15 08:00): the key pair is past its 15-day validity (401 INVALID_KEYPAIR); 14 stored; nothing visible', async () => {
    // Prepare
    await clock.set(t0 + 15 * DAY_MS + 2 * HOUR_MS);

    // Act
    const response = await client.upload(keySet, uploadOf(rr2Payload(), clock.now()));

    // Assess
    expect([response.status, response.contentType, UploadError[response.error]]).toEqual([401, PROTOBUF, 'INVALID_KEYPAIR']);
    expect(await stored()).toBe(14);
    expect(await visible()).toEqual([]);
  });

  test('after upstream: a…m are no longer read from the start of B+16 (submitted on B), z from the start of B+17', async () => {
    // Act
    await clock.set(at(B + 16) - 60_000);
    const lastMinute = await stored();
    await clock.set(at(B + 16));
    const dayAfter = await stored();
    await clock.set(at(B + 17));
    const twoDaysAfter = await stored();

    // Assess
    expect([lastMinute, dayAfter, twoDaysAfter]).toEqual([14, 1, 0]);
  });
});

/**
 * Retention (ARCHITECTURE "Storage": diagnosis keys 15 days after their submission day; every
 * read ignores expired items) and expiration_worker_test.rb EW2. A key submitted on day D
 * expires at the start of D+16: upstream's worker kept hour (today−15)·24 and deleted one hour
 * less, i.e. at today = D+15 a key of day D is kept and one of day D−1 is gone.
 *
 * Over HTTP an expired key cannot be seen in a bundle: a key of day D is last served by 00000
 * at D+15 and the RSIN filter has already dropped it when it expires. So "gone from reads" is
 * observed through the one read the API exposes, de-duplication: re-uploading a live key stores
 * nothing, re-uploading an expired one stores it anew (checked in DynamoDB).
 */
describe('diagnosis key retention (expiration_worker_test.rb EW2)', () => {
  const D = epochDay(4);
  const early = midnightOf(D) + 6; // starts D 01:00
  const eBefore = appKey(early); // submitted D−1 23:30: hour D·24 − 1
  const eMidnight = appKey(early); // submitted D 00:00: hour D·24
  const eAfter = appKey(early); // submitted D 01:00: hour D·24 + 1
  // submitted D 23:30, starts D+1 23:00 (less than a day ahead): exported as long as possible
  const x = appKey(midnightOf(D + 1) + 138, { transmissionRiskLevel: 4 });
  const all = [eBefore, eMidnight, eAfter, x];
  const itemOf = async (key: Tek) => {
    const item = await store.key(key.keyData!);
    return { submissionHour: item?.submissionHour, expiresAt: item?.expiresAt };
  };

  beforeAll(async () => {
    expectAccepted((await uploadAt(at(D - 1, 23, 30), [eBefore])).response);
    expectAccepted((await uploadAt(at(D), [eMidnight])).response);
    expectAccepted((await uploadAt(at(D, 1), [eAfter])).response);
    expectAccepted((await uploadAt(at(D, 23, 30), [x])).response);
  });

  test('each key is stored with expiresAt = start of UTC day (submission day + 16)', async () => {
    // Act
    const items = await Promise.all(all.map(itemOf));

    // Assess
    expect(items).toEqual([
      { submissionHour: D * 24 - 1, expiresAt: (D + 15) * 86400 },
      { submissionHour: D * 24, expiresAt: (D + 16) * 86400 },
      { submissionHour: D * 24 + 1, expiresAt: (D + 16) * 86400 },
      { submissionHour: D * 24 + 23, expiresAt: (D + 16) * 86400 },
    ]);
  });

  test('at D+14 12:00 the day-D bundle holds the keys of day D and 00000 all four', async () => {
    // Act
    await clock.set(at(D + 14, 12));
    await runBuildExports(runtime.url);
    const dayD = await retrieval.bundle(periodOf(D));
    const entire = await retrieval.bundle(ENTIRE_PERIOD);

    // Assess
    expect(dayD.keyIds).toEqual(sorted([eMidnight, eAfter, x].map(idOf)));
    expect(entire.keyIds).toEqual(sorted(all.map(idOf)));
  });

  test('EW2 at D+15 00:00:30 the key of hour D·24 − 1 is gone from reads (re-uploaded: stored anew), those of hours D·24 and D·24 + 1 are not (duplicates, not charged)', async () => {
    // Act
    const { set, response } = await uploadAt(at(D + 15, 0, 0, 30), [eBefore, eMidnight, eAfter]);

    // Assess
    expectAccepted(response);
    expect(await Promise.all([eBefore, eMidnight, eAfter].map(itemOf))).toEqual([
      { submissionHour: (D + 15) * 24, expiresAt: (D + 31) * 86400 },
      { submissionHour: D * 24, expiresAt: (D + 16) * 86400 },
      { submissionHour: D * 24 + 1, expiresAt: (D + 16) * 86400 },
    ]);
    expect((await store.keyPair(set.serverPublicKey))?.remainingKeys).toBe(42);
  });

  test('at D+15 23:59 (its last served minute) the key of day D is the only key of 00000 and still a duplicate; day D itself is 410', async () => {
    // Act
    const { response } = await uploadAt(at(D + 15, 23, 59), [x]);
    await runBuildExports(runtime.url);
    const entire = await retrieval.bundle(ENTIRE_PERIOD);
    const dayD = await retrieval.retrieve(periodOf(D));

    // Assess
    expectAccepted(response);
    expect(entire.keys).toEqual([exported(x)]);
    expect(answerOf(dayD)).toEqual({ status: 410, contentType: TEXT_PLAIN, body: 'requested data no longer valid\n' });
    expect(await itemOf(x)).toEqual({ submissionHour: D * 24 + 23, expiresAt: (D + 16) * 86400 });
  });

  test('at D+16 00:00:30 the key of day D is in no bundle and gone from reads: re-uploaded, it is stored anew', async () => {
    // Act
    await clock.set(at(D + 16, 0, 0, 30));
    await runBuildExports(runtime.url);
    const bundles = await everyBundle();
    const { response } = await uploadAt(at(D + 16, 0, 1), [x]);

    // Assess
    expect(bundles).toEqual(bundlesWith(D + 16, {}));
    expectAccepted(response);
    expect(await itemOf(x)).toEqual({ submissionHour: (D + 16) * 24, expiresAt: (D + 32) * 86400 });
  });
});
