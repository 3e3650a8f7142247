/**
 * The one function construct with house defaults, and the binding helpers that give a function
 * a table or bucket: grant and env var in one call (STYLE rule 5).
 *
 * Defaults and why:
 * - Node.js 22 on arm64 (Graviton: cheaper per GB-s, same code). Bundled by the LOCAL esbuild
 *   (`forceDockerBundling: false`): `cdk synth` needs no Docker and no network.
 * - The AWS SDK is bundled (`bundleAwsSDK`), so the deployed SDK is the version the tests ran,
 *   not whatever the Lambda runtime happens to ship.
 * - Its own LogGroup with the stage retention (≤ 14 days, privacy) and a role that may write to
 *   that log group only: no AWSLambdaBasicExecutionRole (it grants logs:* on every log group).
 * - Tracing is OFF: X-Ray segments of API Gateway requests record the client IP
 *   (`http.request.client_ip`) and keep traces 30 days, longer than our 14-day log ceiling, and
 *   the handlers log one summary line per request already (Powertools Logger + EMF Metrics).
 * - Powertools settings come from the environment, so observability is configured here, once.
 */
import * as path from 'node:path';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { LogRetentionDays } from '../config';
import type { BucketDefinition, TableDefinition } from '../definitions';

/** Repository root: entries are given relative to it, and it holds package-lock.json. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_22_X;
export const BUNDLE_TARGET = 'node22';

export type PowertoolsLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** Settings every function of a stage shares; built once by the stack from the stage config. */
export interface FunctionDefaults {
  readonly logRetentionDays: LogRetentionDays;
  /** `POWERTOOLS_METRICS_NAMESPACE`, one per stage so that stages sharing an account do not mix. */
  readonly metricsNamespace: string;
  readonly logLevel: PowertoolsLogLevel;
}

export interface KeyServerFunctionProps {
  /** Handler module, relative to the repository root, e.g. `lambdas/handlers/services.ts`; exports `handler`. */
  readonly entry: string;
  /** `POWERTOOLS_SERVICE_NAME`: the handler's verb-noun name, e.g. `issue-code`. */
  readonly serviceName: string;
  readonly defaults: FunctionDefaults;
  readonly description?: string;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default 10 seconds (API Gateway gives up after 29 s) */
  readonly timeout?: Duration;
  /** Extra plain settings; resource names are added by `bindTable` / `bindBucket`, not here. */
  readonly environment?: Readonly<Record<string, string>>;
  /** Reserved (and maximum) concurrency; 1 for a scheduled job whose runs must never overlap. @default none */
  readonly reservedConcurrentExecutions?: number;
  /** Asynchronous invocations only: where an event goes after its last failed attempt or when too old. @default none */
  readonly deadLetterQueue?: sqs.IQueue;
}

