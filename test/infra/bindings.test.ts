/**
 * How a later feature joins: a function built with KeyServerFunction, bound to its tables and
 * buckets with bindTable/bindBucket, routed with api.addRoute. A small test stack, not the app.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULT_WAF_RATE_LIMITS } from '../../lib/config';
import { Api } from '../../lib/constructs/api';
import {
  bindBucket,
  bindTable,
  BUCKET_ACTIONS,
  KeyServerFunction,
  KMS_ACTIONS,
  TABLE_ACTIONS,
  type FunctionDefaults,
} from '../../lib/constructs/key-server-function';
import { Storage } from '../../lib/constructs/storage';
import { Waf } from '../../lib/constructs/waf';
import { BUCKETS, TABLES } from '../../lib/definitions';
import {
  actionsOf,
  aStageConfig,
  logicalIdAt,
  newInfraApp,
  statementsOfRole,
  type PolicyStatementJson,
} from './support/infra-app';

const DEFAULTS: FunctionDefaults = { logRetentionDays: 7, metricsNamespace: 'KeyServer/test', logLevel: 'INFO' };
const sorted = (actions: readonly string[]) => [...actions].sort();

describe('binding helpers and addRoute', () => {
  let template: Template;
  let statements: PolicyStatementJson[];
  let variables: Record<string, unknown>;
  const id = (path: string) => logicalIdAt(template, path);
  /** The statement with `sid`, its actions as a sorted array whether CloudFormation got one or many. */
  const statement = (sid: string) => {
    const found = statements.find((s) => s.Sid === sid);
    return found && { ...found, Action: sorted(actionsOf(found)) };
  };

  beforeAll(() => {
    // Prepare: a function bound read / write / readWrite to tables and buckets, and routed.
    const app = newInfraApp();
    const stack = new Stack(app, 'BindingTest');
    const storage = new Storage(stack, 'Storage', { pointInTimeRecoveryDays: 3, logRetentionDays: 7 });
    const api = new Api(stack, 'Api', { throttle: aStageConfig().apiThrottle, logRetentionDays: 7, functionDefaults: DEFAULTS });
    // As in the real stack, the API stage has its web ACL (cdk-nag AwsSolutions-APIG3).
    new Waf(stack, 'Waf', { stage: api.restApi.deploymentStage, newKeyClaimAllowList: [], rateLimits: DEFAULT_WAF_RATE_LIMITS });
    const fn = new KeyServerFunction(stack, 'Feature', { entry: 'lambdas/handlers/services.ts', serviceName: 'feature', defaults: DEFAULTS });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    // Act
    bindTable(fn, storage.tables.diagnosisKeys, TABLES.diagnosisKeys, 'read');
    bindTable(fn, storage.tables.submission, TABLES.submission, 'readWrite');
    bindTable(fn, storage.tables.rawMetrics, TABLES.rawMetrics, 'write');
    bindBucket(fn, storage.buckets.exports, BUCKETS.exports, 'write');
    bindBucket(fn, storage.buckets.reports, BUCKETS.reports, 'read');
    api.addRoute('/claim-key', ['POST'], fn);
    app.synth(); // runs cdk-nag: throws on any unacknowledged finding
    template = Template.fromStack(stack);
    statements = statementsOfRole(template, logicalIdAt(template, 'Feature/Role/Resource'));
    const fnResource = template.toJSON().Resources[logicalIdAt(template, 'Feature/Function/Resource')];
    variables = fnResource.Properties.Environment.Variables;
  });

  it('read grants exactly the read actions on the table and Query on its indexes', () => {
    // Assess
    expect(statement('diagnosisKeysTableRead')).toEqual({
      Sid: 'diagnosisKeysTableRead',
      Effect: 'Allow',
      Action: sorted(TABLE_ACTIONS.read),
      Resource: { 'Fn::GetAtt': [id('Storage/DiagnosisKeysTable/Resource'), 'Arn'] },
    });
    expect(statement('diagnosisKeysTableIndexQuery')).toMatchObject({
      Action: ['dynamodb:Query'],
      Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [id('Storage/DiagnosisKeysTable/Resource'), 'Arn'] }, '/index/byRegionDay']] },
    });
    expect(statement('diagnosisKeysTableKey')).toMatchObject({ Action: sorted(KMS_ACTIONS.read) });
  });

  it('write grants exactly the write actions, no reads', () => {
    // Act
    const actions = statement('rawMetricsTableWrite')?.Action;

    // Assess
    expect(actions).toEqual(sorted(TABLE_ACTIONS.write));
    expect(actions).not.toContain('dynamodb:GetItem');
    expect(actions).not.toContain('dynamodb:Query');
    expect(statement('rawMetricsTableKey')?.Action).toEqual(sorted(KMS_ACTIONS.write));
  });

  it('readWrite grants the union of both, on that table only', () => {
    // Assess
    expect(statement('submissionTableReadWrite')).toEqual({
      Sid: 'submissionTableReadWrite',
      Effect: 'Allow',
      Action: sorted([...new Set([...TABLE_ACTIONS.read, ...TABLE_ACTIONS.write])]),
      Resource: { 'Fn::GetAtt': [id('Storage/SubmissionTable/Resource'), 'Arn'] },
    });
  });

  it('lets the function use the data key only through DynamoDB or S3 (kms:ViaService)', () => {
    // Prepare
    const keyArn = { 'Fn::GetAtt': [id('Storage/DataKey/Resource'), 'Arn'] };

    // Act
    const keyStatements = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));

    // Assess
    expect(keyStatements.map((s) => s.Sid).sort()).toEqual(
      ['diagnosisKeysTableKey', 'exportsBucketKey', 'rawMetricsTableKey', 'reportsBucketKey', 'submissionTableKey'].sort(),
    );
    for (const s of keyStatements) {
      expect(s.Resource).toEqual(keyArn);
      expect(JSON.stringify(s.Condition)).toMatch(/kms:ViaService.*(dynamodb|s3)\./);
    }
  });

  it('bucket write grants PutObject on the objects only; read grants GetObject and ListBucket', () => {
    // Assess
    expect(statement('exportsBucketObjectsWrite')).toMatchObject({ Action: sorted(BUCKET_ACTIONS.write.object) });
    expect(statement('exportsBucketList')).toBeUndefined();
    expect(statement('reportsBucketObjectsRead')).toMatchObject({
      Action: sorted(BUCKET_ACTIONS.read.object),
      Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [id('Storage/ReportsBucket/Resource'), 'Arn'] }, '/*']] },
    });
    expect(statement('reportsBucketList')).toMatchObject({
      Action: sorted(BUCKET_ACTIONS.read.bucket),
      Resource: { 'Fn::GetAtt': [id('Storage/ReportsBucket/Resource'), 'Arn'] },
    });
    expect(statements.flatMap(actionsOf)).not.toContain('s3:DeleteObject');
  });

  it('touches nothing it was not bound to', () => {
    // Prepare
    const unbound = id('Storage/AggregateMetricsTable/Resource');

    // Act
    const mentions = statements.filter((s) => JSON.stringify(s.Resource).includes(unbound));

    // Assess
    expect(mentions).toEqual([]);
    expect(statements.flatMap(actionsOf).filter((a) => a.includes('*'))).toEqual([]);
  });

  it('sets the env var named by each definition to the resource name, in the same call', () => {
    // Assess
    expect(variables).toMatchObject({
      [TABLES.diagnosisKeys.envName]: { Ref: id('Storage/DiagnosisKeysTable/Resource') },
      [TABLES.submission.envName]: { Ref: id('Storage/SubmissionTable/Resource') },
      [TABLES.rawMetrics.envName]: { Ref: id('Storage/RawMetricsTable/Resource') },
      [BUCKETS.exports.envName]: { Ref: id('Storage/ExportsBucket/Resource') },
      [BUCKETS.reports.envName]: { Ref: id('Storage/ReportsBucket/Resource') },
    });
    expect(variables).not.toHaveProperty(TABLES.aggregateMetrics.envName);
  });

  it('addRoute joins a function to the API with one call', () => {
    // Act
    const method = template.toJSON().Resources[logicalIdAt(template, 'Api/RestApi/Default/claim-key/POST/Resource')];

    // Assess
    expect(method.Properties.HttpMethod).toBe('POST');
    expect(method.Properties.Integration.Type).toBe('AWS_PROXY');
    expect(JSON.stringify(method.Properties.Integration.Uri)).toContain(id('Feature/Function/Resource'));
  });
});
