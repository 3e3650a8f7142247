/**
 * The local runtime over HTTP: services, local controls, and the API Gateway behaviours a later
 * handler relies on.
 */
import { getJson, runtimeUrl } from '../support/runtime';
import { startLocalProcess, TEST_ENV, type LocalProcess } from '../support/local-process';
import { freePort } from '../../local/ports';

const get = (path: string, init?: RequestInit) => fetch(`${runtimeUrl()}${path}`, init);

describe('/services', () => {
  test.each(['GET', 'POST', 'HEAD'])('%s /services/ping answers 200 OK with no-store', async (method) => {
    // Act
    const response = await get('/services/ping', { method });

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.text()).toBe(method === 'HEAD' ? '' : 'OK\n');
  });

  test('/services/present answers 204 with an empty body', async () => {
    // Act
    const response = await get('/services/present');

    // Assess
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
  });

  test('unknown paths answer the upstream 404', async () => {
    const response = await get('/no/such/path');
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('404 page not found\n');
  });
});

describe('/_local/info', () => {
  test('describes the running system with the contract fields', async () => {
    // Act
    const info = await getJson(`${runtimeUrl()}/_local/info`);

    // Assess
    expect(info).toMatchObject({
      url: runtimeUrl(),
      region: '302',
      keyClaimTokens: ['first-very-long-token', 'second-very-long-token'],
      retrieveHmacKey: TEST_ENV.RETRIEVE_HMAC_KEY,
      metricsApiKey: TEST_ENV.METRICS_API_KEY,
      exportSigningPublicKeyPem: expect.stringMatching(/^-----BEGIN PUBLIC KEY-----\n/),
      dynamodb: {
        endpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
        tables: { submission: expect.any(String), diagnosisKeys: expect.any(String), rawMetrics: expect.any(String), aggregateMetrics: expect.any(String), metricsLedger: expect.any(String) },
      },
      s3: {
        endpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
        accessKeyId: expect.any(String),
        secretAccessKey: expect.any(String),
        buckets: { exports: expect.any(String), reports: expect.any(String) },
      },
      storage: { inMemory: true, dataDir: null },
    });
  });

  test('the DynamoDB and S3 endpoints it names answer', async () => {
    // Prepare
    const info = await getJson(`${runtimeUrl()}/_local/info`);

    // Act
    const dynamo = await fetch(info.dynamodb.endpoint, { method: 'POST' });
    const s3 = await fetch(`${info.s3.endpoint}/${info.s3.buckets.exports}`);

    // Assess: both are real servers answering their own protocol (errors for unsigned calls).
    expect(dynamo.status).toBeGreaterThanOrEqual(400);
    expect(s3.status).toBeLessThan(500);
  });
});

describe('/_local/clock', () => {
  // A runtime of its own: moving the shared runtime's clock would disturb files running in parallel.
  let own: LocalProcess;
  const clock = (init?: RequestInit) => fetch(`${own.url}/_local/clock`, init);

  beforeAll(async () => {
    own = await startLocalProcess({ name: 'clock-control', port: await freePort() });
  });
  afterAll(() => own.stop());

  test('sets an absolute offset that GET reports with the shifted time', async () => {
    // Act
    await clock({ method: 'POST', body: JSON.stringify({ offsetSeconds: 3600 }) });
    const set = await clock({ method: 'POST', body: JSON.stringify({ offsetSeconds: 86400 }) });
    const state = await getJson(`${own.url}/_local/clock`);

    // Assess
    expect(set.status).toBe(200);
    expect(state.offsetSeconds).toBe(86400);
    const skew = Date.parse(state.now) - Date.now() - 86400 * 1000;
    expect(Math.abs(skew)).toBeLessThan(5000);
  });

  test.each([['not json'], ['{}'], ['{"offsetSeconds":"1"}'], ['{"offsetSeconds":1e12}']])('refuses %s with 400', async (body) => {
    // Act
    const response = await clock({ method: 'POST', body });

    // Assess
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(/offsetSeconds/);
  });
});

describe('/_local/run/{job}', () => {
  test('an unknown job is 404 with the list of known jobs', async () => {
    // Act
    const response = await get('/_local/run/no-such-job', { method: 'POST' });

    // Assess
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: expect.stringContaining('no-such-job'), jobs: expect.any(Array) });
  });

  test('GET is refused', async () => {
    expect((await get('/_local/run/anything')).status).toBe(405);
  });
});
