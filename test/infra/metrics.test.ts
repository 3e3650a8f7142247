/**
 * The metrics pipeline as `cdk synth` builds it: save-metrics behind an API key and usage plan,
 * aggregate-metrics on the rawMetrics stream, the nightly metrics-report, each with exactly the
 * actions its adapters call and nothing on the key-submission or export resources.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { parseStageConfig } from '../../lib/config';
import { bindBucket, FUNCTION_RUNTIME, KeyServerFunction } from '../../lib/constructs/key-server-function';
import {
  AGGREGATE_METRICS_TIMEOUT,
  ENVELOPE_LIMITS,
  METRICS_ENVELOPE_SCHEMA,
  METRICS_REPORT_TIMEOUT,
  METRICS_TABLE_ACTIONS,
  REPORT_INDEX,
  REPORT_PREFIXES,
} from '../../lib/constructs/metrics';
import { Storage } from '../../lib/constructs/storage';
import { BUCKETS, TABLES } from '../../lib/definitions';
import { ENV } from '../../lib/env-names';
import { decodeStreamRecords } from '../../lambdas/handlers/aggregate-metrics';
import { LEDGER_TTL_SECONDS } from '../../lambdas/domain/metrics/aggregate';
import { MAX_APPOS_LENGTH, MAX_APPVERSION_LENGTH, parseEnvelope } from '../../lambdas/domain/metrics/envelope';
import { REPORT_OUTPUTS, reportObjectKey } from '../../lambdas/domain/metrics/report';
import { PERIOD_KINDS } from '../../lambdas/domain/metrics/report-periods';
import { aggregateContextFromEnv, saveMetricsContextFromEnv } from '../../lambdas/shared/metrics-context';
import { metricsReportContextFromEnv } from '../../lambdas/shared/report-context';
import {
  actionsOf,
  aRawStage,
  logicalIdAt,
  newInfraApp,
  resourceAt,
  statementsOfRole,
  synthKeyServer,
  type PolicyStatementJson,
  type SynthesizedKeyServer,
} from './support/infra-app';

type FunctionName = 'SaveMetrics' | 'AggregateMetrics' | 'MetricsReport';
const FUNCTIONS: readonly FunctionName[] = ['SaveMetrics', 'AggregateMetrics', 'MetricsReport'];
const functionPath = (name: FunctionName) => `Metrics/${name}Function/Function/Resource`;
const rolePath = (name: FunctionName) => `Metrics/${name}Function/Role/Resource`;
const METHOD = 'Api/RestApi/Default/save-metrics/POST/Resource';
const STAGE = 'Api/RestApi/DeploymentStage.v1/Resource';
const FAILURE_QUEUE = 'Metrics/AggregateFailureQueue/Resource';
const REPORT_QUEUE = 'Metrics/ReportDeadLetterQueue/Resource';
const SCHEDULE = 'Metrics/ReportSchedule/Resource';
const sorted = (values: readonly string[]) => [...values].sort();
const json = (value: unknown) => JSON.stringify(value);

type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Envelope builders and schema walker (the gateway model must never be stricter than the function)

/** A valid envelope using every property the schema names, at its length limits. */
function anEnvelope(): Json {
  return {
    metricstimestamp: 1_700_000_000_000,
    appversion: 'v'.repeat(MAX_APPVERSION_LENGTH),
    appos: 'a'.repeat(MAX_APPOS_LENGTH),
    symptomonset: false,
    payload: [{ identifier: 'installed', region: 'ON', timestamp: 1_700_000_000_000 }],
  };
}

interface SchemaNode {
  readonly type?: string;
  readonly required?: readonly string[];
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly items?: SchemaNode;
  readonly maxLength?: number;
  readonly minItems?: number;
}

/** A value of the wrong JSON type for each schema type. */
const WRONG_TYPE: Readonly<Record<string, unknown>> = {
  object: [],
  array: {},
  string: 42,
  integer: 1.5,
  number: '1700000000000',
  boolean: 'true',
};

