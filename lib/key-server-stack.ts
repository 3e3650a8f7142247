/**
 * The one stack of the key server, composed of feature constructs. Everything a stage may vary
 * comes in through `config` (STYLE rule 12); constructs never read context themselves.
 *
 * Built now (foundation): Storage (tables, buckets, data key), Api (REST API + health routes).
 * Extension points, each a construct of its own issue, joining with a few lines here:
 *   - Submission: issue-code, claim-key, upload-keys
 *       new Submission(this, 'Submission', { storage: this.storage, api: this.api, functionDefaults, config })
 *       → bindTable(fn, storage.tables.submission, TABLES.submission, 'readWrite'); api.addRoute('/claim-key', ['POST'], fn)
 *   - Exports + CDN: build-exports (schedule, KMS ECC_NIST_P256 signing keys), CloudFront with OAC on
 *       storage.buckets.exports, the retrieve-auth CloudFront Function + KeyValueStore
 *   - Metrics: save-metrics (API key + usage plan), aggregate-metrics (rawMetrics stream), metrics-report
 *   - WAF: web ACL on api.restApi.deploymentStage (config.newKeyClaimAllowList); then remove the
 *       AwsSolutions-APIG3 acknowledgement in lib/constructs/api.ts
 *   - Observability: alarms (5xx, throttles, export failures/staleness, DLQ depth) to
 *       config.alarmEmail, and a dashboard
 */
import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StageConfig } from './config';
import { Api } from './constructs/api';
import type { FunctionDefaults } from './constructs/key-server-function';
import { Storage } from './constructs/storage';

export interface KeyServerStackProps extends StackProps {
  readonly config: StageConfig;
}

export class KeyServerStack extends Stack {
  readonly config: StageConfig;
  readonly functionDefaults: FunctionDefaults;
  readonly storage: Storage;
  readonly api: Api;

  constructor(scope: Construct, id: string, props: KeyServerStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.config = config;

    this.functionDefaults = {
      logRetentionDays: config.logRetentionDays,
      metricsNamespace: `KeyServer/${config.stageName}`,
      logLevel: 'INFO',
    };

    this.storage = new Storage(this, 'Storage', {
      pointInTimeRecoveryDays: config.pointInTimeRecoveryDays,
      logRetentionDays: config.logRetentionDays,
    });

    this.api = new Api(this, 'Api', {
      throttle: config.apiThrottle,
      logRetentionDays: config.logRetentionDays,
      functionDefaults: this.functionDefaults,
    });
  }
}
