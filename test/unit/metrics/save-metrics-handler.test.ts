/**
 * POST /save-metrics end to end through the handler, the use case and the DynamoDB adapter, with
 * the document client mocked (aws-sdk-client-mock): status table, API key, body caps, the one
 * transaction for split bodies, and nothing written when storage fails.
 */
import './quiet';
import { DynamoDBClient, ThrottlingException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { makeSaveMetricsHandler, SAVE_METRICS_BODY_LIMIT, apiKeyMatches } from '../../../lambdas/handlers/save-metrics';
import { buildSaveMetricsContext } from '../../../lambdas/shared/metrics-context';
import { apiEvent, lambdaContext } from '../../support/builders/api-events';
import { FixedClock, SeededRandom } from '../../support/builders/deterministic';
import { envelope, payloadItem, text } from './builders';

const ddb = mockClient(DynamoDBDocumentClient);
const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'ca-central-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }));
const API_KEY = 'local-metrics-api-key-0123456789';
const NOW = Date.UTC(2022, 3, 15, 12, 0, 0);
const JSON_HEADERS = { 'Content-Type': 'application/json' };
const meta = { $metadata: {} };

function handlerWith(options: { requireApiKey?: boolean } = {}) {
  const requireApiKey = options.requireApiKey ?? true;
  const context = buildSaveMetricsContext({
    db,
    rawMetricsTable: 'raw-table',
    clock: new FixedClock(NOW),
    random: new SeededRandom('save-metrics-handler'),
    requireApiKey,
    ...(requireApiKey ? { apiKey: API_KEY } : {}),
  });
  return makeSaveMetricsHandler(async () => context);
}
const post = (body: string | Uint8Array | null, headers: Record<string, string> = { 'x-api-key': API_KEY }, method = 'POST', handler = handlerWith()) =>
  handler(apiEvent({ method, path: '/save-metrics', body: typeof body === 'string' ? Buffer.from(body) : body, headers }), lambdaContext('save-metrics'));
/** A body of 200 events, a little over 100 KiB. */
const bigBody = () =>
  text(envelope(Array.from({ length: 200 }, (_, i) => payloadItem('background-process', { status: 'success', durationInSeconds: String(i), pad: 'p'.repeat(400) }))));

beforeEach(() => {
  ddb.reset();
  ddb.on(PutCommand).resolves({});
  ddb.on(TransactWriteCommand).resolves({});
});

describe('save-metrics handler', () => {
  test('200 RECORD CREATED: one conditional PutItem {id, raw, expiresAt = now + 24 h}', async () => {
    // Prepare
    const body = text(envelope());

    // Act
    const result = await post(body);

    // Assess
    expect(result).toMatchObject({ statusCode: 200, headers: JSON_HEADERS, body: '{"status":"RECORD CREATED"}' });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
    const puts = ddb.commandCalls(PutCommand);
    expect(puts).toHaveLength(1);
    expect(puts[0].args[0].input).toEqual({
      TableName: 'raw-table',
      Item: { id: expect.stringMatching(/^[0-9a-f-]{36}$/), raw: body, expiresAt: NOW / 1000 + 86_400 },
      ConditionExpression: 'attribute_not_exists(id)',
    });
  });

  test('a body just over 100 KiB: all chunks in ONE TransactWriteItems, each a full envelope', async () => {
    // Prepare
    const body = bigBody();

    // Act
    const result = await post(body);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
    const transactions = ddb.commandCalls(TransactWriteCommand);
    expect(transactions).toHaveLength(1);
    const items = (transactions[0].args[0].input.TransactItems ?? []).map((a) => a.Put?.Item as { raw: string });
    expect(items).toHaveLength(2);
    const payloads = items.map((i) => JSON.parse(i.raw) as { payload: unknown[]; appversion: string });
    expect(payloads.map((p) => p.appversion)).toEqual(['1.5.4', '1.5.4']);
    expect(payloads.flatMap((p) => p.payload)).toEqual((JSON.parse(body) as { payload: unknown[] }).payload);
  });

  test('500 UPLOAD FAILED when the transaction fails, and nothing else was written', async () => {
    // Prepare
    ddb.on(TransactWriteCommand).rejects(new TransactionCanceledException({ message: 'cancelled', ...meta, CancellationReasons: [{ Code: 'None' }, { Code: 'ThrottlingError' }] }));

    // Act
    const result = await post(bigBody());

    // Assess
    expect(result).toMatchObject({ statusCode: 500, headers: JSON_HEADERS, body: '{"status":"UPLOAD FAILED"}' });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  test('500 UPLOAD FAILED when the single put is throttled', async () => {
    // Prepare
    ddb.on(PutCommand).rejects(new ThrottlingException({ message: 'Rate exceeded', ...meta }));

    // Act
    const result = await post(text(envelope()));

    // Assess
    expect(result).toMatchObject({ statusCode: 500, body: '{"status":"UPLOAD FAILED"}' });
  });

  test.each([
    ['missing', {}],
    ['wrong', { 'x-api-key': `${API_KEY}x` }],
    ['empty', { 'x-api-key': '' }],
  ])('403 {"message":"Forbidden"} for a %s x-api-key, before anything else', async (_what, headers) => {
    // Act
    const result = await post(text(envelope()), headers);

    // Assess
    expect(result).toMatchObject({ statusCode: 403, headers: JSON_HEADERS, body: '{"message":"Forbidden"}' });
    expect(ddb.calls()).toHaveLength(0);
  });

  test('the header name is case-insensitive (API Gateway keeps the client casing)', async () => {
    // Act
    const result = await post(text(envelope()), { 'X-Api-Key': API_KEY });

    // Assess
    expect(result.statusCode).toBe(200);
  });

  test('behind API Gateway (requireApiKey false) no key is checked', async () => {
    // Act
    const result = await post(text(envelope()), {}, 'POST', handlerWith({ requireApiKey: false }));

    // Assess
    expect(result.statusCode).toBe(200);
  });

  test.each(['GET', 'PUT', 'DELETE'])('405 for %s', async (method) => {
    // Act
    const result = await post(null, { 'x-api-key': API_KEY }, method);

    // Assess
    expect(result).toMatchObject({ statusCode: 405, body: '{"message":"Method Not Allowed"}', headers: { Allow: 'POST' } });
    expect(ddb.calls()).toHaveLength(0);
  });

  test(`413 with a reason over ${SAVE_METRICS_BODY_LIMIT} bytes; exactly the limit is accepted`, async () => {
    // Prepare
    const base = text(envelope([payloadItem('installed', { pad: '' })]));
    const atLimit = base.replace('"pad":""', `"pad":"${'p'.repeat(SAVE_METRICS_BODY_LIMIT - base.length)}"`);

    // Act
    const over = await post(`${atLimit} `);
    const exact = await post(atLimit);

    // Assess
    expect(over).toMatchObject({ statusCode: 413, headers: JSON_HEADERS });
    expect(JSON.parse(over.body)).toEqual({ status: 'INVALID PAYLOAD', reason: `body larger than ${SAVE_METRICS_BODY_LIMIT} bytes` });
    expect(exact.statusCode).toBe(200);
  });

  test.each([
    ['not JSON', 'metrics please', 'body is not valid JSON'],
    ['a schema failure', text(envelope([])), 'payload must be a non-empty array'],
    ['appversion too long', text(envelope(undefined, { appversion: '12345678901' })), 'appversion must be at most 10 characters'],
  ])('400 INVALID PAYLOAD with a reason for %s; nothing written', async (_what, body, reason) => {
    // Act
    const result = await post(body);

    // Assess
    expect(result).toMatchObject({ statusCode: 400, headers: JSON_HEADERS });
    expect(JSON.parse(result.body)).toEqual({ status: 'INVALID PAYLOAD', reason });
    expect(ddb.calls()).toHaveLength(0);
  });

  test('a body that is not base64 (isBase64Encoded true) is 400', async () => {
    // Prepare
    const event = { ...apiEvent({ path: '/save-metrics', headers: { 'x-api-key': API_KEY } }), body: '%%%not-base64', isBase64Encoded: true };

    // Act
    const result = await handlerWith()(event, lambdaContext('save-metrics'));

    // Assess
    expect(JSON.parse(result.body)).toEqual({ status: 'INVALID PAYLOAD', reason: 'body is not valid base64' });
  });

  test('a plain (not base64) body is accepted too', async () => {
    // Prepare
    const body = text(envelope());
    const event = { ...apiEvent({ path: '/save-metrics', headers: { 'x-api-key': API_KEY } }), body, isBase64Encoded: false };

    // Act
    const result = await handlerWith()(event, lambdaContext('save-metrics'));

    // Assess
    expect(result.statusCode).toBe(200);
    expect(ddb.commandCalls(PutCommand)[0].args[0].input.Item?.raw).toBe(body);
  });

  test('an unexpected error is 500 UPLOAD FAILED too (no exception text leaves the function)', async () => {
    // Prepare
    const handler = makeSaveMetricsHandler(async () => {
      throw new Error('configuration exploded: secret=hunter2');
    });

    // Act
    const result = await handler(apiEvent({ path: '/save-metrics', body: Buffer.from(text(envelope())) }), lambdaContext('save-metrics'));

    // Assess
    expect(result).toMatchObject({ statusCode: 500, body: '{"status":"UPLOAD FAILED"}' });
  });

  test('apiKeyMatches compares whole keys', () => {
    // Act / Assess
    expect([apiKeyMatches(API_KEY, API_KEY), apiKeyMatches(API_KEY.slice(0, -1), API_KEY), apiKeyMatches(undefined, API_KEY), apiKeyMatches('', '')]).toEqual([true, false, false, false]);
  });
});
