/**
 * Every table and bucket of lib/definitions.ts, built the same way: on-demand, encrypted with one
 * customer-managed KMS key (rotated yearly), retained when the stack goes away. The local runtime
 * builds its tables and buckets from the same definitions (local/bootstrap.ts).
 *
 * Construct ids are derived from the role (`<Role>Table`, `<Role>Bucket`) and must stay stable:
 * a new id means a new, empty resource (the old one is retained, not moved).
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { LogRetentionDays } from '../config';
import {
  BUCKET_LIST,
  TABLE_LIST,
  type AttributeType,
  type BucketDefinition,
  type BucketRole,
  type KeyAttribute,
  type TableDefinition,
  type TableRole,
} from '../definitions';

export interface StorageProps {
  /** Recovery window of the tables whose definition enables point-in-time recovery. */
  readonly pointInTimeRecoveryDays: number;
  /** Retention of the S3 server access logs (same ceiling as every other log). */
  readonly logRetentionDays: LogRetentionDays;
}

/**
 * Why a table may go without point-in-time recovery. A definition that turns PITR off without
 * an entry here fails the synth, so the decision is always written down next to its
 * cdk-nag acknowledgement.
 */
const NO_PITR_REASONS: Partial<Record<TableRole, string>> = {
  rawMetrics:
    'raw_metrics holds /save-metrics payloads for 24 h (TTL) only until aggregate-metrics has counted ' +
    'them from the stream; the counted result lives in aggregate_metrics, which has PITR. A restore ' +
    'creates a new table without the stream consumer, so it could not replay anything, and a ' +
    'recovery window would keep device payloads restorable for days beyond their 24 h retention.',
};

const ATTRIBUTE_TYPES: Readonly<Record<AttributeType, dynamodb.AttributeType>> = {
  S: dynamodb.AttributeType.STRING,
  N: dynamodb.AttributeType.NUMBER,
  B: dynamodb.AttributeType.BINARY,
};

const attribute = (key: KeyAttribute): dynamodb.Attribute => ({ name: key.name, type: ATTRIBUTE_TYPES[key.type] });

const pascal = (role: string): string => role.charAt(0).toUpperCase() + role.slice(1);

export class Storage extends Construct {
  /** Customer-managed key of every table and data bucket. */
  readonly dataKey: kms.Key;
  readonly tables: Readonly<Record<TableRole, dynamodb.Table>>;
  readonly buckets: Readonly<Record<BucketRole, s3.Bucket>>;
  /** Destination of the data buckets' S3 server access logs. */
  readonly accessLogsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);

    this.dataKey = new kms.Key(this, 'DataKey', {
      description: 'Encrypts the key server tables and data buckets (diagnosis keys, codes, metrics, exports)',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const tables: Partial<Record<TableRole, dynamodb.Table>> = {};
    for (const def of TABLE_LIST) tables[def.role] = this.buildTable(def, props);
    this.tables = tables as Record<TableRole, dynamodb.Table>;

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogsBucket', {
      // S3 server access logs can only be delivered to an SSE-S3 bucket.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: false,
      // Access log lines carry requester addresses: they expire like every other log.
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(props.logRetentionDays) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // cdk-nag S1 treats a bucket that receives other buckets' access logs as compliant.

    const buckets: Partial<Record<BucketRole, s3.Bucket>> = {};
    for (const def of BUCKET_LIST) buckets[def.role] = this.buildBucket(def);
    this.buckets = buckets as Record<BucketRole, s3.Bucket>;
  }

  private buildTable(def: TableDefinition, props: StorageProps): dynamodb.Table {
    const table = new dynamodb.Table(this, `${pascal(def.role)}Table`, {
      partitionKey: attribute(def.partitionKey),
      sortKey: def.sortKey && attribute(def.sortKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.dataKey,
      pointInTimeRecoverySpecification: def.pointInTimeRecovery
        ? { pointInTimeRecoveryEnabled: true, recoveryPeriodInDays: props.pointInTimeRecoveryDays }
        : { pointInTimeRecoveryEnabled: false },
      timeToLiveAttribute: def.ttlAttribute,
      stream: def.stream === 'NEW_IMAGE' ? dynamodb.StreamViewType.NEW_IMAGE : undefined,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of def.indexes) {
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: index.sortKey && attribute(index.sortKey),
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
    if (!def.pointInTimeRecovery) {
      const reason = NO_PITR_REASONS[def.role];
      if (!reason) {
        throw new Error(`Table ${def.role} disables point-in-time recovery without a reason in NO_PITR_REASONS`);
      }
      Validations.of(table).acknowledge({ id: 'AwsSolutions-DDB3', reason });
    }
    return table;
  }

  private buildBucket(def: BucketDefinition): s3.Bucket {
    return new s3.Bucket(this, `${pascal(def.role)}Bucket`, {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.dataKey,
      // S3 Bucket Key: objects are encrypted under a short-lived bucket-level key instead of one
      // KMS call per object (cost at scale: build-exports rewrites many objects every 10 minutes).
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: false,
      lifecycleRules:
        def.expirationDays === undefined
          ? undefined
          : [{ id: `expire-after-${def.expirationDays}-days`, expiration: Duration.days(def.expirationDays) }],
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: `${def.role}/`,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
