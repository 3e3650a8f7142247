/**
 * Alarms, their SNS topic and one dashboard (ARCHITECTURE §1 "Observability"). Built LAST in the
 * stack: it alarms on every Lambda function, SQS queue and DynamoDB table the stack holds, and a
 * synth-time validation fails the synth if any of them was added after it or left out.
 *
 * Topic: encrypted with a key of its own (rotated; CloudWatch may use it through SNS only for
 * alarms of this account), SSL-only publishing, `cloudwatch.amazonaws.com` allowed to publish
 * for alarms of this stack. `alarmEmail` (stage config) subscribes an address; the subscription
 * must be confirmed from the mail AWS sends. Other endpoints (chat, paging) can subscribe to the
 * topic without a change here. To check the path after a deploy:
 *
 *     aws cloudwatch set-alarm-state --alarm-name KeyServer-<stage>-api-5xx \
 *       --state-value ALARM --state-reason test
 *
 * Every alarm notifies the topic when it goes to ALARM and back to OK. Names are
 * `<stack>-<what>`, e.g. `KeyServer-prod-claim-key-errors`.
 *
 *   alarm                          metric (5-minute periods unless said)           fires when
 *   api-5xx                        AWS/ApiGateway 5XXError Sum (ApiName, Stage)    ≥ api5xxAlarmThreshold
 *   <function>-errors              AWS/Lambda Errors Sum, every function            ≥ 1
 *   <function>-throttles           AWS/Lambda Throttles Sum, every function         ≥ 1
 *   exports-stale                  KeyServer/<stage> ExportBundlesWritten           < 1 run in max(30 min,
 *                                  SampleCount (service=build-exports)               3 schedule periods);
 *                                                                                  missing data BREACHES
 *   <queue>-depth                  AWS/SQS ApproximateNumberOfMessagesVisible Max   > 0
 *   aggregate-metrics-iterator-age AWS/Lambda IteratorAge Max                       > 1 h
 *   <table>-throttles              AWS/DynamoDB Read+WriteThrottleEvents Sum        ≥ 1
 *
 * Export and report failures: the build-exports and metrics-report `-errors` alarms count every
 * failed run, including crashes and timeouts that never reach the job wrapper's
 * ExportJobFailed / MetricsReportFailed metric; their dead-letter queues' `-depth` alarms count
 * runs that did not happen at all; `exports-stale` catches everything else (schedule disabled,
 * runs that "succeed" without writing). ExportBundlesWritten is published once per successful
 * run (value = bundles, possibly 0), so its SampleCount is the number of successful runs. Right
 * after the first deploy `exports-stale` is in ALARM until the first run.
 *
 * Queue depth alarms treat missing data as "keep the state": SQS stops publishing metrics of a
 * queue that has been idle for hours, and a dead-letter message must keep the alarm raised.
 *
 * Metric names and dimensions are those the code publishes: POWERTOOLS_METRICS_NAMESPACE is
 * `KeyServer/<stage>` (key-server-function.ts); job and aggregate metrics carry Powertools'
 * default `service` dimension (the function's POWERTOOLS_SERVICE_NAME); server events
 * (OTKGenerated, OTKClaimed, Upload, KeysStored, …) carry `service` and `Source`
 * (lambdas/adapters/metric-events.ts).
 *
 * Dashboard `<stack>`: API requests / 4XX / 5XX and latency per route (API Gateway detailed
 * metrics, api.ts), WAF blocks per rule, Lambda errors and duration, export runs, keys and bytes,
 * metric events counted, iterator age, queue depths, server events per source, alarm states.
 */
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import { API_STAGE_NAME, type Api } from './api';
import type { Exports } from './exports';
import { KeyServerFunction } from './key-server-function';
import type { Metrics } from './metrics';
import type { Storage } from './storage';
import type { Waf } from './waf';

export const ALARM_PERIOD = Duration.minutes(5);
/** The shortest "no successful export run" window; longer when the schedule is slower. */
export const MIN_STALE_EXPORTS_WINDOW_MINUTES = 30;
export const ITERATOR_AGE_THRESHOLD = Duration.hours(1);

/** The window after which exports count as stale: 30 minutes, or 3 schedule periods if longer. */
export function staleExportsWindow(scheduleMinutes: number): Duration {
  return Duration.minutes(Math.max(MIN_STALE_EXPORTS_WINDOW_MINUTES, 3 * scheduleMinutes));
}

/** A queue to alarm on, with what a message in it means (the alarm description). */
export interface WatchedQueue {
  /** Short kebab-case name used in the alarm name, e.g. `exports-dlq`. */
  readonly name: string;
  readonly queue: sqs.Queue;
  readonly meaning: string;
}

