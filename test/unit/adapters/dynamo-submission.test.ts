/**
 * The DynamoDB submission adapter against a mocked document client (aws-sdk-client-mock): SDK
 * errors become domain outcomes or StorageError, never anything else (STYLE rule 3).
 */
import '../../support/builders/quiet-logs';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  ResourceNotFoundException,
  ThrottlingException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { MAX_CONTENTION_RETRIES, DynamoBanStore, DynamoCodeStore, DynamoKeyPairStore, submissionKeys } from '../../../lambdas/adapters/dynamo-submission';
import { claimKey } from '../../../lambdas/domain/claim-key';
import { issueCode } from '../../../lambdas/domain/issue-code';
import { StorageError } from '../../../lambdas/domain/settings';
import { uploadKeys } from '../../../lambdas/domain/upload-keys';
import { makeClaimKeyHandler } from '../../../lambdas/handlers/claim-key';
import { makeIssueCodeHandler } from '../../../lambdas/handlers/issue-code';
import { makeUploadKeysHandler } from '../../../lambdas/handlers/upload-keys';
import { buildSubmissionContext } from '../../../lambdas/shared/submission-context';
import type { PendingCode, StoredKey } from '../../../lambdas/ports';
import { apiEvent, bodyHex, lambdaContext } from '../../support/builders/api-events';
import { FixedClock, SeededRandom } from '../../support/builders/deterministic';
import { RecordingEvents } from '../../support/builders/in-memory-submission';
import { NOW, TOKENS } from '../../support/builders/submission';
import { encodeUpload } from '../../support/builders/uploads';

const ddb = mockClient(DynamoDBDocumentClient);
const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'ca-central-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }));
const TABLES = { submission: 'submission-table', diagnosisKeys: 'keys-table' };
const NOW_S = NOW / 1000;
const BAN_SECONDS = 3600;

const codes = new DynamoCodeStore(db, TABLES);
const bans = new DynamoBanStore(db, TABLES, BAN_SECONDS);
const keyPairs = new DynamoKeyPairStore(db, TABLES);

const bytes = (fill: number, length = 32) => new Uint8Array(length).fill(fill);
const SPK = bytes(1);
const APK = bytes(2);
const meta = { $metadata: {} };
const throttled = () => new ProvisionedThroughputExceededException({ message: 'Rate of requests exceeds the allowed throughput', ...meta });
const throttling = () => new ThrottlingException({ message: 'Rate exceeded', ...meta });
const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({ message: 'Transaction cancelled', ...meta, CancellationReasons: codes.map((Code) => ({ Code })) });
const conditionFailed = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', ...meta });

const PENDING: PendingCode = { serverPublicKey: SPK, source: 'ON', createdAtMs: NOW, expiresAt: NOW_S + 86_400 };
const PENDING_WITH_HASH_ID: PendingCode = { ...PENDING, hashIdHash: 'hash-id-hmac' };
const claimInput = (code: PendingCode = PENDING) => ({ codeHash: 'code-hmac', code, appPublicKey: APK, keyPairExpiresAt: NOW_S + 15 * 86_400 });
const newCode = (extra: object = {}) => ({
  codeHash: 'code-hmac',
  keyPair: { serverPublicKey: SPK, serverPrivateKey: bytes(3), remainingKeys: 43, originator: 'o-1', source: 'ON', createdAtMs: NOW, expiresAt: NOW_S + 86_400 },
  ...extra,
});
const keyPairItem = (extra: object = {}) => ({
  pk: submissionKeys.keyPair(SPK),
  serverPublicKey: SPK,
  serverPrivateKey: bytes(3),
  appPublicKey: APK,
  remainingKeys: 43,
  initialRemainingKeys: 43,
  originator: 'o-1',
  source: 'ON',
  createdAtMs: NOW,
  expiresAt: NOW_S + 86_400,
  ...extra,
});
const aStoredKey = (fill: number): StoredKey => ({ keyData: bytes(fill, 16), rollingStartIntervalNumber: 2_850_000, rollingPeriod: 144, transmissionRiskLevel: 1 });
const storeInput = (keys: StoredKey[]) => ({
  serverPublicKey: SPK,
  appPublicKey: APK,
  keys,
  region: '302',
  submissionHour: Math.floor(NOW_S / 3600),
  originator: 'o-1',
  keysExpireAt: NOW_S + 15 * 86_400,
});

