/**
 * Export bundles: the KMS signing key, the build-exports job on its schedule, and the exposure
 * configuration files deployed next to the bundles in the exports bucket.
 *
 * Signing key: AWS KMS `ECC_NIST_P256` / `SIGN_VERIFY`, retained. Its key policy (no account
 * `kms:*` delegation) gives
 *   - the account (IAM principals their IAM policies allow): key administration and
 *     `kms:GetPublicKey` etc. (KEY_ADMIN_ACTIONS) — never Sign, Verify or any data-key action;
 *   - the build-exports role only: `kms:Sign` with `ECDSA_SHA_256` over a `DIGEST`.
 * So no other principal of the account can sign a bundle, whatever its IAM policy says; an
 * administrator would first have to change the key policy (an audited PutKeyPolicy).
 *
 * build-exports: 1769 MB (one full vCPU; a 750 k-key window is held in memory), 5 minutes,
 * reserved concurrency 1 (runs never overlap: a run that would start while one is still going is
 * held back by Lambda's async queue), every `exportScheduleMinutes` (default 10) from an
 * EventBridge rule. Least privilege:
 *   diagnosisKeys  dynamodb:Query on the byRegionDay index only (+ kms:Decrypt via DynamoDB)
 *   exports        s3:PutObject on exports/* only (+ the data key via S3): no Get, List, Delete,
 *                  and the exposure configuration beside it cannot be overwritten
 *   signing key    kms:Sign (key policy and role policy)
 *   own log group, and sqs:SendMessage on its dead-letter queue
 * Failures: one Lambda retry (a failed run usually is a throttled or timed-out call; the next
 * scheduled run rewrites everything anyway) and events older than one schedule period are
 * dropped: both end in the dead-letter queue, as do events EventBridge failed to deliver. The
 * queue depth is "export runs that did not happen" (alarmed by the observability construct).
 *
 * Exposure configuration: the files of `exposure-configuration/*.json` (CA.json, region.json)
 * are copied to `exposure-configuration/` in the exports bucket, `application/json`, cached one
 * hour, by a BucketDeployment that never prunes or deletes. Its handler runs with a role of this
 * construct, not the deployment's default one (which may read, write and DELETE the whole
 * bucket): read the one staged asset zip, list and put under `exposure-configuration/` only.
 */
import * as path from 'node:path';
import { CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { LogRetentionDays } from '../config';
import { BUCKETS, TABLES } from '../definitions';
import { bindBucket, bindTable, KeyServerFunction, PROJECT_ROOT, type FunctionDefaults } from './key-server-function';
import type { Storage } from './storage';
import { REGION_CODE_ENV } from './submission';

/** Env vars of build-exports' plain settings (read by lambdas/shared/exports-context.ts). */
export const EXPORT_REGION_ENV = 'EXPORT_REGION';
export const SIGNING_KEYS_ENV = 'SIGNING_KEYS';

/** Where build-exports writes (`exports/{region}/{period}.zip`); its only writable prefix. */
export const EXPORTS_PREFIX = 'exports/';
/** Exposure configuration: repository folder (relative to the root) and bucket prefix. */
export const EXPOSURE_CONFIGURATION_DIR = 'exposure-configuration';
export const EXPOSURE_CONFIGURATION_PREFIX = 'exposure-configuration/';
/** Cache-Control of the exposure configuration objects (CloudFront honours it). */
export const EXPOSURE_CONFIGURATION_MAX_AGE = Duration.hours(1);

export const BUILD_EXPORTS_MEMORY_MB = 1769;
export const BUILD_EXPORTS_TIMEOUT = Duration.minutes(5);

/** The only Sign request the key policy allows: what lambdas/adapters/kms-signer.ts sends. */
export const SIGN_CONDITIONS = {
  StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'DIGEST' },
} as const;

/**
 * What the account's IAM principals may do with the signing key (through their own IAM
 * policies): administer it and read its public key. Deliberately no Sign, Verify, data-key or
 * grant-free cryptographic action; CreateGrant/PutKeyPolicy stay, as on any key, for the admins
 * who own it.
 */
export const KEY_ADMIN_ACTIONS = [
  'kms:Create*',
  'kms:Describe*',
  'kms:Enable*',
  'kms:List*',
  'kms:Put*',
  'kms:Update*',
  'kms:Revoke*',
  'kms:Disable*',
  'kms:Get*',
  'kms:Delete*',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
] as const;

