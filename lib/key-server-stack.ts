/**
 * The one stack of the key server, composed of feature constructs. Everything a stage may vary
 * comes in through `config` (STYLE rule 12); constructs never read context themselves.
 *
 * Built: Storage (tables, buckets, data key), Api (REST API + health routes), Submission
 * (issue-code, claim-key, upload-keys, their secret and routes; lib/constructs/submission.ts),
 * Exports (KMS signing key, scheduled build-exports, exposure configuration; exports.ts) and Cdn
 * (CloudFront with OAC on the exports bucket, retrieve-auth Function + KeyValueStore; cdn.ts) and
 * Metrics (save-metrics behind an API key + usage plan, aggregate-metrics on the rawMetrics
 * stream, the nightly metrics-report; metrics.ts), Waf (REGIONAL web ACL on the API stage: the
 * /new-key-claim allow-list, body sizes, per-IP rates, AWS managed rules; waf.ts) and, last,
 * Observability (alarm topic, alarms on every function, queue and table, the dashboard;
 * observability.ts — it must stay last: it alarms on what exists when it is built, and fails the
 * synth if anything is added after it).
 * A feature joins with a few lines here; inside it, bindTable(fn, table, def, access) grants and
 * names a table in one call and api.addRoute(path, methods, fn) routes to the function.
 * Extension point, a construct of its own issue:
 *   - CloudFront WAF (us-east-1 web ACL on cdn.distribution); then remove the AwsSolutions-CFR2
 *       acknowledgement in lib/constructs/cdn.ts
 */
import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StageConfig } from './config';
import { Api } from './constructs/api';
import { Cdn } from './constructs/cdn';
import { Exports } from './constructs/exports';
import type { FunctionDefaults } from './constructs/key-server-function';
import { Metrics } from './constructs/metrics';
import { Observability } from './constructs/observability';
import { Storage } from './constructs/storage';
import { Submission } from './constructs/submission';
import { Waf } from './constructs/waf';

export interface KeyServerStackProps extends StackProps {
  readonly config: StageConfig;
}

export class KeyServerStack extends Stack {
  readonly config: StageConfig;
  readonly functionDefaults: FunctionDefaults;
  readonly storage: Storage;
  readonly api: Api;
  readonly submission: Submission;
  readonly exports: Exports;
  readonly cdn: Cdn;
  readonly metrics: Metrics;
  readonly waf: Waf;
  readonly observability: Observability;

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

    this.submission = new Submission(this, 'Submission', {
      storage: this.storage,
      api: this.api,
      functionDefaults: this.functionDefaults,
      regionCode: config.regionCode,
      initialRemainingKeys: config.initialRemainingKeys,
    });

    this.exports = new Exports(this, 'Exports', {
      storage: this.storage,
      functionDefaults: this.functionDefaults,
      logRetentionDays: config.logRetentionDays,
      regionCode: config.regionCode,
      exportRegion: config.exportRegion,
      scheduleMinutes: config.exportScheduleMinutes,
      signingKeyVersion: config.signingKeyVersion,
    });

    this.cdn = new Cdn(this, 'Cdn', {
      storage: this.storage,
      regionCode: config.regionCode,
      priceClass: config.cdnPriceClass,
      distributionId: config.cdnDistributionId,
    });

    this.metrics = new Metrics(this, 'Metrics', {
      storage: this.storage,
      api: this.api,
      functionDefaults: this.functionDefaults,
      usagePlan: config.metricsUsagePlan,
      reportTimeUtc: config.metricsReportTimeUtc,
    });

    this.waf = new Waf(this, 'Waf', {
      stage: this.api.restApi.deploymentStage,
      newKeyClaimAllowList: config.newKeyClaimAllowList,
      rateLimits: config.wafRateLimits,
    });

    // Last: it alarms on every function, queue and table built above.
    this.observability = new Observability(this, 'Observability', {
      alarmEmail: config.alarmEmail,
      metricsNamespace: this.functionDefaults.metricsNamespace,
      api5xxThreshold: config.api5xxAlarmThreshold,
      exportScheduleMinutes: config.exportScheduleMinutes,
      api: this.api,
      waf: this.waf,
      storage: this.storage,
      exports: this.exports,
      metrics: this.metrics,
    });
  }
}