beforeEach(() => ddb.reset());

describe('throttling becomes StorageError in every store method', () => {
  const calls: Array<[string, () => Promise<unknown>]> = [
    ['codes.insertCode', () => codes.insertCode(newCode(), NOW)],
    ['codes.findCode', () => codes.findCode('code-hmac', NOW)],
    ['codes.isAppKeyInUse', () => codes.isAppKeyInUse(APK, NOW)],
    ['codes.claim', () => codes.claim(claimInput(), NOW)],
    ['bans.get', () => bans.get('ip-hmac', NOW)],
    ['bans.recordFailure', () => bans.recordFailure('ip-hmac', NOW)],
    ['bans.clear', () => bans.clear('ip-hmac')],
    ['keyPairs.get', () => keyPairs.get(SPK, NOW)],
    ['keyPairs.storeKeys', () => keyPairs.storeKeys(storeInput([aStoredKey(5)]), NOW)],
  ];
  const errors: Array<[string, () => Error]> = [
    ['ProvisionedThroughputExceededException', throttled],
    ['ThrottlingException', throttling],
  ];

  test.each(calls.flatMap(([name, call]) => errors.map(([errorName, error]) => [name, errorName, call, error] as const)))(
    '%s with %s',
    async (_name, errorName, call, error) => {
      // Prepare
      const thrown = error();
      ddb.onAnyCommand().rejects(thrown);

      // Act
      const outcome = call();

      // Assess
      await expect(outcome).rejects.toBeInstanceOf(StorageError);
      await expect(outcome).rejects.toMatchObject({ cause: thrown, message: expect.stringContaining(errorName) });
    },
  );

  test('storeKeys: a throttled transaction after good reads is a StorageError too', async () => {
    // Prepare
    ddb.on(BatchGetCommand).resolves({ Responses: { [TABLES.diagnosisKeys]: [] } });
    ddb.on(GetCommand).resolves({ Item: keyPairItem() });
    ddb.on(TransactWriteCommand).rejects(throttled());

    // Act / Assess
    await expect(keyPairs.storeKeys(storeInput([aStoredKey(5)]), NOW)).rejects.toBeInstanceOf(StorageError);
  });

  test('any other SDK error (a missing table) is a StorageError', async () => {
    // Prepare
    ddb.onAnyCommand().rejects(new ResourceNotFoundException({ message: 'Requested resource not found', ...meta }));

    // Act / Assess
    await expect(codes.findCode('code-hmac', NOW)).rejects.toBeInstanceOf(StorageError);
  });
});

describe('throttling through the domain and the handlers', () => {
  const context = () =>
    buildSubmissionContext({
      db,
      tables: TABLES,
      hmacKey: bytes(9),
      keyClaimTokens: [TOKENS.federal],
      clock: new FixedClock(NOW),
      random: new SeededRandom('throttled'),
      events: new RecordingEvents(),
    });

  beforeEach(() => ddb.onAnyCommand().rejects(throttled()));

  test('claimKey answers SERVER_ERROR; the handler 500 with SERVER_ERROR protobuf', async () => {
    // Prepare
    const handler = makeClaimKeyHandler(async () => context());

    // Act
    const result = await claimKey(context(), '192.0.2.1', { kind: 'claim', oneTimeCode: 'AEF245XYZW', appPublicKey: APK });
    const response = await handler(apiEvent({ path: '/claim-key', body: Uint8Array.from([0x0a, 0x00]) }), lambdaContext());

    // Assess
    expect(result).toEqual({ kind: 'SERVER_ERROR', triesRemaining: 50 });
    expect(response.statusCode).toBe(500);
    expect(bodyHex(response)).toBe('08 03 18 32');
  });

  test('uploadKeys answers 500 SERVER_ERROR; the handler 500 with bytes 08 05', async () => {
    // Prepare
    const request = { kind: 'upload', serverPublicKey: SPK, appPublicKey: APK, nonce: bytes(0, 24), payload: bytes(0, 40) } as const;
    const handler = makeUploadKeysHandler(async () => context());

    // Act
    const result = await uploadKeys(context(), request);
    const response = await handler(apiEvent({ path: '/upload', body: encodeUpload(request) }), lambdaContext());

    // Assess
    expect(result).toEqual({ kind: 'SERVER_ERROR', status: 500 });
    expect(response.statusCode).toBe(500);
    expect(bodyHex(response)).toBe('08 05');
  });

  test('issueCode rejects with StorageError; the handler answers 500 server error\\n', async () => {
    // Prepare
    const handler = makeIssueCodeHandler(async () => context());

    // Act
    const outcome = issueCode(context(), { authorization: `Bearer ${TOKENS.federal.token}` });
    const response = await handler(apiEvent({ path: '/new-key-claim', headers: { Authorization: `Bearer ${TOKENS.federal.token}` } }), lambdaContext());

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(StorageError);
    expect(response).toMatchObject({ statusCode: 500, body: 'server error\n' });
  });
});