/** One entry of SIGNING_KEYS (lambdas/shared/exports-context.ts `KmsSigningKey`). */
export interface SigningKeyEntry {
  readonly kmsKeyId: string;
  readonly keyId: string;
  readonly keyVersion: string;
}

export interface ExportsProps {
  readonly storage: Storage;
  readonly functionDefaults: FunctionDefaults;
  readonly logRetentionDays: LogRetentionDays;
  /** REGION_CODE: the MCC whose keys are exported; also the signing key's verification key id. */
  readonly regionCode: string;
  /** EXPORT_REGION: the bundles' `region` field. */
  readonly exportRegion: string;
  readonly scheduleMinutes: number;
  /** verification_key_version of the signing key. */
  readonly signingKeyVersion: string;
}

export class Exports extends Construct {
  readonly signingKey: kms.Key;
  readonly buildExports: KeyServerFunction;
  readonly schedule: events.Rule;
  /** Export runs that did not happen: failed twice, expired, or undeliverable. */
  readonly deadLetterQueue: sqs.Queue;
  readonly exposureConfiguration: s3deploy.BucketDeployment;

  constructor(scope: Construct, id: string, props: ExportsProps) {
    super(scope, id);
    const { storage } = props;

    this.signingKey = new kms.Key(this, 'SigningKey', {
      description:
        `Signs the export bundles (ECDSA P-256, SHA-256); its public key is registered with Apple and ` +
        `Google as ${props.regionCode}/${props.signingKeyVersion}`,
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      // Losing it means registering a new public key with Apple and Google: never delete it.
      removalPolicy: RemovalPolicy.RETAIN,
      pendingWindow: Duration.days(30),
      // Replaces the default "account root: kms:*" policy (no Sign for anyone but build-exports).
      policy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: 'AccountAdministersKey',
            principals: [new iam.AccountRootPrincipal()],
            actions: [...KEY_ADMIN_ACTIONS],
            resources: ['*'],
          }),
        ],
      }),
    });

    this.deadLetterQueue = new sqs.Queue(this, 'BuildExportsDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    const signingKeys: SigningKeyEntry[] = [
      { kmsKeyId: this.signingKey.keyArn, keyId: props.regionCode, keyVersion: props.signingKeyVersion },
    ];
    this.buildExports = new KeyServerFunction(this, 'BuildExportsFunction', {
      entry: 'lambdas/handlers/build-exports.ts',
      serviceName: 'build-exports',
      description: 'Scheduled: builds and signs the bundle of every served period, writes exports/{region}/{period}.zip',
      defaults: props.functionDefaults,
      memorySize: BUILD_EXPORTS_MEMORY_MB,
      timeout: BUILD_EXPORTS_TIMEOUT,
      reservedConcurrentExecutions: 1,
      deadLetterQueue: this.deadLetterQueue,
      environment: {
        [REGION_CODE_ENV]: props.regionCode,
        [EXPORT_REGION_ENV]: props.exportRegion,
        [SIGNING_KEYS_ENV]: Stack.of(this).toJsonString(signingKeys),
      },
    });
    bindTable(this.buildExports, storage.tables.diagnosisKeys, TABLES.diagnosisKeys, {
      queryIndexes: TABLES.diagnosisKeys.indexes.map((index) => index.indexName),
    });
    bindBucket(this.buildExports, storage.buckets.exports, BUCKETS.exports, 'write', { objectPrefix: EXPORTS_PREFIX });
    this.allowSigning(this.buildExports.role);

    const period = Duration.minutes(props.scheduleMinutes);
    // A run is superseded by the next scheduled one: an event older than a period is dropped.
    this.buildExports.lambda.configureAsyncInvoke({ retryAttempts: 1, maxEventAge: period });
    this.schedule = new events.Rule(this, 'Schedule', {
      description: `Runs build-exports every ${props.scheduleMinutes} minutes`,
      schedule: events.Schedule.rate(period),
      targets: [
        new targets.LambdaFunction(this.buildExports.lambda, {
          retryAttempts: 2,
          maxEventAge: period,
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });

    this.exposureConfiguration = this.deployExposureConfiguration(storage, props.logRetentionDays);

    new CfnOutput(this, 'SigningKeyArn', {
      key: 'ExportSigningKeyArn',
      value: this.signingKey.keyArn,
      description: `KMS key signing the bundles; aws kms get-public-key gives the key to register as ${props.regionCode}/${props.signingKeyVersion}`,
    });
  }

  /** The Lambda function behind the exposure configuration deployment (a stack-level singleton of aws-cdk-lib). */
  get exposureConfigurationHandler(): lambda.Function {
    const handler = this.exposureConfiguration.node.findChild('CustomResourceHandler') as lambda.SingletonFunction;
    return Stack.of(this).node.findChild(handler.permissionsNode.id) as lambda.Function;
  }

  /** Key policy AND role policy: only this role, only ECDSA_SHA_256 over a digest. */
  private allowSigning(role: iam.Role): void {
    this.signingKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'BuildExportsSigns',
        principals: [new iam.ArnPrincipal(role.roleArn)],
        actions: ['kms:Sign'],
        resources: ['*'],
        conditions: SIGN_CONDITIONS,
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'SignExports',
        actions: ['kms:Sign'],
        resources: [this.signingKey.keyArn],
        conditions: SIGN_CONDITIONS,
      }),
    );
  }

  private deployExposureConfiguration(storage: Storage, logRetentionDays: LogRetentionDays): s3deploy.BucketDeployment {
    const bucket = storage.buckets.exports;
    // Staged as a zip asset at synth (no Docker, no network); only the JSON files of the folder.
    const asset = new s3assets.Asset(this, 'ExposureConfigurationAsset', {
      path: path.join(PROJECT_ROOT, EXPOSURE_CONFIGURATION_DIR),
      exclude: ['*', '!*.json'],
    });
    const logGroup = new logs.LogGroup(this, 'ExposureConfigurationDeploymentLogs', {
      retention: logRetentionDays as number as logs.RetentionDays,
    });

    const role = new iam.Role(this, 'ExposureConfigurationDeploymentRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Copies the exposure configuration into the exports bucket: exposure-configuration/ only, never deletes',
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogGroup',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadStagedAsset',
        actions: ['s3:GetObject'],
        resources: [asset.bucket.arnForObjects(asset.s3ObjectKey)],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        // `aws s3 sync` lists the destination prefix to compare before it copies.
        sid: 'ListExposureConfiguration',
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${EXPOSURE_CONFIGURATION_PREFIX}*`] } },
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PutExposureConfiguration',
        actions: ['s3:PutObject'],
        resources: [bucket.arnForObjects(`${EXPOSURE_CONFIGURATION_PREFIX}*`)],
      }),
    );
    if (bucket.encryptionKey) {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'EncryptThroughS3',
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [bucket.encryptionKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
        }),
      );
    }
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(bucket).getLogicalId(bucket.node.defaultChild as s3.CfnBucket)}.Arn>/${EXPOSURE_CONFIGURATION_PREFIX}*]`,
      reason:
        'PutObject needs an object ARN pattern; this one is limited to exposure-configuration/ of the exports ' +
        'bucket (the deployment can neither read, delete nor overwrite the export bundles under exports/).',
    });

    const deployment = new s3deploy.BucketDeployment(this, 'ExposureConfiguration', {
      sources: [s3deploy.Source.bucket(asset.bucket, asset.s3ObjectKey)],
      destinationBucket: bucket,
      destinationKeyPrefix: EXPOSURE_CONFIGURATION_PREFIX,
      // Never delete anything: no pruning of other keys, files kept when the stack goes away.
      prune: false,
      retainOnDelete: true,
      contentType: 'application/json',
      cacheControl: [s3deploy.CacheControl.setPublic(), s3deploy.CacheControl.maxAge(EXPOSURE_CONFIGURATION_MAX_AGE)],
      // Our role, immutable: the deployment's own grants (read/write/delete on the whole bucket,
      // read on the asset bucket) are not added; the statements above are all it gets.
      role: role.withoutPolicyUpdates(),
      logGroup,
      // A memory size of its own also gives this deployment its own singleton handler.
      memoryLimit: 256,
    });
    // The immutable wrapper hides the role's policy from the handler: wait for it explicitly.
    deployment.node.addDependency(role);

    // The handler is a singleton at stack level; acknowledge on that very function.
    const handler = deployment.node.findChild('CustomResourceHandler') as lambda.SingletonFunction;
    Validations.of(Stack.of(this).node.findChild(handler.permissionsNode.id)).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'The BucketDeployment handler is aws-cdk-lib code (Python, AWS CLI layer) on the runtime that aws-cdk-lib ' +
        'pins for it; it runs only during deployments, and its runtime moves with an aws-cdk-lib upgrade.',
    });
    return deployment;
  }
}
