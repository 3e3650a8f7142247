/**
 * Alarms, their topic and the dashboard as `cdk synth` builds them: every function, queue and
 * table is alarmed, the alarms watch metrics the code really publishes, and they reach the
 * topic (and the e-mail of the stage config).
 */
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Template } from 'aws-cdk-lib/assertions';
import { API_STAGE_NAME } from '../../lib/constructs/api';
import { staleExportsWindow } from '../../lib/constructs/observability';
import { buildKeyServerApp } from '../../lib/key-server-app';
import { LocalSigner } from '../../lambdas/adapters/local-signer';
import type { makeBuildExportsHandler } from '../../lambdas/handlers/build-exports';
import type * as observability from '../../lambdas/shared/observability';
import { lambdaContext } from '../support/builders/api-events';
import { FixedClock, utc } from '../support/builders/deterministic';
import { InMemoryBlobStore, InMemoryExportReader, testSigningKey } from '../support/builders/exports';
import { aRawStage, logicalIdAt, newInfraApp, resourceAt, synthKeyServer, type SynthesizedKeyServer } from './support/infra-app';

type Json = Record<string, unknown>;
interface AlarmProps {
  readonly AlarmName: string;
  readonly Namespace?: string;
  readonly MetricName?: string;
  readonly Dimensions?: { Name: string; Value: unknown }[];
  readonly Statistic?: string;
  readonly Period?: number;
  readonly Threshold: number;
  readonly ComparisonOperator: string;
  readonly TreatMissingData?: string;
  readonly Metrics?: { Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string; Namespace: string; Dimensions: { Name: string; Value: unknown }[] }; Stat: string } }[];
  readonly AlarmActions?: unknown[];
  readonly OKActions?: unknown[];
}

const ALARM_EMAIL = 'oncall@example.org';
const json = (value: unknown) => JSON.stringify(value);

const alarmsOf = (template: Template): AlarmProps[] =>
  Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((r) => r.Properties as AlarmProps);

const alarmNamed = (template: Template, suffix: string): AlarmProps => {
  const found = alarmsOf(template).filter((a) => a.AlarmName === `KeyServer-dev-${suffix}`);
  expect(found).toHaveLength(1);
  return found[0];
};

/** Alarms on `metricName` in `namespace` whose dimension `name` is `{Ref|GetAtt: logicalId}`. */
const alarmsOn = (template: Template, namespace: string, metricName: string, dimension: string, value: unknown) =>
  alarmsOf(template).filter(
    (a) => a.Namespace === namespace && a.MetricName === metricName && json(a.Dimensions) === json([{ Name: dimension, Value: value }]),
  );