describe('DynamoCodeStore.claim', () => {
  test('writes one transaction: delete the live code, bind the key pair, reserve the app key', async () => {
    // Prepare
    ddb.on(TransactWriteCommand).resolves({});

    // Act
    const outcome = await codes.claim(claimInput(), NOW);

    // Assess
    expect(outcome).toEqual({ kind: 'claimed', serverPublicKey: SPK, source: 'ON' });
    const items = ddb.commandCalls(TransactWriteCommand)[0].args[0].input.TransactItems ?? [];
    expect(items.map((i) => i.Delete?.Key?.pk ?? i.Update?.Key?.pk ?? i.Put?.Item?.pk)).toEqual([
      'code#code-hmac',
      submissionKeys.keyPair(SPK),
      submissionKeys.appKey(APK),
    ]);
    expect(items[0].Delete?.ConditionExpression).toContain('expiresAt > :now');
    expect(items[1].Update?.ConditionExpression).toContain('attribute_not_exists(appPublicKey)');
  });

  test('with a hashId, the transaction also marks the hashId claimed, conditional on its code', async () => {
    // Prepare
    ddb.on(TransactWriteCommand).resolves({});

    // Act
    await codes.claim(claimInput(PENDING_WITH_HASH_ID), NOW);

    // Assess
    const items = ddb.commandCalls(TransactWriteCommand)[0].args[0].input.TransactItems ?? [];
    expect(items[3].Update).toMatchObject({ Key: { pk: 'hashid#hash-id-hmac' }, ConditionExpression: 'codeHash = :code' });
  });

  test.each([
    ['app key item (index 2) failed', ['None', 'None', 'ConditionalCheckFailed'], 'app-key-in-use'],
    ['code and app key failed: the app key wins', ['ConditionalCheckFailed', 'None', 'ConditionalCheckFailed'], 'app-key-in-use'],
    ['code gone or expired (index 0)', ['ConditionalCheckFailed', 'None', 'None'], 'code-invalid'],
    ['key pair already bound (index 1)', ['None', 'ConditionalCheckFailed', 'None'], 'code-invalid'],
    ['hashId moved on (index 3)', ['None', 'None', 'None', 'ConditionalCheckFailed'], 'code-invalid'],
  ])('cancellation: %s → %s', async (_why, reasons, kind) => {
    // Prepare
    ddb.on(TransactWriteCommand).rejects(cancelled(...reasons));

    // Act
    const outcome = await codes.claim(claimInput(PENDING_WITH_HASH_ID), NOW);

    // Assess
    expect(outcome.kind).toBe(kind);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });

  test('a TransactionConflict is retried while the code still exists, then succeeds', async () => {
    // Prepare
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled('None', 'TransactionConflict', 'None')).resolves({});
    ddb.on(GetCommand).resolves({ Item: { pk: 'code#code-hmac', serverPublicKey: SPK, expiresAt: NOW_S + 100 } });

    // Act
    const outcome = await codes.claim(claimInput(), NOW);

    // Assess
    expect(outcome).toEqual({ kind: 'claimed', serverPublicKey: SPK, source: 'ON' });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(2);
    expect(ddb.commandCalls(GetCommand)[0].args[0].input).toMatchObject({ Key: { pk: 'code#code-hmac' }, ConsistentRead: true });
  });

  test('a TransactionConflict after which the code is gone means another request won: code-invalid', async () => {
    // Prepare
    ddb.on(TransactWriteCommand).rejects(cancelled('TransactionConflict', 'None', 'None'));
    ddb.on(GetCommand).resolves({});

    // Act
    const outcome = await codes.claim(claimInput(), NOW);

    // Assess
    expect(outcome).toEqual({ kind: 'code-invalid' });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });

  test('a conflict that never clears ends in StorageError after the retries', async () => {
    // Prepare
    ddb.on(TransactWriteCommand).rejects(cancelled('None', 'TransactionConflict', 'None'));
    ddb.on(GetCommand).resolves({ Item: { pk: 'code#code-hmac', expiresAt: NOW_S + 100 } });

    // Act
    const outcome = codes.claim(claimInput(), NOW);

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(StorageError);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(MAX_CONTENTION_RETRIES + 1);
  });
});

