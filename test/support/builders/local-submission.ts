/**
 * The DynamoDB submission stores on the shared local runtime's DynamoDB Local, for integration
 * tests. Every call gets a fresh HMAC key and a fresh random seed, so codes, key pairs and hashes
 * never collide with other tests using the same tables.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { GetCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../../../lambdas/adapters/aws-clients';
import { DynamoBanStore, DynamoCodeStore, DynamoKeyPairStore, type SubmissionTables } from '../../../lambdas/adapters/dynamo-submission';
import { HmacHasher } from '../../../lambdas/adapters/hmac-hasher';
import type { SubmissionSettings } from '../../../lambdas/domain/settings';
import { runtimeInfo } from '../runtime';
import { SeededRandom } from './deterministic';
import { submissionSettings } from './submission';

let shared: Promise<{ db: DynamoDBDocumentClient; tables: SubmissionTables }> | undefined;

/** One document client per test file, on the runtime's DynamoDB Local. */
export function localDynamo() {
  shared ??= runtimeInfo().then((info) => ({
    db: documentClient({
      endpoint: info.dynamodb.endpoint,
      region: info.dynamodb.region,
      credentials: { accessKeyId: info.dynamodb.accessKeyId, secretAccessKey: info.dynamodb.secretAccessKey },
    }),
    tables: { submission: info.dynamodb.tables.submission, diagnosisKeys: info.dynamodb.tables.diagnosisKeys },
  }));
  return shared;
}

export async function localSubmission(settings: Partial<SubmissionSettings> = {}) {
  const { db, tables } = await localDynamo();
  const all = submissionSettings(settings);
  return {
    db,
    tables,
    codes: new DynamoCodeStore(db, tables),
    bans: new DynamoBanStore(db, tables, all.banSeconds),
    keyPairs: new DynamoKeyPairStore(db, tables),
    hasher: new HmacHasher(randomBytes(32)),
    random: new SeededRandom(randomUUID()),
    settings: all,
  };
}

export type LocalSubmission = Awaited<ReturnType<typeof localSubmission>>;

/** The raw item of a table by key, expired or not. */
export async function rawItem(db: DynamoDBDocumentClient, table: string, key: Record<string, unknown>) {
  return (await db.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;
}

/** Every item of a table (paginated scan). */
export async function scanAll(db: DynamoDBDocumentClient, table: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Fresh 16-byte key data. */
export const freshKeyData = (): Uint8Array => new Uint8Array(randomBytes(16));