/** The dashboard body with every CloudFormation reference replaced by `<ref>`, parsed. */
function dashboardBody(template: Template): { widgets: { properties: Json }[] } {
  const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  const body = dashboard.Properties.DashboardBody as string | { 'Fn::Join': [string, unknown[]] };
  const text = typeof body === 'string' ? body : body['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : '<ref>')).join('');
  return JSON.parse(text) as { widgets: { properties: Json }[] };
}

describe('observability', () => {
  let synth: SynthesizedKeyServer;
  let template: Template;
  let withEmail: Template;

  beforeAll(() => {
    synth = synthKeyServer();
    template = synth.template;
    withEmail = synthKeyServer({ context: { stages: { dev: aRawStage({ alarmEmail: ALARM_EMAIL }) } } }).template;
  });
  afterEach(() => jest.restoreAllMocks());

  describe('alarms', () => {
    it('watches Errors and Throttles of every Lambda function of the template (≥ 1 in 5 minutes)', () => {
      // Prepare
      const functionIds = Object.keys(template.findResources('AWS::Lambda::Function'));

      // Act
      const coverage = functionIds.map((id) => ({
        id,
        errors: alarmsOn(template, 'AWS/Lambda', 'Errors', 'FunctionName', { Ref: id }),
        throttles: alarmsOn(template, 'AWS/Lambda', 'Throttles', 'FunctionName', { Ref: id }),
      }));

      // Assess
      expect(functionIds.length).toBeGreaterThanOrEqual(9);
      for (const { errors, throttles } of coverage) {
        expect(errors).toHaveLength(1);
        expect(throttles).toHaveLength(1);
        for (const alarm of [...errors, ...throttles]) {
          expect(alarm).toMatchObject({ Statistic: 'Sum', Period: 300, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
        }
      }
    });

    it('names function alarms after the function, e.g. build-exports and metrics-report failures', () => {
      // Prepare
      const buildExports = logicalIdAt(template, 'Exports/BuildExportsFunction/Function/Resource');
      const metricsReport = logicalIdAt(template, 'Metrics/MetricsReportFunction/Function/Resource');

      // Act
      const exportErrors = alarmNamed(template, 'build-exports-errors');
      const reportErrors = alarmNamed(template, 'metrics-report-errors');

      // Assess
      expect(exportErrors.Dimensions).toEqual([{ Name: 'FunctionName', Value: { Ref: buildExports } }]);
      expect(reportErrors.Dimensions).toEqual([{ Name: 'FunctionName', Value: { Ref: metricsReport } }]);
    });

    it('raises a depth alarm on every SQS queue as soon as one message waits, keeping it while SQS is silent', () => {
      // Prepare
      const queueIds = Object.keys(template.findResources('AWS::SQS::Queue'));

      // Act
      const depthAlarms = queueIds.map((id) =>
        alarmsOn(template, 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', { 'Fn::GetAtt': [id, 'QueueName'] }),
      );

      // Assess
      expect(queueIds).toHaveLength(3);
      for (const alarms of depthAlarms) {
        expect(alarms).toEqual([
          expect.objectContaining({ Statistic: 'Maximum', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'ignore' }),
        ]);
      }
    });

    it('raises a throttle alarm on every DynamoDB table (read + write throttle events)', () => {
      // Prepare
      const tableIds = Object.keys(template.findResources('AWS::DynamoDB::Table'));

      // Act
      const throttleAlarms = tableIds.map((id) =>
        alarmsOf(template).filter((a) => (a.Metrics ?? []).some((m) => json(m.MetricStat?.Metric.Dimensions) === json([{ Name: 'TableName', Value: { Ref: id } }]))),
      );

      // Assess
      expect(tableIds).toHaveLength(5);
      for (const [alarm] of throttleAlarms.map((a) => (expect(a).toHaveLength(1), a))) {
        const metrics = alarm.Metrics ?? [];
        expect(metrics.map((m) => m.MetricStat?.Metric.MetricName).filter(Boolean).sort()).toEqual(['ReadThrottleEvents', 'WriteThrottleEvents']);
        expect(metrics.find((m) => m.Expression)?.Expression).toBe('reads + writes');
        expect(alarm).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
      }
    });

    it('raises the API 5xx alarm on the stage metric at the stage config threshold', () => {
      // Prepare
      const stageId = logicalIdAt(template, `Api/RestApi/DeploymentStage.${API_STAGE_NAME}/Resource`);
      const restApi = resourceAt(template, 'Api/RestApi/Resource');

      // Act
      const alarm = alarmNamed(template, 'api-5xx');

      // Assess
      expect(alarm).toMatchObject({
        Namespace: 'AWS/ApiGateway',
        MetricName: '5XXError',
        Statistic: 'Sum',
        Period: 300,
        Threshold: synth.stack.config.api5xxAlarmThreshold,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
      expect(alarm.Dimensions).toEqual([
        { Name: 'ApiName', Value: restApi.Properties.Name },
        { Name: 'Stage', Value: { Ref: stageId } },
      ]);
    });

    it('raises the iterator-age alarm of aggregate-metrics above one hour behind the stream', () => {
      // Prepare
      const aggregate = logicalIdAt(template, 'Metrics/AggregateMetricsFunction/Function/Resource');

      // Act
      const alarm = alarmNamed(template, 'aggregate-metrics-iterator-age');

      // Assess
      expect(alarm).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'IteratorAge',
        Statistic: 'Maximum',
        Threshold: 3_600_000,
        ComparisonOperator: 'GreaterThanThreshold',
      });
      expect(alarm.Dimensions).toEqual([{ Name: 'FunctionName', Value: { Ref: aggregate } }]);
    });

    it('treats "no successful export run in 30 minutes" as stale, missing data included', () => {
      // Prepare
      const fn = resourceAt(template, 'Exports/BuildExportsFunction/Function/Resource');
      const env = (fn.Properties.Environment as { Variables: Record<string, string> }).Variables;

      // Act
      const alarm = alarmNamed(template, 'exports-stale');

      // Assess
      expect(staleExportsWindow(synth.stack.config.exportScheduleMinutes).toMinutes()).toBe(30);
      expect(alarm).toMatchObject({
        Namespace: env.POWERTOOLS_METRICS_NAMESPACE,
        MetricName: 'ExportBundlesWritten',
        Statistic: 'SampleCount',
        Period: 1800,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      });
      expect(alarm.Dimensions).toEqual([{ Name: 'service', Value: env.POWERTOOLS_SERVICE_NAME }]);
    });

    it('watches the metric a successful build-exports run really emits under the environment CDK gives it', async () => {
      // Prepare: the handler module loaded with the function's Powertools environment.
      const fn = resourceAt(template, 'Exports/BuildExportsFunction/Function/Resource');
      const env = (fn.Properties.Environment as { Variables: Record<string, string> }).Variables;
      const saved = { ...process.env };
      Object.assign(process.env, {
        POWERTOOLS_SERVICE_NAME: env.POWERTOOLS_SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: env.POWERTOOLS_METRICS_NAMESPACE,
      });
      let make!: typeof makeBuildExportsHandler;
      let shared!: typeof observability;
      jest.isolateModules(() => {
        make = (require('../../lambdas/handlers/build-exports') as { makeBuildExportsHandler: typeof makeBuildExportsHandler }).makeBuildExportsHandler;
        shared = require('../../lambdas/shared/observability') as typeof observability;
      });
      process.env = saved;
      const serialize = jest.spyOn(shared.metrics, 'serializeMetrics');
      jest.spyOn((shared.metrics as unknown as { console: Console }).console, 'log').mockImplementation(() => undefined);
      jest.spyOn(shared.logger, 'info').mockImplementation(() => undefined);
      const handler = make(async () => ({
        reader: new InMemoryExportReader(),
        blobs: new InMemoryBlobStore(),
        signers: [new LocalSigner(testSigningKey('observability'), '302')],
        settings: { regionCode: '302', exportRegion: 'CA' },
        clock: new FixedClock(utc(2024, 3, 14, 10, 20)),
      }));
      const alarm = alarmNamed(template, 'exports-stale');

      // Act
      await handler({ id: 'event-1' }, lambdaContext('build-exports'));
      const emf = serialize.mock.results.map((r) => r.value as { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } } & Json);

      // Assess
      const published = emf.find((e) => e._aws.CloudWatchMetrics[0].Metrics.some((m) => m.Name === alarm.MetricName));
      expect(published).toBeDefined();
      const [directive] = published!._aws.CloudWatchMetrics;
      expect(directive.Namespace).toBe(alarm.Namespace);
      expect(directive.Dimensions).toEqual([(alarm.Dimensions ?? []).map((d) => d.Name)]);
      for (const d of alarm.Dimensions ?? []) expect(published![d.Name]).toBe(d.Value);
    });

    it('sends every alarm, on ALARM and on OK, to the alarm topic', () => {
      // Prepare
      const topic = { Ref: logicalIdAt(withEmail, 'Observability/AlarmTopic/Resource') };

      // Act
      const alarms = alarmsOf(withEmail);

      // Assess
      expect(alarms.length).toBe(alarmsOf(template).length);
      for (const alarm of alarms) {
        expect(alarm.AlarmActions).toEqual([topic]);
        expect(alarm.OKActions).toEqual([topic]);
      }
    });

    it('fails the synth when a function is added after the observability construct (it would go unwatched)', () => {
      // Prepare
      const app = newInfraApp();
      const stack = buildKeyServerApp(app);
      new lambda.Function(stack, 'LateFunction', {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => {}'),
      });

      // Act
      const act = () => app.synth();

      // Assess
      expect(act).toThrow(/function KeyServer-dev\/LateFunction has no alarm/);
    });
  });

  describe('alarm topic', () => {
    it('subscribes the stage config e-mail, and nothing when the stage has none', () => {
      // Act
      const subscriptions = Object.values(withEmail.findResources('AWS::SNS::Subscription')).map((s) => s.Properties);
      const none = Object.values(template.findResources('AWS::SNS::Subscription'));

      // Assess
      expect(synth.stack.config.alarmEmail).toBeUndefined();
      expect(none).toEqual([]);
      expect(subscriptions).toEqual([
        expect.objectContaining({ Protocol: 'email', Endpoint: ALARM_EMAIL, TopicArn: { Ref: logicalIdAt(withEmail, 'Observability/AlarmTopic/Resource') } }),
      ]);
    });

    it('is encrypted with a rotated key that CloudWatch may use for this account only', () => {
      // Prepare
      const keyId = logicalIdAt(template, 'Observability/AlarmTopicKey/Resource');

      // Act
      const topic = resourceAt(template, 'Observability/AlarmTopic/Resource');
      const key = resourceAt(template, 'Observability/AlarmTopicKey/Resource');
      const statements = (key.Properties.KeyPolicy as { Statement: Json[] }).Statement;

      // Assess
      expect(topic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
      expect(key.Properties.EnableKeyRotation).toBe(true);
      expect(statements).toContainEqual(
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        }),
      );
    });

    it('accepts publishing over TLS only, and from CloudWatch only for alarms of this stack', () => {
      // Act
      const [policy] = Object.values(template.findResources('AWS::SNS::TopicPolicy'));
      const statements = (policy.Properties.PolicyDocument as { Statement: Json[] }).Statement;

      // Assess
      expect(statements).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
      const cloudwatch = statements.find((s) => json(s.Principal) === json({ Service: 'cloudwatch.amazonaws.com' }));
      expect(cloudwatch).toMatchObject({ Effect: 'Allow', Action: 'sns:Publish' });
      expect(json(cloudwatch?.Condition)).toContain(':alarm:KeyServer-dev-*');
    });
  });

  describe('dashboard', () => {
    const metricsOf = (widget: { properties: Json }) => (widget.properties.metrics ?? []) as unknown[][];
    const widgetTitled = (body: { widgets: { properties: Json }[] }, prefix: string) => {
      const widget = body.widgets.find((w) => String(w.properties.title).startsWith(prefix));
      if (!widget) throw new Error(`no widget ${prefix}`);
      return widget;
    };

    it('graphs requests, 4XX, 5XX and latency per route from the API detailed metrics', () => {
      // Prepare
      const apiName = resourceAt(template, 'Api/RestApi/Resource').Properties.Name as string;

      // Act
      const body = dashboardBody(template);

      // Assess
      for (const [title, metric, stat] of [
        ['API requests per route', 'Count', 'Sum'],
        ['API 4XX per route', '4XXError', 'Sum'],
        ['API 5XX per route', '5XXError', 'Sum'],
        ['API latency p99 per route', 'Latency', 'p99'],
      ]) {
        const [[expression]] = metricsOf(widgetTitled(body, title)).map((m) => [(m[0] as { expression: string }).expression]);
        expect(expression).toBe(
          `SEARCH('{AWS/ApiGateway,ApiName,Method,Resource,Stage} ApiName="${apiName}" Stage="${API_STAGE_NAME}" MetricName="${metric}"', '${stat}', 300)`,
        );
      }
    });

    it('graphs export keys and bytes and metric events counted from the namespace and service the jobs publish in', () => {
      // Prepare
      const ns = `KeyServer/${synth.stack.config.stageName}`;

      // Act
      const body = dashboardBody(template);

      // Assess
      expect(metricsOf(widgetTitled(body, 'Export keys'))[0].slice(0, 4)).toEqual([ns, 'ExportKeys', 'service', 'build-exports']);
      expect(metricsOf(widgetTitled(body, 'Export bytes written'))[0].slice(0, 4)).toEqual([ns, 'ExportBytesWritten', 'service', 'build-exports']);
      expect(metricsOf(widgetTitled(body, 'Metric events counted'))[0].slice(0, 4)).toEqual([ns, 'MetricEventsCounted', 'service', 'aggregate-metrics']);
      const [[serverEvents]] = metricsOf(widgetTitled(body, 'Server events'));
      expect((serverEvents as { expression: string }).expression).toBe(`SEARCH('{${ns},Source,service}', 'Sum', 300)`);
    });

    it('shows the state of every alarm', () => {
      // Act
      const body = dashboardBody(template);
      const alarmWidget = body.widgets.find((w) => w.properties.title === 'Alarms');

      // Assess
      expect((alarmWidget?.properties.alarms as unknown[]).length).toBe(alarmsOf(template).length);
    });
  });
});