export interface ObservabilityProps {
  /** Subscribed to the alarm topic when set (stage config `alarmEmail`). */
  readonly alarmEmail?: string;
  /** `POWERTOOLS_METRICS_NAMESPACE` of the stage's functions. */
  readonly metricsNamespace: string;
  readonly api5xxThreshold: number;
  /** build-exports schedule (stage config `exportScheduleMinutes`). */
  readonly exportScheduleMinutes: number;
  readonly api: Api;
  readonly waf: Waf;
  readonly storage: Storage;
  readonly exports: Exports;
  readonly metrics: Metrics;
}

const kebab = (text: string): string =>
  text
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase();
const pascal = (text: string): string =>
  kebab(text)
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');

/** Every construct of the stack that is an instance of `type`. */
function allOf<T>(root: IConstruct, type: abstract new (...args: never[]) => T): T[] {
  return Stack.of(root).node.findAll().filter((c): c is IConstruct & T => c instanceof type);
}

/**
 * A function's name in alarm names: its service name; `named` for aws-cdk-lib's own functions
 * this stack knows; else its construct id.
 */
function functionLabel(fn: lambda.Function, named: ReadonlyMap<lambda.Function, string>): string {
  const owner = fn.node.scope;
  if (owner instanceof KeyServerFunction) return owner.serviceName;
  return named.get(fn) ?? kebab(fn.node.id);
}

export class Observability extends Construct {
  readonly topicKey: kms.Key;
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  /** Every alarm, by name suffix (e.g. `api-5xx`, `claim-key-errors`). */
  readonly alarms: ReadonlyMap<string, cloudwatch.Alarm>;
  readonly staleExportsAlarm: cloudwatch.Alarm;

  private readonly alarmsByName = new Map<string, cloudwatch.Alarm>();
  private readonly alarmPrefix: string;
  private readonly action: cloudwatchActions.SnsAction;
  private readonly functionNames: ReadonlyMap<lambda.Function, string>;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.alarms = this.alarmsByName;
    const stack = Stack.of(this);
    this.alarmPrefix = `${stack.stackName}-`;

    ({ key: this.topicKey, topic: this.topic } = this.alarmTopic(props.alarmEmail));
    this.action = new cloudwatchActions.SnsAction(this.topic);

    // --- API -------------------------------------------------------------------------------------
    const stage = props.api.restApi.deploymentStage;
    this.alarm('api-5xx', {
      metric: stage.metricServerError({ period: ALARM_PERIOD, statistic: 'Sum' }),
      threshold: props.api5xxThreshold,
      description: `The API answered ${props.api5xxThreshold} or more 5xx in 5 minutes (handler failures, Lambda errors or timeouts).`,
    });

    // --- Lambda: every function of the stack ------------------------------------------------------
    const functions = allOf(this, lambda.Function);
    this.functionNames = new Map([[props.exports.exposureConfigurationHandler, 'exposure-configuration-deployment']]);
    for (const fn of functions) {
      const label = functionLabel(fn, this.functionNames);
      this.alarm(`${label}-errors`, {
        metric: fn.metricErrors({ period: ALARM_PERIOD, statistic: 'Sum' }),
        threshold: 1,
        description: FUNCTION_ERROR_MEANINGS[label] ?? `${label} failed (exception, timeout or out of memory).`,
      });
      this.alarm(`${label}-throttles`, {
        metric: fn.metricThrottles({ period: ALARM_PERIOD, statistic: 'Sum' }),
        threshold: 1,
        description: `${label} was throttled (reserved or account concurrency exhausted; a scheduled job still running when the next run starts).`,
      });
    }

    // --- Exports freshness --------------------------------------------------------------------------
    const buildExports = props.exports.buildExports;
    const staleWindow = staleExportsWindow(props.exportScheduleMinutes);
    this.staleExportsAlarm = this.alarm('exports-stale', {
      metric: this.jobMetric(props.metricsNamespace, buildExports, 'ExportBundlesWritten', 'SampleCount', staleWindow),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      description:
        `No successful build-exports run in ${staleWindow.toMinutes()} minutes: the CDN serves bundles that miss ` +
        'the newest diagnosis keys. See the build-exports errors/throttles alarms and its dead-letter queue.',
    });