export class KeyServerFunction extends Construct {
  /** `POWERTOOLS_SERVICE_NAME`: the `service` dimension of the function's EMF metrics. */
  readonly serviceName: string;
  readonly lambda: NodejsFunction;
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: KeyServerFunctionProps) {
    super(scope, id);
    this.serviceName = props.serviceName;

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.defaults.logRetentionDays as number as logs.RetentionDays,
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.serviceName}: its own log group plus what bind* grants`,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogGroup',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.lambda = new NodejsFunction(this, 'Function', {
      entry: path.resolve(PROJECT_ROOT, props.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime: FUNCTION_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      description: props.description,
      role: this.role,
      logGroup: this.logGroup,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      deadLetterQueue: props.deadLetterQueue,
      tracing: lambda.Tracing.DISABLED,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: props.defaults.metricsNamespace,
        POWERTOOLS_LOG_LEVEL: props.defaults.logLevel,
        // Never log whole events: they carry codes, keys and client addresses (STYLE rule 8).
        POWERTOOLS_LOGGER_LOG_EVENT: 'false',
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        forceDockerBundling: false,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        target: BUNDLE_TARGET,
        format: OutputFormat.CJS,
        bundleAwsSDK: true,
      },
    });
    Validations.of(this.lambda).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to nodejs22.x on purpose: the handlers are developed and tested on Node 20/22 (engines ' +
        '>= 20.19, local runtime and jest), and the bundle targets node22. This rule fires whenever ' +
        'aws-cdk-lib learns a newer runtime; moving runtime is a reviewed change with its own test run.',
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Binding helpers: one call grants exactly the listed actions on one resource AND sets the env
// var the definition names. Explicit action lists (not CDK grant* helpers) so that the policy
// is exactly what the access level says, with no wildcards.

export type DataAccess = 'read' | 'write' | 'readWrite';

/**
 * The DynamoDB data-plane actions a function may be bound to by name. Scan is deliberately not
 * here: no handler walks a whole table. A transaction needs no action of its own: each Put /
 * Update / Delete inside TransactWriteItems is authorised as PutItem / UpdateItem / DeleteItem,
 * and ConditionCheckItem only for a ConditionCheck entry.
 */
export const TABLE_ITEM_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
] as const;
export type TableAction = (typeof TABLE_ITEM_ACTIONS)[number];

/**
 * Exactly these actions, for a function whose store calls are known one by one (the submission
 * handlers): finer than an access level, e.g. GetItem + UpdateItem without DeleteItem.
 */
export interface TableActions {
  readonly actions: readonly TableAction[];
}

/**
 * Query on the named indexes of the table only: not on the table's own key, no other action.
 * For a reader that only ever looks items up by an index (build-exports on `byRegionDay`).
 */
export interface IndexQueryAccess {
  readonly queryIndexes: readonly string[];
}

export type TableAccess = DataAccess | TableActions | IndexQueryAccess;

export const TABLE_ACTIONS: Readonly<Record<'read' | 'write', readonly TableAction[]>> = {
  // Query/GetItem for lookups, ConditionCheckItem for transactions that only check an item.
  read: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'],
  // TransactWriteItems is authorised per contained action; ConditionCheckItem for its checks.
  write: [
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:BatchWriteItem',
    'dynamodb:ConditionCheckItem',
  ],
};

export const BUCKET_ACTIONS: Readonly<Record<'read' | 'write', { object: readonly string[]; bucket: readonly string[] }>> = {
  // ListBucket turns a missing object into 404 (not 403) and lets jobs list what exists.
  read: { object: ['s3:GetObject'], bucket: ['s3:ListBucket'] },
  // Objects are rewritten in place; deletion is the lifecycle rule's job, not a function's.
  write: { object: ['s3:PutObject'], bucket: [] },
};

/** KMS use is allowed only through the named service (kms:ViaService), never directly. */
export const KMS_ACTIONS: Readonly<Record<'read' | 'write', readonly string[]>> = {
  read: ['kms:Decrypt'],
  write: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
};

const levels = (access: DataAccess): ('read' | 'write')[] =>
  access === 'readWrite' ? ['read', 'write'] : [access];

const union = (lists: readonly (readonly string[])[]): string[] => [...new Set(lists.flat())];

/** Actions that change items: a binding with any of them needs the write KMS actions. */
const WRITING_TABLE_ACTIONS: ReadonlySet<TableAction> = new Set([
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
]);

/** The table actions, statement id suffix and KMS levels of one table binding. */
function resolveTableAccess(access: DataAccess | TableActions): { actions: string[]; sidSuffix: string; keyLevels: ('read' | 'write')[] } {
  if (typeof access === 'string') {
    const want = levels(access);
    return { actions: union(want.map((l) => TABLE_ACTIONS[l])), sidSuffix: capitalise(access), keyLevels: want };
  }
  const actions = [...new Set(access.actions)];
  if (actions.length === 0) throw new Error('bindTable: an explicit action list must name at least one action');
  const unknown = actions.filter((a) => !(TABLE_ITEM_ACTIONS as readonly string[]).includes(a));
  if (unknown.length > 0) throw new Error(`bindTable: not a bindable table action: ${unknown.join(', ')}`);
  const writes = actions.some((a) => WRITING_TABLE_ACTIONS.has(a));
  return { actions, sidSuffix: 'Items', keyLevels: writes ? ['read', 'write'] : ['read'] };
}

/**
 * Grants `access` on `table` and sets `def.envName` to its name. `access` is a level
 * ('read' | 'write' | 'readWrite') or an explicit `{ actions }` list. Query on the table's
 * indexes is granted with, and only with, Query on the table.
 */
export function bindTable(fn: KeyServerFunction, table: dynamodb.Table, def: TableDefinition, access: TableAccess): void {
  if (typeof access === 'object' && 'queryIndexes' in access) {
    bindIndexQuery(fn, table, def, access.queryIndexes);
    return;
  }
  const { actions, sidSuffix, keyLevels } = resolveTableAccess(access);
  fn.lambda.addToRolePolicy(
    new iam.PolicyStatement({
      sid: `${def.role}Table${sidSuffix}`,
      actions,
      resources: [table.tableArn],
    }),
  );
  if (actions.includes('dynamodb:Query') && def.indexes.length > 0) {
    fn.lambda.addToRolePolicy(
      new iam.PolicyStatement({
        sid: `${def.role}TableIndexQuery`,
        actions: ['dynamodb:Query'],
        resources: def.indexes.map((index) => `${table.tableArn}/index/${index.indexName}`),
      }),
    );
  }
  if (table.encryptionKey) grantKeyVia(fn, table.encryptionKey.keyArn, 'dynamodb', keyLevels, `${def.role}TableKey`);
  fn.lambda.addEnvironment(def.envName, table.tableName);
}

function bindIndexQuery(fn: KeyServerFunction, table: dynamodb.Table, def: TableDefinition, indexNames: readonly string[]): void {
  const names = [...new Set(indexNames)];
  if (names.length === 0) throw new Error('bindTable: queryIndexes must name at least one index');
  const unknown = names.filter((name) => !def.indexes.some((index) => index.indexName === name));
  if (unknown.length > 0) throw new Error(`bindTable: table ${def.role} has no index ${unknown.join(', ')}`);
  fn.lambda.addToRolePolicy(
    new iam.PolicyStatement({
      sid: `${def.role}TableIndexQuery`,
      actions: ['dynamodb:Query'],
      resources: names.map((name) => `${table.tableArn}/index/${name}`),
    }),
  );
  if (table.encryptionKey) grantKeyVia(fn, table.encryptionKey.keyArn, 'dynamodb', ['read'], `${def.role}TableKey`);
  fn.lambda.addEnvironment(def.envName, table.tableName);
}

/**
 * Grants `access` on the objects of `bucket` and sets `def.envName` to its name. With
 * `objectPrefix` (e.g. `exports/`) the object actions are limited to keys under it; with
 * `objectPrefixes` (e.g. `masked/`, `unmasked/`) to keys under any of them.
 */
export function bindBucket(
  fn: KeyServerFunction,
  bucket: s3.Bucket,
  def: BucketDefinition,
  access: DataAccess,
  options: { readonly objectPrefix?: string; readonly objectPrefixes?: readonly string[] } = {},
): void {
  const want = levels(access);
  if (options.objectPrefix !== undefined && options.objectPrefixes !== undefined) {
    throw new Error('bindBucket: give objectPrefix or objectPrefixes, not both');
  }
  if (options.objectPrefixes !== undefined && options.objectPrefixes.length === 0) {
    throw new Error('bindBucket: objectPrefixes must name at least one prefix');
  }
  const prefixes = [...new Set(options.objectPrefixes ?? [options.objectPrefix ?? ''])];
  for (const objectPrefix of prefixes) {
    if ((objectPrefix !== '' || options.objectPrefixes) && !/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*\/$/.test(objectPrefix)) {
      throw new Error(`bindBucket: objectPrefix must be path segments ending in '/', got ${JSON.stringify(objectPrefix)}`);
    }
  }
  const limited = prefixes[0] !== '';
  fn.lambda.addToRolePolicy(
    new iam.PolicyStatement({
      sid: `${def.role}BucketObjects${capitalise(access)}`,
      actions: union(want.map((l) => BUCKET_ACTIONS[l].object)),
      resources: prefixes.map((objectPrefix) => bucket.arnForObjects(`${objectPrefix}*`)),
    }),
  );
  const bucketActions = union(want.map((l) => BUCKET_ACTIONS[l].bucket));
  if (bucketActions.length > 0) {
    fn.lambda.addToRolePolicy(
      new iam.PolicyStatement({
        sid: `${def.role}BucketList`,
        actions: bucketActions,
        resources: [bucket.bucketArn],
        conditions: limited ? { StringLike: { 's3:prefix': prefixes.map((objectPrefix) => `${objectPrefix}*`) } } : undefined,
      }),
    );
  }
  if (bucket.encryptionKey) grantKeyVia(fn, bucket.encryptionKey.keyArn, 's3', want, `${def.role}BucketKey`);
  fn.lambda.addEnvironment(def.envName, bucket.bucketName);

  const cfnBucket = bucket.node.defaultChild as s3.CfnBucket;
  for (const objectPrefix of prefixes) {
    Validations.of(fn).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(bucket).getLogicalId(cfnBucket)}.Arn>/${objectPrefix}*]`,
      reason:
        `Object-level S3 actions need an object ARN pattern; this one is limited to the ${def.role} ` +
        `bucket${objectPrefix ? ` (keys under ${objectPrefix})` : ''} and to the actions of the requested access level.`,
    });
  }
}

function grantKeyVia(
  fn: KeyServerFunction,
  keyArn: string,
  service: 'dynamodb' | 's3',
  want: readonly ('read' | 'write')[],
  sid: string,
): void {
  fn.lambda.addToRolePolicy(
    new iam.PolicyStatement({
      sid,
      actions: union(want.map((l) => KMS_ACTIONS[l])),
      resources: [keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `${service}.${Stack.of(fn).region}.amazonaws.com` } },
    }),
  );
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
