/**
 * The one description of every table and bucket. The CDK stack (lib/constructs/storage.ts) and
 * the local runtime's bootstrap (local/bootstrap.ts) both build their resources from this module,
 * so AWS and the offline runtime cannot drift apart. Plain data only: no aws-cdk-lib, no SDK.
 */
import { ENV, type EnvName } from './env-names';

export type AttributeType = 'S' | 'N' | 'B';

export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** Only ALL is used: every reader of an index needs the whole item. */
  readonly projection: 'ALL';
}

export interface TableDefinition {
  /** Stable role name; the local table name and the key of `/_local/info` `tables`. */
  readonly role: TableRole;
  readonly description: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly indexes: readonly IndexDefinition[];
  /** Numeric epoch-seconds TTL attribute; readers must also filter on it (TTL is lazy). */
  readonly ttlAttribute?: 'expiresAt';
  readonly stream?: 'NEW_IMAGE';
  readonly pointInTimeRecovery: boolean;
  /** Environment variable carrying the table name into the functions bound to it. */
  readonly envName: EnvName;
}

export type TableRole = 'submission' | 'diagnosisKeys' | 'rawMetrics' | 'aggregateMetrics' | 'metricsLedger';
export type BucketRole = 'exports' | 'reports';

export interface BucketDefinition {
  readonly role: BucketRole;
  readonly description: string;
  /** Objects are deleted this many days after creation (undefined: kept). */
  readonly expirationDays?: number;
  readonly envName: EnvName;
}

/** Name of the TTL attribute on every transient item (epoch seconds). */
export const TTL_ATTRIBUTE = 'expiresAt';

export const TABLES: Readonly<Record<TableRole, TableDefinition>> = {
  submission: {
    role: 'submission',
    description:
      'One-time codes, server key pairs, app-key bindings, hashId claims and claim-ban counters; ' +
      'one item type per `pk` prefix, every transient item carries expiresAt.',
    partitionKey: { name: 'pk', type: 'S' },
    indexes: [],
    ttlAttribute: TTL_ATTRIBUTE,
    pointInTimeRecovery: true,
    envName: ENV.submissionTable,
  },
  diagnosisKeys: {
    role: 'diagnosisKeys',
    description:
      'Diagnosis keys, unique by key data (global dedupe through attribute_not_exists); ' +
      'queried by region and UTC day, ranged by submission hour.',
    partitionKey: { name: 'keyData', type: 'B' },
    indexes: [
      {
        indexName: 'byRegionDay',
        partitionKey: { name: 'regionDay', type: 'S' },
        sortKey: { name: 'submissionHour', type: 'N' },
        projection: 'ALL',
      },
    ],
    ttlAttribute: TTL_ATTRIBUTE,
    pointInTimeRecovery: true,
    envName: ENV.diagnosisKeysTable,
  },
  rawMetrics: {
    role: 'rawMetrics',
    description: 'Raw /save-metrics payloads (or chunks), 24 h TTL, streamed to aggregate-metrics.',
    partitionKey: { name: 'id', type: 'S' },
    indexes: [],
    ttlAttribute: TTL_ATTRIBUTE,
    stream: 'NEW_IMAGE',
    pointInTimeRecovery: false,
    envName: ENV.rawMetricsTable,
  },
  aggregateMetrics: {
    role: 'aggregateMetrics',
    description: 'Aggregated metric counters (pk = region, sk = the 17-part upstream key), kept for reporting.',
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    indexes: [
      {
        // Upstream's index, plus a date sort key so reports stream one identifier and date
        // range at a time (memory independent of history length).
        indexName: 'IdentifierIndex',
        partitionKey: { name: 'identifier', type: 'S' },
        sortKey: { name: 'date', type: 'S' },
        projection: 'ALL',
      },
    ],
    pointInTimeRecovery: true,
    envName: ENV.aggregateMetricsTable,
  },
  metricsLedger: {
    role: 'metricsLedger',
    description:
      'Exactly-once ledger of aggregate-metrics: one item per counted payload item identity ' +
      '(SHA-256 of its device fields, identifier, timestamp and values), written in the same ' +
      'transaction as the increments; 48 h TTL. ' +
      'PITR like aggregateMetrics, so that both can be restored to the same moment.',
    partitionKey: { name: 'id', type: 'S' },
    indexes: [],
    ttlAttribute: TTL_ATTRIBUTE,
    pointInTimeRecovery: true,
    envName: ENV.metricsLedgerTable,
  },
};

export const BUCKETS: Readonly<Record<BucketRole, BucketDefinition>> = {
  exports: {
    role: 'exports',
    description: 'Signed export bundles (exports/{region}/{period}.zip) and exposure configuration.',
    expirationDays: 16,
    envName: ENV.exportsBucket,
  },
  reports: {
    role: 'reports',
    description: 'Nightly metrics CSV reports (masked/ and unmasked/).',
    envName: ENV.reportsBucket,
  },
};

export const TABLE_LIST: readonly TableDefinition[] = Object.values(TABLES);
export const BUCKET_LIST: readonly BucketDefinition[] = Object.values(BUCKETS);