    // --- Queues -------------------------------------------------------------------------------------
    const queues: WatchedQueue[] = [
      {
        name: 'exports-dlq',
        queue: props.exports.deadLetterQueue,
        meaning: 'build-exports runs that did not happen (failed twice, expired or undeliverable).',
      },
      {
        name: 'aggregate-failure-queue',
        queue: props.metrics.aggregateFailureQueue,
        meaning: 'raw_metrics stream batches aggregate-metrics gave up on: events not counted until replayed.',
      },
      {
        name: 'metrics-report-dlq',
        queue: props.metrics.reportDeadLetterQueue,
        meaning: 'metrics-report runs that did not happen (failed twice, expired or undeliverable).',
      },
    ];
    for (const { name, queue, meaning } of queues) {
      this.alarm(`${name}-depth`, {
        metric: queue.metricApproximateNumberOfMessagesVisible({ period: ALARM_PERIOD, statistic: 'Maximum' }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.IGNORE,
        description: `Messages waiting in ${name}: ${meaning}`,
      });
    }

    // --- Stream consumer --------------------------------------------------------------------------
    const aggregate = props.metrics.aggregateMetrics;
    this.alarm(`${aggregate.serviceName}-iterator-age`, {
      metric: aggregate.lambda.metric('IteratorAge', { period: ALARM_PERIOD, statistic: 'Maximum' }),
      threshold: ITERATOR_AGE_THRESHOLD.toMilliseconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      description:
        'aggregate-metrics is more than an hour behind the raw_metrics stream; records older than 24 h ' +
        'leave the stream (to the failure queue) uncounted.',
    });

    // --- DynamoDB ----------------------------------------------------------------------------------
    const tables = Object.entries(props.storage.tables);
    for (const [role, table] of tables) {
      const name = kebab(role);
      this.alarm(`${name}-table-throttles`, {
        metric: new cloudwatch.MathExpression({
          expression: 'reads + writes',
          usingMetrics: {
            reads: table.metric('ReadThrottleEvents', { period: ALARM_PERIOD, statistic: 'Sum' }),
            writes: table.metric('WriteThrottleEvents', { period: ALARM_PERIOD, statistic: 'Sum' }),
          },
          label: `${role} throttle events`,
          period: ALARM_PERIOD,
        }),
        threshold: 1,
        description: `DynamoDB throttled requests on the ${role} table (on-demand traffic doubled faster than the table scales, or a hot key).`,
      });
    }

    this.validateCoverage(
      functions,
      queues.map((q) => q.queue),
      tables.map(([, table]) => table),
    );

    this.dashboard = this.buildDashboard(props, functions, queues);
  }