describe('DynamoCodeStore.insertCode', () => {
  test('without a hashId: a code item and a key pair item, both conditional', async () => {
    // Prepare
    ddb.on(TransactWriteCommand).resolves({});

    // Act
    const outcome = await codes.insertCode(newCode(), NOW);

    // Assess
    expect(outcome).toEqual({ kind: 'inserted' });
    const items = ddb.commandCalls(TransactWriteCommand)[0].args[0].input.TransactItems ?? [];
    expect(items.map((i) => i.Put?.Item?.pk)).toEqual(['code#code-hmac', submissionKeys.keyPair(SPK)]);
    expect(items[0].Put?.Item).not.toHaveProperty('serverPrivateKey');
  });

  test.each([
    ['code taken', ['ConditionalCheckFailed', 'None']],
    ['key pair taken', ['None', 'ConditionalCheckFailed']],
    ['transaction conflict', ['TransactionConflict', 'None']],
  ])('%s → retry', async (_why, reasons) => {
    // Prepare
    ddb.on(TransactWriteCommand).rejects(cancelled(...reasons));

    // Act
    const outcome = await codes.insertCode(newCode(), NOW);

    // Assess
    expect(outcome).toEqual({ kind: 'retry' });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });

  test.each([
    ['claimed', { claimed: true, codeHash: 'old', serverPublicKey: bytes(7), expiresAt: NOW_S + 100 }, { kind: 'hash-id-claimed' }],
    [
      'unclaimed',
      { claimed: false, codeHash: 'old', serverPublicKey: bytes(7), expiresAt: NOW_S + 100 },
      { kind: 'hash-id-unclaimed', current: { codeHash: 'old', serverPublicKey: bytes(7) } },
    ],
    ['expired', { claimed: true, codeHash: 'old', serverPublicKey: bytes(7), expiresAt: NOW_S }, { kind: 'retry' }],
    ['gone', undefined, { kind: 'retry' }],
  ])('a failed hashId condition reads the hashId item (consistently): %s', async (_why, item, expected) => {
    // Prepare
    ddb.on(TransactWriteCommand).rejects(cancelled('None', 'None', 'ConditionalCheckFailed'));
    ddb.on(GetCommand).resolves(item ? { Item: { pk: 'hashid#hash-id-hmac', ...item } } : {});

    // Act
    const outcome = await codes.insertCode(newCode({ hashIdHash: 'hash-id-hmac' }), NOW);

    // Assess
    expect(outcome).toEqual(expected);
    expect(ddb.commandCalls(GetCommand)[0].args[0].input).toEqual({ TableName: TABLES.submission, Key: { pk: 'hashid#hash-id-hmac' }, ConsistentRead: true });
  });

  test('a regeneration whose old key pair was claimed meanwhile (index 4) is classified by the hashId read', async () => {
    // Prepare
    ddb.on(TransactWriteCommand).rejects(cancelled('None', 'None', 'None', 'None', 'ConditionalCheckFailed'));
    ddb.on(GetCommand).resolves({ Item: { pk: 'hashid#hash-id-hmac', claimed: true, codeHash: 'old', expiresAt: NOW_S + 100 } });

    // Act
    const outcome = await codes.insertCode(newCode({ hashIdHash: 'hash-id-hmac', replacing: { codeHash: 'old', serverPublicKey: bytes(7) } }), NOW);

    // Assess
    expect(outcome).toEqual({ kind: 'hash-id-claimed' });
    const items = ddb.commandCalls(TransactWriteCommand)[0].args[0].input.TransactItems ?? [];
    expect(items.map((i) => i.Put?.Item?.pk ?? i.Delete?.Key?.pk)).toEqual([
      'code#code-hmac',
      submissionKeys.keyPair(SPK),
      'hashid#hash-id-hmac',
      'code#old',
      submissionKeys.keyPair(bytes(7)),
    ]);
  });
});