/** Sets (or with `undefined`, deletes) the value at `path` of a deep copy of `root`. */
function changed(root: Json, path: readonly (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root);
  let node = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

/** One document per schema constraint, each breaking exactly that constraint of `root`. */
function violationsOf(schema: SchemaNode, root: Json, path: (string | number)[] = []): { rule: string; document: unknown }[] {
  const where = path.length === 0 ? '(body)' : path.join('.');
  const found: { rule: string; document: unknown }[] = [];
  if (schema.type) found.push({ rule: `${where}: type ${schema.type}`, document: changed(root, path, WRONG_TYPE[schema.type]) });
  if (schema.maxLength !== undefined) {
    found.push({ rule: `${where}: maxLength ${schema.maxLength}`, document: changed(root, path, 'x'.repeat(schema.maxLength + 1)) });
  }
  if (schema.minItems !== undefined) {
    found.push({ rule: `${where}: minItems ${schema.minItems}`, document: changed(root, path, new Array(schema.minItems - 1).fill({})) });
  }
  for (const name of schema.required ?? []) {
    found.push({ rule: `${where}: required ${name}`, document: changed(root, [...path, name], undefined) });
  }
  for (const [name, child] of Object.entries(schema.properties ?? {})) found.push(...violationsOf(child, root, [...path, name]));
  if (schema.items) found.push(...violationsOf(schema.items, root, [...path, 0]));
  return found;
}

describe('metrics', () => {
  let synth: SynthesizedKeyServer;
  let template: Template;
  const id = (path: string) => logicalIdAt(template, path);
  const resources = () => template.toJSON().Resources as Record<string, { Type: string; Properties: Json; Metadata?: Json }>;
  const statementsOf = (name: FunctionName) => statementsOfRole(template, id(rolePath(name)));
  const variablesOf = (name: FunctionName) => (resourceAt(template, functionPath(name)).Properties.Environment as { Variables: Json }).Variables;
  const getAtt = (path: string, attribute = 'Arn') => ({ 'Fn::GetAtt': [id(path), attribute] });
  const dataKeyArn = () => getAtt('Storage/DataKey/Resource');
  const eventSourceMappings = () =>
    Object.values(resources()).filter(
      (r) => r.Type === 'AWS::Lambda::EventSourceMapping' && json(r.Properties.FunctionName) === json({ Ref: id(functionPath('AggregateMetrics')) }),
    );
  /** Every statement of the role except the log-group one every function has, resource and condition kept. */
  const grantsOf = (name: FunctionName) =>
    statementsOf(name)
      .filter((s) => s.Sid !== 'WriteOwnLogGroup')
      .map((s) => ({ actions: sorted(actionsOf(s)), resource: s.Resource, condition: s.Condition }));
  /** The template variables of a function, every value replaced by a placeholder string (for the handler's env reader). */
  const placeholderEnv = (name: FunctionName) => Object.fromEntries(Object.keys(variablesOf(name)).map((k) => [k, `value-of-${k}`]));
  const viaService = (service: 'dynamodb' | 's3') => ({
    StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', [`${service}.`, { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
  });

  beforeAll(() => {
    // Prepare / Act: the real app, cdk-nag included (synthesis fails on any unacknowledged finding).
    synth = synthKeyServer();
    template = synth.template;
  });

  describe('save-metrics', () => {
    it('routes POST /save-metrics, and no other method, to save-metrics through a Lambda proxy integration requiring the API key', () => {
      // Prepare
      const functionId = id(functionPath('SaveMetrics'));

      // Act
      const method = resourceAt(template, METHOD).Properties;
      const methodsOnRoute = Object.values(resources()).filter(
        (r) => r.Type === 'AWS::ApiGateway::Method' && /\/Api\/RestApi\/Default\/save-metrics\/[A-Z]+\/Resource$/.test(String(r.Metadata?.['aws:cdk:path'])),
      );
      const permissions = Object.values(resources()).filter(
        (r) => r.Type === 'AWS::Lambda::Permission' && json(r.Properties.FunctionName).includes(functionId),
      );

      // Assess
      expect(method).toMatchObject({ HttpMethod: 'POST', AuthorizationType: 'NONE', ApiKeyRequired: true });
      expect(method.Integration).toMatchObject({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' });
      expect(json(method.Integration)).toContain(functionId);
      expect(methodsOnRoute).toHaveLength(1);
      expect(permissions.map((p) => [p.Properties.Principal, json(p.Properties.SourceArn).match(/"(\/POST\/[^"]+)"/)?.[1]])).toEqual([
        ['apigateway.amazonaws.com', '/POST/save-metrics'],
      ]);
    });

    it('binds one generated, retained API key to the API stage in a usage plan with the stage config throttle and daily quota', () => {
      // Prepare
      const { rateLimit, burstLimit, quotaPerDay } = synth.stack.config.metricsUsagePlan;
      const keyId = id('Metrics/ApiKey/Resource');

      // Act
      const plans = Object.values(template.findResources('AWS::ApiGateway::UsagePlan'));
      const planKeys = Object.values(template.findResources('AWS::ApiGateway::UsagePlanKey'));
      const key = resourceAt(template, 'Metrics/ApiKey/Resource');

      // Assess
      expect(plans).toHaveLength(1);
      expect(plans[0].Properties).toMatchObject({
        ApiStages: [{ ApiId: { Ref: id('Api/RestApi/Resource') }, Stage: { Ref: id(STAGE) } }],
        Throttle: { RateLimit: rateLimit, BurstLimit: burstLimit },
        Quota: { Limit: quotaPerDay, Period: 'DAY' },
      });
      expect(planKeys.map((k) => k.Properties)).toEqual([
        { KeyId: { Ref: keyId }, KeyType: 'API_KEY', UsagePlanId: { Ref: id('Metrics/UsagePlan/Resource') } },
      ]);
      // Generated by CloudFormation (never in the repository), enabled, and kept: the apps ship it.
      expect(key.Properties.Enabled).toBe(true);
      expect(key.Properties.Value).toBeUndefined();
      expect(key).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
      expect(template.toJSON().Outputs.MetricsApiKeyId.Value).toEqual({ Ref: keyId });
      // The usage plan cannot let through more than the stage throttle does.
      expect(rateLimit).toBeLessThanOrEqual(synth.stack.config.apiThrottle.rateLimit);
      expect(burstLimit).toBeLessThanOrEqual(synth.stack.config.apiThrottle.burstLimit);
    });

    it('relies on API Gateway for the key: the handler built from its environment does not check x-api-key', async () => {
      // Act
      const context = await saveMetricsContextFromEnv(placeholderEnv('SaveMetrics'));

      // Assess
      expect(context.requireApiKey).toBe(false);
      expect(resourceAt(template, METHOD).Properties.ApiKeyRequired).toBe(true);
    });

    it('validates the body of every content type against the envelope model with a body-only validator', () => {
      // Act
      const method = resourceAt(template, METHOD).Properties;
      const validator = resourceAt(template, 'Metrics/BodyValidator/Resource').Properties;
      const model = resourceAt(template, 'Metrics/EnvelopeModel/Resource').Properties;

      // Assess
      expect(method.RequestValidatorId).toEqual({ Ref: id('Metrics/BodyValidator/Resource') });
      expect(method.RequestModels).toEqual({ $default: { Ref: id('Metrics/EnvelopeModel/Resource') } });
      expect(validator).toMatchObject({ RestApiId: { Ref: id('Api/RestApi/Resource') }, ValidateRequestBody: true, ValidateRequestParameters: false });
      expect(model).toMatchObject({ ContentType: 'application/json', Name: 'metricspayload' });
      expect(model.Schema).toMatchObject({
        $schema: 'http://json-schema.org/draft-04/schema#',
        type: 'object',
        required: ['metricstimestamp', 'appversion', 'appos', 'payload'],
        properties: {
          metricstimestamp: { type: 'integer' },
          appversion: { type: 'string', maxLength: 10 },
          appos: { type: 'string', maxLength: 20 },
          payload: { type: 'array', minItems: 1, items: { type: 'object', required: ['identifier', 'region', 'timestamp'] } },
        },
      });
      // Extra properties are allowed everywhere: the apps send fields the schema does not list.
      expect(json(model.Schema)).not.toContain('additionalProperties');
    });

    it('never rejects at the gateway what the function accepts: every schema constraint is one the function enforces too', () => {
      // Prepare
      const valid = anEnvelope();
      const withExtras = { ...valid, osversion: '14', unknownField: 'kept', payload: [{ ...(valid.payload as Json[])[0], count: '3' }] };

      // Act
      const violations = violationsOf(METRICS_ENVELOPE_SCHEMA as SchemaNode, valid);
      const accepted = violations.filter((v) => parseEnvelope(JSON.stringify(v.document)).ok).map((v) => v.rule);

      // Assess
      expect(parseEnvelope(JSON.stringify(valid)).ok).toBe(true);
      expect(parseEnvelope(JSON.stringify(withExtras)).ok).toBe(true);
      expect(violations.length).toBeGreaterThanOrEqual(20);
      expect(accepted).toEqual([]);
      expect(ENVELOPE_LIMITS).toEqual({ appversionMaxLength: MAX_APPVERSION_LENGTH, apposMaxLength: MAX_APPOS_LENGTH });
    });

    it('gives save-metrics PutItem on the rawMetrics table only, the data key only through DynamoDB, and the table name', () => {
      // Act
      const grants = grantsOf('SaveMetrics');

      // Assess
      expect(grants).toEqual([
        { actions: ['dynamodb:PutItem'], resource: getAtt('Storage/RawMetricsTable/Resource'), condition: undefined },
        { actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], resource: dataKeyArn(), condition: viaService('dynamodb') },
      ]);
      expect(METRICS_TABLE_ACTIONS.saveMetrics.rawMetrics).toEqual(['dynamodb:PutItem']);
      expect(variablesOf('SaveMetrics')[ENV.rawMetricsTable]).toEqual({ Ref: id('Storage/RawMetricsTable/Resource') });
    });
  });

  describe('aggregate-metrics', () => {
    it('consumes the rawMetrics stream from TRIM_HORIZON in batches of 100, bisecting, with partial batch responses and bounded retries', () => {
      // Act
      const mappings = eventSourceMappings();

      // Assess
      expect(mappings).toHaveLength(1);
      expect(mappings[0].Properties).toMatchObject({
        EventSourceArn: getAtt('Storage/RawMetricsTable/Resource', 'StreamArn'),
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 100,
        BisectBatchOnFunctionError: true,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        MaximumRetryAttempts: 5,
        MaximumRecordAgeInSeconds: 24 * 3600,
        ParallelizationFactor: 1,
        DestinationConfig: { OnFailure: { Destination: getAtt(FAILURE_QUEUE) } },
      });
      expect(mappings[0].Properties.Enabled).not.toBe(false);
    });

    it('re-reads safely from TRIM_HORIZON: a counted item stays in the ledger longer than any record stays in the stream', () => {
      // Act
      const maxRecordAge = eventSourceMappings()[0].Properties.MaximumRecordAgeInSeconds as number;

      // Assess (DynamoDB Streams keeps records 24 h; the mapping never reads older ones)
      expect(maxRecordAge).toBeLessThanOrEqual(24 * 3600);
      expect(LEDGER_TTL_SECONDS).toBeGreaterThan(24 * 3600);
    });

    it('is invoked for INSERT records only, so TTL deletions (REMOVE) never reach the function', () => {
      // Act
      const filters = (eventSourceMappings()[0].Properties.FilterCriteria as { Filters: { Pattern: string }[] }).Filters;
      const patterns = filters.map((f) => JSON.parse(f.Pattern) as Json);

      // Assess
      expect(patterns).toEqual([{ eventName: ['INSERT'] }]);
    });

    it('reads a NEW_IMAGE stream, the image the handler decodes the raw text from', () => {
      // Prepare
      const record = { eventName: 'INSERT', dynamodb: { SequenceNumber: '100', NewImage: { id: { S: 'r1' }, raw: { S: '{"payload":[]}' } } } };

      // Act
      const stream = resourceAt(template, 'Storage/RawMetricsTable/Resource').Properties.StreamSpecification;
      const decoded = decodeStreamRecords({ Records: [record] } as never);

      // Assess
      expect(stream).toEqual({ StreamViewType: 'NEW_IMAGE' });
      expect(TABLES.rawMetrics.stream).toBe('NEW_IMAGE');
      expect(decoded).toEqual([{ sequenceNumber: '100', eventName: 'INSERT', rawId: 'r1', raw: '{"payload":[]}' }]);
    });

    it('grants UpdateItem on aggregates, PutItem on the ledger, reads on the one stream, and the data key only through DynamoDB', () => {
      // Act
      const grants = grantsOf('AggregateMetrics');

      // Assess
      expect(grants).toEqual(
        expect.arrayContaining([
          { actions: ['dynamodb:UpdateItem'], resource: getAtt('Storage/AggregateMetricsTable/Resource'), condition: undefined },
          { actions: ['dynamodb:PutItem'], resource: getAtt('Storage/MetricsLedgerTable/Resource'), condition: undefined },
          {
            actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
            resource: getAtt('Storage/RawMetricsTable/Resource', 'StreamArn'),
            condition: undefined,
          },
          // ListStreams has no resource scope (acknowledged AwsSolutions-IAM5[Resource::*]).
          { actions: ['dynamodb:ListStreams'], resource: '*', condition: undefined },
          { actions: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'], resource: getAtt(FAILURE_QUEUE), condition: undefined },
        ]),
      );
      const kms = grants.filter((g) => g.actions.some((a) => a.startsWith('kms:')));
      expect(kms.length).toBeGreaterThan(0);
      for (const g of kms) expect(g).toMatchObject({ resource: dataKeyArn(), condition: viaService('dynamodb') });
      // Exactly those: the five statements above and the data key through DynamoDB.
      expect(grants).toHaveLength(5 + kms.length);
      expect(METRICS_TABLE_ACTIONS.aggregateMetrics).toEqual({ aggregateMetrics: ['dynamodb:UpdateItem'], metricsLedger: ['dynamodb:PutItem'] });
    });

    it('sends records it gave up on to an encrypted, TLS-only queue that keeps them 14 days', () => {
      // Act
      const queue = resourceAt(template, FAILURE_QUEUE).Properties;
      const policy = Object.values(template.findResources('AWS::SQS::QueuePolicy')).find(
        (p) => json(p.Properties.Queues) === json([{ Ref: id(FAILURE_QUEUE) }]),
      );

      // Assess
      expect(queue).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
      expect((policy?.Properties.PolicyDocument as { Statement: unknown[] }).Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    });

    it('has a minute per batch and the memory to parse 100 raw texts of 100 KiB', () => {
      // Act
      const fn = resourceAt(template, functionPath('AggregateMetrics')).Properties;

      // Assess
      expect(fn.Timeout).toBe(AGGREGATE_METRICS_TIMEOUT.toSeconds());
      expect(fn.Timeout).toBe(60);
      expect(fn.MemorySize).toBeGreaterThanOrEqual(512);
      expect(fn.DeadLetterConfig).toBeUndefined();
    });
  });

  describe('metrics-report', () => {
    it('runs nightly at metricsReportTimeUtc (03:00 UTC) from a rule that targets metrics-report only', () => {
      // Prepare
      const functionArn = getAtt(functionPath('MetricsReport'));

      // Act
      const rule = resourceAt(template, SCHEDULE).Properties;
      const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).filter((p) =>
        json(p.Properties.FunctionName).includes(id(functionPath('MetricsReport'))),
      );

      // Assess
      expect(synth.stack.config.metricsReportTimeUtc).toBe('03:00');
      expect(rule.ScheduleExpression).toBe('cron(0 3 * * ? *)');
      expect(rule.State).toBe('ENABLED');
      expect((rule.Targets as Json[]).map((t) => t.Arn)).toEqual([functionArn]);
      expect(permissions.map((p) => p.Properties)).toEqual([
        { Action: 'lambda:InvokeFunction', FunctionName: functionArn, Principal: 'events.amazonaws.com', SourceArn: getAtt(SCHEDULE) },
      ]);
    });

    it('queries aggregates through the IdentifierIndex only and writes only masked/* and unmasked/* report objects', () => {
      // Act
      const grants = grantsOf('MetricsReport');

      // Assess
      expect(grants).toEqual([
        { actions: ['sqs:SendMessage'], resource: getAtt(REPORT_QUEUE), condition: undefined },
        {
          actions: ['dynamodb:Query'],
          resource: { 'Fn::Join': ['', [getAtt('Storage/AggregateMetricsTable/Resource'), `/index/${REPORT_INDEX}`]] },
          condition: undefined,
        },
        { actions: ['kms:Decrypt'], resource: dataKeyArn(), condition: viaService('dynamodb') },
        {
          actions: ['s3:PutObject'],
          resource: REPORT_PREFIXES.map((prefix) => ({ 'Fn::Join': ['', [getAtt('Storage/ReportsBucket/Resource'), `/${prefix}*`]] })),
          condition: undefined,
        },
        { actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], resource: dataKeyArn(), condition: viaService('s3') },
      ]);
      expect(TABLES.aggregateMetrics.indexes.map((i) => i.indexName)).toContain(REPORT_INDEX);
    });

    it('grants prefixes that cover every object key the report job writes', () => {
      // Act
      const keys = REPORT_OUTPUTS.flatMap((output) => PERIOD_KINDS.map((kind) => reportObjectKey(output, kind, 'installs')));

      // Assess
      expect(sorted(REPORT_OUTPUTS.map((output) => `${output}/`))).toEqual(sorted(REPORT_PREFIXES));
      for (const key of keys) expect(REPORT_PREFIXES.some((prefix) => key.startsWith(prefix))).toBe(true);
    });

    it('is bound by a helper that refuses an empty prefix list, a malformed prefix, or both prefix options at once', () => {
      // Prepare
      const stack = new Stack(newInfraApp(), 'PrefixGuards');
      const storage = new Storage(stack, 'Storage', { pointInTimeRecoveryDays: 3, logRetentionDays: 7 });
      const defaults = { logRetentionDays: 7, metricsNamespace: 'KeyServer/test', logLevel: 'INFO' } as const;
      const fn = new KeyServerFunction(stack, 'Fn', { entry: 'lambdas/handlers/metrics-report.ts', serviceName: 'metrics-report', defaults });
      const bind = (options: Parameters<typeof bindBucket>[4]) => () => bindBucket(fn, storage.buckets.reports, BUCKETS.reports, 'write', options);

      // Act
      const empty = bind({ objectPrefixes: [] });
      const malformed = bind({ objectPrefixes: ['masked/', 'unmasked'] });
      const both = bind({ objectPrefix: 'masked/', objectPrefixes: ['unmasked/'] });

      // Assess
      expect(empty).toThrow(/objectPrefixes must name at least one prefix/);
      expect(malformed).toThrow(/objectPrefix must be path segments ending in '\/', got "unmasked"/);
      expect(both).toThrow(/objectPrefix or objectPrefixes, not both/);
    });

    it('never runs twice at once, has 15 minutes and 1024 MB, retries once and sends lost runs to an encrypted dead-letter queue', () => {
      // Prepare
      const queueArn = getAtt(REPORT_QUEUE);

      // Act
      const fn = resourceAt(template, functionPath('MetricsReport')).Properties;
      const target = (resourceAt(template, SCHEDULE).Properties.Targets as Json[])[0];
      const invokeConfigs = Object.values(template.findResources('AWS::Lambda::EventInvokeConfig')).filter(
        (c) => json(c.Properties.FunctionName) === json({ Ref: id(functionPath('MetricsReport')) }),
      );
      const queue = resourceAt(template, REPORT_QUEUE).Properties;

      // Assess
      expect(fn).toMatchObject({ ReservedConcurrentExecutions: 1, Timeout: METRICS_REPORT_TIMEOUT.toSeconds(), MemorySize: 1024 });
      expect(fn.Timeout).toBe(900);
      expect(fn.DeadLetterConfig).toEqual({ TargetArn: queueArn });
      expect(target).toMatchObject({ DeadLetterConfig: { Arn: queueArn }, RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 6 * 3600 } });
      expect(invokeConfigs.map((c) => c.Properties)).toEqual([
        expect.objectContaining({ MaximumRetryAttempts: 1, MaximumEventAgeInSeconds: 6 * 3600, Qualifier: '$LATEST' }),
      ]);
      expect(queue).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    });
  });

  describe('all three functions', () => {
    it.each(FUNCTIONS)('%s touches no submission or diagnosis-key table, exports or access-log bucket, signing key or other queue', (name) => {
      // Prepare
      const own: Record<FunctionName, string[]> = {
        SaveMetrics: [],
        AggregateMetrics: [FAILURE_QUEUE],
        MetricsReport: [REPORT_QUEUE],
      };
      const untouchable = [
        'Storage/SubmissionTable/Resource',
        'Storage/DiagnosisKeysTable/Resource',
        'Storage/ExportsBucket/Resource',
        'Storage/AccessLogsBucket/Resource',
        'Exports/SigningKey/Resource',
        'Exports/BuildExportsDeadLetterQueue/Resource',
        'Submission/Secrets/Resource',
        ...[FAILURE_QUEUE, REPORT_QUEUE].filter((q) => !own[name].includes(q)),
      ].map(id);
      const keyPolicy = resourceAt(template, 'Exports/SigningKey/Resource').Properties.KeyPolicy;

      // Act
      const statements: PolicyStatementJson[] = statementsOf(name);

      // Assess
      for (const s of statements) {
        expect(s.Effect).toBe('Allow');
        expect(actionsOf(s).filter((a) => a.includes('*'))).toEqual([]);
        for (const other of untouchable) expect(json(s.Resource)).not.toContain(other);
        if (s.Resource === '*') expect(actionsOf(s)).toEqual(['dynamodb:ListStreams']);
      }
      expect(statements.flatMap(actionsOf).filter((a) => /^(dynamodb:(Scan|DeleteItem|BatchWriteItem|GetItem)|s3:(Get|Delete|List).*|kms:Sign)$/.test(a))).toEqual([]);
      expect(json(keyPolicy)).not.toContain(id(rolePath(name)));
    });

    it.each([
      ['SaveMetrics', [ENV.rawMetricsTable]],
      ['AggregateMetrics', [ENV.aggregateMetricsTable, ENV.metricsLedgerTable]],
      ['MetricsReport', [ENV.aggregateMetricsTable, ENV.reportsBucket]],
    ] as const)('gives %s exactly the resource names its handler requires at cold start', async (name, names) => {
      // Prepare
      const readers = { SaveMetrics: saveMetricsContextFromEnv, AggregateMetrics: aggregateContextFromEnv, MetricsReport: metricsReportContextFromEnv };
      const read = readers[name] as (env: NodeJS.ProcessEnv) => Promise<unknown>;

      // Act
      const bound = Object.keys(variablesOf(name)).filter((k) => k.endsWith('_TABLE_NAME') || k.endsWith('_BUCKET_NAME'));

      // Assess
      expect(sorted(bound)).toEqual(sorted(names));
      await expect(read({})).rejects.toMatchObject({ name: 'ConfigurationError', problems: names.map((n) => `${n} is not set`) });
      await expect(read(placeholderEnv(name))).resolves.toBeDefined();
    });

    it.each(FUNCTIONS)('runs %s on the house runtime, arm64, without tracing, with its own log group and Powertools service name', (name) => {
      // Prepare
      const serviceName = { SaveMetrics: 'save-metrics', AggregateMetrics: 'aggregate-metrics', MetricsReport: 'metrics-report' }[name];

      // Act
      const fn = resourceAt(template, functionPath(name)).Properties;

      // Assess
      expect(fn).toMatchObject({ Runtime: FUNCTION_RUNTIME.name, Architectures: ['arm64'], Handler: 'index.handler' });
      expect(fn.TracingConfig).toBeUndefined();
      expect(fn.LoggingConfig).toEqual({ LogGroup: { Ref: id(`Metrics/${name}Function/LogGroup/Resource`) } });
      expect(variablesOf(name)).toMatchObject({ POWERTOOLS_SERVICE_NAME: serviceName, POWERTOOLS_LOGGER_LOG_EVENT: 'false' });
    });
  });

  describe('stage config', () => {
    it('rejects a usage plan above the stage throttle, a bad quota and a report time that is not HH:MM', () => {
      // Prepare
      const raw = aRawStage({
        apiThrottle: { rateLimit: 50, burstLimit: 100 },
        metricsUsagePlan: { rateLimit: 51, burstLimit: 100, quotaPerDay: 0, perKey: true },
        metricsReportTimeUtc: '3:00',
      });

      // Act
      const act = () => parseStageConfig('dev', raw);

      // Assess
      expect(act).toThrow(/metricsUsagePlan\.rateLimit: must not exceed apiThrottle\.rateLimit \(50\)/);
      expect(act).toThrow(/metricsUsagePlan\.quotaPerDay: must be an integer/);
      expect(act).toThrow(/metricsUsagePlan\.perKey: unknown field/);
      expect(act).toThrow(/metricsReportTimeUtc: must be a UTC time of day "HH:MM"/);
      expect(act).not.toThrow(/metricsUsagePlan\.burstLimit/);
    });

    it('requires the usage plan and defaults the report to 03:00 UTC', () => {
      // Prepare
      const raw = aRawStage();
      delete raw.metricsReportTimeUtc;
      const withoutPlan = aRawStage();
      delete withoutPlan.metricsUsagePlan;

      // Act
      const config = parseStageConfig('dev', raw);
      const act = () => parseStageConfig('dev', withoutPlan);

      // Assess
      expect(config.metricsReportTimeUtc).toBe('03:00');
      expect(act).toThrow(/metricsUsagePlan: must be an object/);
    });
  });

  it('passes cdk-nag with only the reviewed acknowledgements, each on its own resource', () => {
    // Act
    const acknowledged = synth.stack.metrics.node.findAll().flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) =>
          Object.keys(entry.data as Record<string, string>).map(
            (rule) => `${construct.node.path.replace(/^[^/]+\//, '')} ${rule.replace(/^annotation::/i, '')}`,
          ),
        ),
    );

    // Assess (synthesis in beforeAll already ran the AwsSolutions checks without a finding)
    const bucket = id('Storage/ReportsBucket/Resource');
    expect(sorted(acknowledged)).toEqual([
      'Metrics/AggregateFailureQueue AwsSolutions-SQS3',
      'Metrics/AggregateMetricsFunction AwsSolutions-IAM5[Resource::*]',
      'Metrics/AggregateMetricsFunction/Function AwsSolutions-L1',
      `Metrics/MetricsReportFunction AwsSolutions-IAM5[Resource::<${bucket}.Arn>/masked/*]`,
      `Metrics/MetricsReportFunction AwsSolutions-IAM5[Resource::<${bucket}.Arn>/unmasked/*]`,
      'Metrics/MetricsReportFunction/Function AwsSolutions-L1',
      'Metrics/SaveMetricsFunction/Function AwsSolutions-L1',
    ]);
  });
});