  /** An alarm named `<stack>-<name>` that notifies the topic on ALARM and on OK. */
  private alarm(
    name: string,
    options: {
      metric: cloudwatch.IMetric;
      threshold: number;
      description: string;
      comparisonOperator?: cloudwatch.ComparisonOperator;
      treatMissingData?: cloudwatch.TreatMissingData;
    },
  ): cloudwatch.Alarm {
    if (this.alarmsByName.has(name)) throw new Error(`Observability: two alarms named ${name}`);
    const alarm = new cloudwatch.Alarm(this, `${pascal(name)}Alarm`, {
      alarmName: `${this.alarmPrefix}${name}`,
      alarmDescription: options.description,
      metric: options.metric,
      threshold: options.threshold,
      evaluationPeriods: 1,
      comparisonOperator: options.comparisonOperator ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: options.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarmsByName.set(name, alarm);
    return alarm;
  }

  /** An EMF metric of a job: namespace of the stage, Powertools' default `service` dimension. */
  private jobMetric(namespace: string, fn: KeyServerFunction, metricName: string, statistic: string, period: Duration): cloudwatch.Metric {
    return new cloudwatch.Metric({ namespace, metricName, dimensionsMap: { service: fn.serviceName }, statistic, period });
  }

  private alarmTopic(email: string | undefined): { key: kms.Key; topic: sns.Topic } {
    const stack = Stack.of(this);
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the alarm notifications topic of the key server (no personal data)',
      enableKeyRotation: true,
      // Notifications are transient; nothing encrypted with this key outlives the stack.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublishEncrypted',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `${stack.stackName} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: `${this.alarmPrefix}*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    if (email !== undefined) topic.addSubscription(new subscriptions.EmailSubscription(email));
    return { key, topic };
  }

  /** Synth fails if a function, queue or table of the stack has no alarm (added after this construct?). */
  private validateCoverage(functions: readonly lambda.Function[], queues: readonly sqs.Queue[], tables: readonly dynamodb.Table[]): void {
    this.node.addValidation({
      validate: () => {
        const missing = (kind: string, all: readonly IConstruct[], covered: readonly IConstruct[]) =>
          all.filter((c) => !covered.includes(c)).map((c) => `${kind} ${c.node.path} has no alarm (build it before Observability, or list it)`);
        return [
          ...missing('function', allOf(this, lambda.Function), functions),
          ...missing('queue', allOf(this, sqs.Queue), queues),
          ...missing('table', allOf(this, dynamodb.Table), tables),
        ];
      },
    });
  }

  private buildDashboard(props: ObservabilityProps, functions: readonly lambda.Function[], queues: readonly WatchedQueue[]): cloudwatch.Dashboard {
    const stack = Stack.of(this);
    const ns = props.metricsNamespace;
    const apiName = props.api.restApi.restApiName;
    const period = ALARM_PERIOD;
    const search = (query: string, statistic: string, label: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('${query}', '${statistic}', ${period.toSeconds()})`,
        usingMetrics: {},
        label,
        period,
      });
    const perRoute = (metricName: string, statistic: string) =>
      search(
        `{AWS/ApiGateway,ApiName,Method,Resource,Stage} ApiName="${apiName}" Stage="${API_STAGE_NAME}" MetricName="${metricName}"`,
        statistic,
        "${PROP('Dim.Method')} ${PROP('Dim.Resource')}",
      );
    const graph = (title: string, left: cloudwatch.IMetric[], width = 8, right?: cloudwatch.IMetric[]) =>
      new cloudwatch.GraphWidget({ title, left, right, width, height: 6 });
    const job = (fn: KeyServerFunction, metricName: string, statistic: string, label: string, p = Duration.hours(1)) =>
      this.jobMetric(ns, fn, metricName, statistic, p).with({ label });
    const buildExports = props.exports.buildExports;
    const aggregate = props.metrics.aggregateMetrics;

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: stack.stackName,
      defaultInterval: Duration.days(1),
    });
    dashboard.addWidgets(
      graph('API requests per route', [perRoute('Count', 'Sum')]),
      graph('API 4XX per route', [perRoute('4XXError', 'Sum')]),
      graph('API 5XX per route', [perRoute('5XXError', 'Sum')]),
    );
    dashboard.addWidgets(
      graph('API latency p99 per route (ms)', [perRoute('Latency', 'p99')]),
      graph('API latency, whole stage (ms)', [
        props.api.restApi.deploymentStage.metricLatency({ statistic: 'p50', period, label: 'p50' }),
        props.api.restApi.deploymentStage.metricLatency({ statistic: 'p99', period, label: 'p99' }),
      ]),
      graph('WAF blocked requests per rule', [
        search(`{AWS/WAFV2,Region,Rule,WebACL} WebACL="${props.waf.webAclName}" MetricName="BlockedRequests"`, 'Sum', "${PROP('Dim.Rule')}"),
      ]),
    );
    dashboard.addWidgets(
      graph('Export runs per hour', [
        job(buildExports, 'ExportBundlesWritten', 'SampleCount', 'successful runs'),
        buildExports.lambda.metricErrors({ period: Duration.hours(1), statistic: 'Sum', label: 'failed invocations' }),
      ]),
      graph('Export keys (latest run in the hour)', [job(buildExports, 'ExportKeys', 'Maximum', 'keys in served bundles')]),
      graph('Export bytes written (largest run in the hour)', [job(buildExports, 'ExportBytesWritten', 'Maximum', 'bytes')]),
    );
    dashboard.addWidgets(
      graph('Metric events counted', [
        job(aggregate, 'MetricEventsCounted', 'Sum', 'counted', period),
        job(aggregate, 'MetricEventsAlreadyCounted', 'Sum', 'already counted (re-delivered)', period),
        job(aggregate, 'MetricRecordsFailed', 'Sum', 'records failed', period),
      ]),
      graph('aggregate-metrics iterator age (ms)', [aggregate.lambda.metric('IteratorAge', { period, statistic: 'Maximum', label: 'max' })]),
      graph(
        'Queue depths',
        queues.map(({ name, queue }) => queue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum', label: name })),
      ),
    );
    dashboard.addWidgets(
      graph(
        'Lambda errors per function',
        functions.map((fn) => fn.metricErrors({ period, statistic: 'Sum', label: functionLabel(fn, this.functionNames) })),
        12,
      ),
      graph(
        'Lambda duration p99 per function (ms)',
        functions.map((fn) => fn.metricDuration({ period, statistic: 'p99', label: functionLabel(fn, this.functionNames) })),
        12,
      ),
    );
    dashboard.addWidgets(
      graph('Server events per source (codes issued/claimed, uploads, keys stored, bans)', [
        search(`{${ns},Source,service}`, 'Sum', "${PROP('MetricName')} ${PROP('Dim.Source')}"),
      ], 24),
    );
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...this.alarmsByName.values()], width: 24, height: 6 }),
    );
    return dashboard;
  }
}

/** What an `-errors` alarm of a function means, where more can be said than "it failed". */
const FUNCTION_ERROR_MEANINGS: Readonly<Record<string, string>> = {
  'build-exports':
    'A build-exports run failed (also crashes and timeouts that never reach its ExportJobFailed metric); ' +
    'Lambda retries once, the next scheduled run rewrites everything. Repeated: bundles go stale.',
  'metrics-report': 'A nightly metrics-report run failed; Lambda retries once, then it lands in its dead-letter queue.',
  'aggregate-metrics':
    'aggregate-metrics failed on a batch (the batch is retried and bisected; poison records end in the failure queue).',
};