describe('reads ignore expired items (TTL deletes lazily)', () => {
  test.each([
    ['findCode', () => codes.findCode('code-hmac', NOW)],
    ['isAppKeyInUse', () => codes.isAppKeyInUse(APK, NOW)],
    ['keyPairs.get', () => keyPairs.get(SPK, NOW)],
  ])('%s: an item with expiresAt = now is gone, expiresAt = now + 1 is live', async (_name, read) => {
    // Prepare
    ddb.on(GetCommand).resolvesOnce({ Item: keyPairItem({ expiresAt: NOW_S }) }).resolvesOnce({ Item: keyPairItem({ expiresAt: NOW_S + 1 }) });

    // Act
    const expired = await read();
    const live = await read();

    // Assess
    expect([Boolean(expired), Boolean(live)]).toEqual([false, true]);
  });

  test('bans.get: a counter whose last failure is a ban duration old is gone', async () => {
    // Prepare
    const item = (lastFailureMs: number) => ({ Item: { pk: 'ban#ip', failures: 50, lastFailureMs, expiresAt: NOW_S + 10 } });
    ddb.on(GetCommand).resolvesOnce(item(NOW - BAN_SECONDS * 1000)).resolvesOnce(item(NOW - BAN_SECONDS * 1000 + 1));

    // Act
    const old = await bans.get('ip', NOW);
    const live = await bans.get('ip', NOW);

    // Assess
    expect(old).toBeUndefined();
    expect(live).toEqual({ failures: 50, lastFailureMs: NOW - BAN_SECONDS * 1000 + 1 });
  });
});

describe('DynamoBanStore.recordFailure', () => {
  test('adds to a live counter atomically', async () => {
    // Prepare
    ddb.on(UpdateCommand).resolves({ Attributes: { failures: 7 } });

    // Act
    const record = await bans.recordFailure('ip', NOW);

    // Assess
    expect(record).toEqual({ failures: 7, lastFailureMs: NOW });
    expect(ddb.commandCalls(UpdateCommand)[0].args[0].input).toMatchObject({
      Key: { pk: 'ban#ip' },
      UpdateExpression: expect.stringContaining('ADD failures :one'),
      ExpressionAttributeValues: expect.objectContaining({ ':cutoff': NOW - BAN_SECONDS * 1000, ':expires': NOW_S + BAN_SECONDS }),
    });
  });

  test('no live counter: starts one at 1 with a conditional put', async () => {
    // Prepare
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(PutCommand).resolves({});

    // Act
    const record = await bans.recordFailure('ip', NOW);

    // Assess
    expect(record).toEqual({ failures: 1, lastFailureMs: NOW });
    expect(ddb.commandCalls(PutCommand)[0].args[0].input).toMatchObject({
      Item: { pk: 'ban#ip', failures: 1, lastFailureMs: NOW, expiresAt: NOW_S + BAN_SECONDS },
      ConditionExpression: expect.stringContaining('attribute_not_exists(pk)'),
    });
  });

  test('a concurrent first failure: the put loses, the next update adds to the new counter', async () => {
    // Prepare
    ddb.on(UpdateCommand).rejectsOnce(conditionFailed()).resolves({ Attributes: { failures: 2 } });
    ddb.on(PutCommand).rejects(conditionFailed());

    // Act
    const record = await bans.recordFailure('ip', NOW);

    // Assess
    expect(record).toEqual({ failures: 2, lastFailureMs: NOW });
  });

  test('endless contention ends in StorageError', async () => {
    // Prepare
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(PutCommand).rejects(conditionFailed());

    // Act / Assess
    await expect(bans.recordFailure('ip', NOW)).rejects.toBeInstanceOf(StorageError);
  });
});

describe('DynamoKeyPairStore.storeKeys', () => {
  test('a cancelled transaction (quota or key changed meanwhile) is re-read and retried', async () => {
    // Prepare
    ddb.on(BatchGetCommand).resolves({ Responses: { [TABLES.diagnosisKeys]: [] } });
    ddb.on(GetCommand).resolves({ Item: keyPairItem() });
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled('ConditionalCheckFailed', 'None')).resolves({});

    // Act
    const outcome = await keyPairs.storeKeys(storeInput([aStoredKey(5)]), NOW);

    // Assess
    expect(outcome).toEqual({ kind: 'stored', inserted: 1, duplicates: 0, firstUpload: true });
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(2);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(2);
  });

  test('one transaction charges the quota conditionally and puts every new key conditionally', async () => {
    // Prepare
    ddb.on(BatchGetCommand).resolves({ Responses: { [TABLES.diagnosisKeys]: [{ keyData: bytes(6, 16), expiresAt: NOW_S + 10 }] } });
    ddb.on(GetCommand).resolves({ Item: keyPairItem({ remainingKeys: 40 }) });
    ddb.on(TransactWriteCommand).resolves({});

    // Act
    const outcome = await keyPairs.storeKeys(storeInput([aStoredKey(5), aStoredKey(6), aStoredKey(7)]), NOW);

    // Assess
    expect(outcome).toEqual({ kind: 'stored', inserted: 2, duplicates: 1, firstUpload: false });
    const items = ddb.commandCalls(TransactWriteCommand)[0].args[0].input.TransactItems ?? [];
    expect(items[0].Update).toMatchObject({
      ConditionExpression: 'remainingKeys >= :n AND appPublicKey = :apk AND expiresAt > :now',
      ExpressionAttributeValues: expect.objectContaining({ ':minus': -2, ':n': 2 }),
    });
    expect(items.slice(1).map((i) => i.Put?.Item?.keyData)).toEqual([bytes(5, 16), bytes(7, 16)]);
  });

  test('an expired stored key does not count as known', async () => {
    // Prepare
    ddb.on(BatchGetCommand).resolves({ Responses: { [TABLES.diagnosisKeys]: [{ keyData: bytes(5, 16), expiresAt: NOW_S }] } });
    ddb.on(GetCommand).resolves({ Item: keyPairItem() });
    ddb.on(TransactWriteCommand).resolves({});

    // Act
    const outcome = await keyPairs.storeKeys(storeInput([aStoredKey(5)]), NOW);

    // Assess
    expect(outcome).toMatchObject({ kind: 'stored', inserted: 1, duplicates: 0 });
  });

  test('unprocessed keys of the batch read are read again', async () => {
    // Prepare
    ddb
      .on(BatchGetCommand)
      .resolvesOnce({ Responses: { [TABLES.diagnosisKeys]: [] }, UnprocessedKeys: { [TABLES.diagnosisKeys]: { Keys: [{ keyData: bytes(5, 16) }] } } })
      .resolves({ Responses: { [TABLES.diagnosisKeys]: [{ keyData: bytes(5, 16), expiresAt: NOW_S + 10 }] } });
    ddb.on(GetCommand).resolves({ Item: keyPairItem() });

    // Act
    const outcome = await keyPairs.storeKeys(storeInput([aStoredKey(5)]), NOW);

    // Assess
    expect(outcome).toEqual({ kind: 'stored', inserted: 0, duplicates: 1, firstUpload: true });
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(2);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  test.each([
    ['no key pair', undefined, { kind: 'key-pair-invalid' }],
    ['an unclaimed key pair', keyPairItem({ appPublicKey: undefined }), { kind: 'key-pair-invalid' }],
    ['a key pair bound to another app key', keyPairItem({ appPublicKey: bytes(8) }), { kind: 'key-pair-invalid' }],
    ['an exhausted quota', keyPairItem({ remainingKeys: 0 }), { kind: 'quota-exhausted' }],
    ['fewer remaining keys than new keys', keyPairItem({ remainingKeys: 1 }), { kind: 'over-quota' }],
  ])('%s → %j, nothing written', async (_why, item, expected) => {
    // Prepare
    ddb.on(BatchGetCommand).resolves({ Responses: { [TABLES.diagnosisKeys]: [] } });
    ddb.on(GetCommand).resolves(item ? { Item: item } : {});

    // Act
    const outcome = await keyPairs.storeKeys(storeInput([aStoredKey(5), aStoredKey(6)]), NOW);

    // Assess
    expect(outcome).toEqual(expected);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });
});

describe('DynamoBanStore.clear', () => {
  test('deletes the counter of the IP hash', async () => {
    // Prepare
    ddb.on(DeleteCommand).resolves({});

    // Act
    await bans.clear('ip-hmac');

    // Assess
    expect(ddb.commandCalls(DeleteCommand)[0].args[0].input).toEqual({ TableName: TABLES.submission, Key: { pk: 'ban#ip-hmac' } });
  });
});
