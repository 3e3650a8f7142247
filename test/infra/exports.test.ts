/**
 * Export bundles as `cdk synth` builds them: the KMS signing key only build-exports can use, the
 * least-privileged scheduled build-exports function, and the exposure configuration deployment
 * that can only write under exposure-configuration/.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Stack, Validations } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { parseStageConfig } from '../../lib/config';
import {
  BUILD_EXPORTS_TIMEOUT,
  EXPORT_REGION_ENV,
  EXPOSURE_CONFIGURATION_DIR,
  SIGNING_KEYS_ENV,
} from '../../lib/constructs/exports';
import { bindBucket, bindTable, KeyServerFunction } from '../../lib/constructs/key-server-function';
import { Storage } from '../../lib/constructs/storage';
import { BUCKET_LIST, BUCKETS, TABLE_LIST, TABLES } from '../../lib/definitions';
import { parseSigningKeys } from '../../lambdas/shared/exports-context';
import {
  actionsOf,
  aRawStage,
  logicalIdAt,
  newInfraApp,
  resourceAt,
  synthKeyServer,
  type PolicyStatementJson,
  type SynthesizedKeyServer,
} from './support/infra-app';

const FUNCTION = 'Exports/BuildExportsFunction/Function/Resource';
const ROLE = 'Exports/BuildExportsFunction/Role/Resource';
const SIGNING_KEY = 'Exports/SigningKey/Resource';
const QUEUE = 'Exports/BuildExportsDeadLetterQueue/Resource';
const DEPLOYMENT_ROLE = 'Exports/ExposureConfigurationDeploymentRole/Resource';
const pascal = (role: string) => role.charAt(0).toUpperCase() + role.slice(1);
const sorted = (values: readonly string[]) => [...values].sort();
const json = (value: unknown) => JSON.stringify(value);

type Json = Record<string, unknown>;
type Statement = PolicyStatementJson & { readonly Principal?: unknown };

/** True when the IAM action pattern (`kms:*`, `kms:Sig*`, `*`) covers `action`. */
function covers(pattern: string, action: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
  return regex.test(action);
}

/** `{"Fn::Join": ["", [...]]}` with every non-string part replaced by `placeholder(part)`. */
function joined(value: unknown, placeholder: (part: unknown) => string): string {
  if (typeof value === 'string') return value;
  const [separator, parts] = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return parts.map((p) => (typeof p === 'string' ? p : placeholder(p))).join(separator);
}

describe('exports', () => {
  let outdir: string;
  let synth: SynthesizedKeyServer;
  let template: Template;
  const id = (p: string) => logicalIdAt(template, p);
  const resources = () => template.toJSON().Resources as Record<string, { Type: string; Properties: Json; Metadata?: Json }>;
  /** Every statement of every IAM policy in the template, with the roles it is attached to. */
  const iamStatements = () =>
    Object.entries(resources())
      .filter(([, r]) => r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy' || r.Type === 'AWS::IAM::Role')
      .flatMap(([logicalId, r]) => {
        const documents =
          r.Type === 'AWS::IAM::Role'
            ? ((r.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[]).map((p) => p.PolicyDocument)
            : [r.Properties.PolicyDocument as { Statement: Statement[] }];
        // Inline role policies belong to that role; policy resources to the roles they name.
        const roles = r.Type === 'AWS::IAM::Role' ? [{ Ref: logicalId }] : ((r.Properties.Roles ?? []) as unknown[]);
        return documents.flatMap((d) => d.Statement.map((statement) => ({ statement, roles: roles.map(json) })));
      });
  const roleStatements = (rolePath: string) =>
    iamStatements()
      .filter((s) => s.roles.includes(json({ Ref: id(rolePath) })))
      .map((s) => s.statement);
  const variables = () => (resourceAt(template, FUNCTION).Properties.Environment as { Variables: Json }).Variables;

  beforeAll(() => {
    // Prepare / Act: the real app (cdk-nag included), synthesized once, assets staged in outdir.
    outdir = mkdtempSync(path.join(tmpdir(), 'infra-exports-'));
    synth = synthKeyServer({ outdir });
    template = synth.template;
  });

  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
  });

  describe('signing key', () => {
    it('is a retained KMS key of spec ECC_NIST_P256 for SIGN_VERIFY (ECDSA P-256, as Apple and Google require)', () => {
      // Act
      const key = resourceAt(template, SIGNING_KEY);

      // Assess
      expect(key.Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
      expect(key.Properties.EnableKeyRotation).toBeUndefined();
      expect(key).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    });

    it('lets only the build-exports role sign: no other key-policy principal and no other IAM policy allows kms:Sign', () => {
      // Prepare
      const keyId = id(SIGNING_KEY);
      const roleArn = json({ 'Fn::GetAtt': [id(ROLE), 'Arn'] });
      const allowsSign = (s: Statement) => s.Effect === 'Allow' && actionsOf(s).some((a) => covers(a, 'kms:Sign'));
      const keyPolicy = resourceAt(template, SIGNING_KEY).Properties.KeyPolicy as { Statement: Statement[] };

      // Act
      const keySigners = keyPolicy.Statement.filter(allowsSign).map((s) => json(s.Principal));
      const iamSigners = iamStatements()
        .filter(({ statement }) => allowsSign(statement))
        .filter(({ statement }) => statement.Resource === '*' || json(statement.Resource).includes(keyId))
        .flatMap(({ roles }) => roles);

      // Assess
      expect(keySigners).toEqual([json({ AWS: JSON.parse(roleArn) })]);
      expect([...new Set(iamSigners)]).toEqual([json({ Ref: id(ROLE) })]);
      // The account administers the key and reads its public key, but has no cryptographic action.
      const root = keyPolicy.Statement.filter((s) => json(s.Principal).includes(':root'));
      expect(root).toHaveLength(1);
      expect(actionsOf(root[0])).toContain('kms:Get*');
      for (const action of ['kms:Sign', 'kms:Verify', 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom']) {
        expect(actionsOf(root[0]).filter((a) => covers(a, action))).toEqual([]);
      }
    });

    it('allows exactly the Sign request the KMS signer sends: ECDSA_SHA_256 over a DIGEST', () => {
      // Prepare
      const keyPolicy = resourceAt(template, SIGNING_KEY).Properties.KeyPolicy as { Statement: Statement[] };
      const signer = readFileSync(path.join(__dirname, '..', '..', 'lambdas', 'adapters', 'kms-signer.ts'), 'utf8');

      // Act
      const conditions = [
        keyPolicy.Statement.find((s) => actionsOf(s).includes('kms:Sign'))?.Condition,
        roleStatements(ROLE).find((s) => actionsOf(s).includes('kms:Sign'))?.Condition,
      ];

      // Assess
      for (const condition of conditions) {
        expect(condition).toEqual({ StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'DIGEST' } });
      }
      expect(signer).toMatch(/MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256'/);
    });

    it('reaches build-exports as SIGNING_KEYS in the form the handler parses: key id = regionCode, version from config', () => {
      // Prepare
      const { regionCode, signingKeyVersion } = synth.stack.config;
      const keyArn = 'arn:aws:kms:ca-central-1:111122223333:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';

      // Act
      const raw = joined(variables()[SIGNING_KEYS_ENV], (part) => {
        expect(part).toEqual({ 'Fn::GetAtt': [id(SIGNING_KEY), 'Arn'] });
        return keyArn;
      });
      const parsed = parseSigningKeys(raw);

      // Assess
      expect(parsed).toEqual({ ok: true, value: [{ kmsKeyId: keyArn, keyId: regionCode, keyVersion: signingKeyVersion }] });
      expect([regionCode, signingKeyVersion]).toEqual(['302', 'v1']);
      expect(template.toJSON().Outputs.ExportSigningKeyArn.Value).toEqual({ 'Fn::GetAtt': [id(SIGNING_KEY), 'Arn'] });
    });
  });

  describe('build-exports', () => {
    it('queries the diagnosis keys only through the byRegionDay index, and writes only exports/* objects', () => {
      // Prepare
      const table = id('Storage/DiagnosisKeysTable/Resource');
      const bucket = id('Storage/ExportsBucket/Resource');

      // Act
      const statements = roleStatements(ROLE);
      const dataActions = statements
        .filter((s) => actionsOf(s).some((a) => /^(dynamodb|s3):/.test(a)))
        .map((s) => ({ actions: sorted(actionsOf(s)), resource: s.Resource, condition: s.Condition }));

      // Assess
      expect(dataActions).toEqual([
        {
          actions: ['dynamodb:Query'],
          resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [table, 'Arn'] }, `/index/${TABLES.diagnosisKeys.indexes[0].indexName}`]] },
          condition: undefined,
        },
        { actions: ['s3:PutObject'], resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, '/exports/*']] }, condition: undefined },
      ]);
      expect(TABLES.diagnosisKeys.indexes.map((i) => i.indexName)).toEqual(['byRegionDay']);
    });

    it('touches no other table or bucket, and uses the data key only through DynamoDB and S3', () => {
      // Prepare
      const untouchable = [
        ...TABLE_LIST.filter((def) => def.role !== 'diagnosisKeys').map((def) => `Storage/${pascal(def.role)}Table/Resource`),
        ...BUCKET_LIST.filter((def) => def.role !== 'exports').map((def) => `Storage/${pascal(def.role)}Bucket/Resource`),
        'Storage/AccessLogsBucket/Resource',
      ].map(id);
      const dataKey = json({ 'Fn::GetAtt': [id('Storage/DataKey/Resource'), 'Arn'] });

      // Act
      const statements = roleStatements(ROLE);

      // Assess
      for (const s of statements) {
        expect(s.Effect).toBe('Allow');
        expect(s.Resource).not.toBe('*');
        expect(actionsOf(s).filter((a) => a.includes('*'))).toEqual([]);
        for (const other of untouchable) expect(json(s.Resource)).not.toContain(other);
      }
      const dataKeyStatements = statements.filter((s) => json(s.Resource) === dataKey);
      expect(dataKeyStatements.map((s) => json(s.Condition).match(/"(dynamodb|s3)\."/)?.[1]).sort()).toEqual(['dynamodb', 's3']);
      expect(statements.flatMap(actionsOf).filter((a) => /^s3:(Get|Delete|List)/.test(a))).toEqual([]);
    });

    it('is bound by helpers that refuse an index the table lacks or a malformed object prefix', () => {
      // Prepare
      const stack = new Stack(newInfraApp(), 'BindingGuards');
      const storage = new Storage(stack, 'Storage', { pointInTimeRecoveryDays: 3, logRetentionDays: 7 });
      const defaults = { logRetentionDays: 7, metricsNamespace: 'KeyServer/test', logLevel: 'INFO' } as const;
      const fn = new KeyServerFunction(stack, 'Fn', { entry: 'lambdas/handlers/build-exports.ts', serviceName: 'build-exports', defaults });

      // Act
      const unknownIndex = () => bindTable(fn, storage.tables.diagnosisKeys, TABLES.diagnosisKeys, { queryIndexes: ['bySubmissionHour'] });
      const noIndex = () => bindTable(fn, storage.tables.diagnosisKeys, TABLES.diagnosisKeys, { queryIndexes: [] });
      const badPrefix = () => bindBucket(fn, storage.buckets.exports, BUCKETS.exports, 'write', { objectPrefix: 'exports' });

      // Assess
      expect(unknownIndex).toThrow(/table diagnosisKeys has no index bySubmissionHour/);
      expect(noIndex).toThrow(/at least one index/);
      expect(badPrefix).toThrow(/objectPrefix must be path segments ending in '\/'/);
    });

    it('binds the table, bucket, region settings through the environment', () => {
      // Act
      const env = variables();

      // Assess
      expect(env).toMatchObject({
        [TABLES.diagnosisKeys.envName]: { Ref: id('Storage/DiagnosisKeysTable/Resource') },
        EXPORTS_BUCKET_NAME: { Ref: id('Storage/ExportsBucket/Resource') },
        REGION_CODE: synth.stack.config.regionCode,
        [EXPORT_REGION_ENV]: synth.stack.config.exportRegion,
      });
      expect(env).not.toHaveProperty('ECDSA_KEY');
    });

    it('never runs twice at once and has the time and memory for a 750 k-key window', () => {
      // Act
      const fn = resourceAt(template, FUNCTION).Properties;

      // Assess
      expect(fn.ReservedConcurrentExecutions).toBe(1);
      expect(fn.Timeout).toBe(BUILD_EXPORTS_TIMEOUT.toSeconds());
      expect(fn.Timeout).toBe(300);
      expect(fn.MemorySize).toBeGreaterThanOrEqual(1024);
      expect(fn.Architectures).toEqual(['arm64']);
    });

    it('runs every exportScheduleMinutes (rate(10 minutes)) from a rule targeting build-exports only', () => {
      // Prepare
      const minutes = synth.stack.config.exportScheduleMinutes;

      // Act
      const rule = resourceAt(template, 'Exports/Schedule/Resource').Properties;
      const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).filter((p) =>
        json(p.Properties.FunctionName).includes(id(FUNCTION)),
      );

      // Assess
      expect(rule.ScheduleExpression).toBe(`rate(${minutes} minutes)`);
      expect(rule.ScheduleExpression).toBe('rate(10 minutes)');
      expect(rule.State).toBe('ENABLED');
      expect((rule.Targets as Json[]).map((t) => t.Arn)).toEqual([{ 'Fn::GetAtt': [id(FUNCTION), 'Arn'] }]);
      expect(permissions.map((p) => p.Properties)).toEqual([
        {
          Action: 'lambda:InvokeFunction',
          FunctionName: { 'Fn::GetAtt': [id(FUNCTION), 'Arn'] },
          Principal: 'events.amazonaws.com',
          SourceArn: { 'Fn::GetAtt': [id('Exports/Schedule/Resource'), 'Arn'] },
        },
      ]);
    });

    it('sends runs that did not happen to one encrypted, TLS-only dead-letter queue, retrying once first', () => {
      // Prepare
      const queueArn = { 'Fn::GetAtt': [id(QUEUE), 'Arn'] };
      const period = synth.stack.config.exportScheduleMinutes * 60;

      // Act
      const target = (resourceAt(template, 'Exports/Schedule/Resource').Properties.Targets as Json[])[0];
      const invokeConfig = Object.values(template.findResources('AWS::Lambda::EventInvokeConfig')).filter(
        (c) => json(c.Properties.FunctionName) === json({ Ref: id(FUNCTION) }),
      );
      const queue = resourceAt(template, QUEUE).Properties;
      const queuePolicy = Object.values(template.findResources('AWS::SQS::QueuePolicy')).find(
        (p) => json(p.Properties.Queues) === json([{ Ref: id(QUEUE) }]),
      );

      // Assess
      expect(target).toMatchObject({ DeadLetterConfig: { Arn: queueArn }, RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: period } });
      expect(resourceAt(template, FUNCTION).Properties.DeadLetterConfig).toEqual({ TargetArn: queueArn });
      expect(invokeConfig.map((c) => c.Properties)).toEqual([
        expect.objectContaining({ MaximumRetryAttempts: 1, MaximumEventAgeInSeconds: period, Qualifier: '$LATEST' }),
      ]);
      expect(queue.SqsManagedSseEnabled).toBe(true);
      const statements = (queuePolicy?.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
      expect(statements).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
      // EventBridge may deliver failed events from this rule only.
      const allows = statements.filter((s) => s.Effect === 'Allow');
      expect(allows.map((s) => [json(s.Principal), actionsOf(s), s.Condition])).toEqual([
        [json({ Service: 'events.amazonaws.com' }), ['sqs:SendMessage'], { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [id('Exports/Schedule/Resource'), 'Arn'] } } }],
      ]);
    });
  });

  describe('exposure configuration', () => {
    it('copies the JSON files of exposure-configuration/ to exposure-configuration/ of the exports bucket, as application/json', () => {
      // Prepare
      const asset = synth.stack.exports.node.findChild('ExposureConfigurationAsset') as s3assets.Asset;
      const staged = path.join(outdir, asset.assetPath);
      const repository = path.join(__dirname, '..', '..', EXPOSURE_CONFIGURATION_DIR);

      // Act
      const deployment = Object.values(template.findResources('Custom::CDKBucketDeployment'));
      const files = readdirSync(staged).sort();

      // Assess
      expect(deployment).toHaveLength(1);
      expect(deployment[0].Properties).toMatchObject({
        DestinationBucketName: { Ref: id('Storage/ExportsBucket/Resource') },
        DestinationBucketKeyPrefix: 'exposure-configuration/',
        SourceObjectKeys: [`${asset.assetHash}.zip`],
        SystemMetadata: { 'content-type': 'application/json', 'cache-control': 'public, max-age=3600' },
      });
      expect(files).toEqual(['CA.json', 'region.json']);
      expect(files).toEqual(readdirSync(repository).filter((f) => f.endsWith('.json')).sort());
      for (const file of files) expect(() => JSON.parse(readFileSync(path.join(staged, file), 'utf8'))).not.toThrow();
    });

    it('never deletes: no pruning, files retained with the stack gone, and no delete permission at all', () => {
      // Act
      const deployment = Object.values(template.findResources('Custom::CDKBucketDeployment'))[0].Properties;
      const actions = roleStatements(DEPLOYMENT_ROLE).flatMap(actionsOf);

      // Assess
      expect(deployment).toMatchObject({ Prune: false, RetainOnDelete: true });
      expect(actions.filter((a) => covers(a, 's3:DeleteObject') || covers(a, 's3:DeleteObjectVersion'))).toEqual([]);
    });

    it('runs its handler with a role that reads the one staged zip and lists and writes exposure-configuration/ only', () => {
      // Prepare
      const bucket = id('Storage/ExportsBucket/Resource');
      const asset = synth.stack.exports.node.findChild('ExposureConfigurationAsset') as s3assets.Asset;

      // Act
      const handler = Object.values(resources()).find(
        (r) => r.Type === 'AWS::Lambda::Function' && json(r.Properties.Role) === json({ 'Fn::GetAtt': [id(DEPLOYMENT_ROLE), 'Arn'] }),
      );
      const s3Statements = roleStatements(DEPLOYMENT_ROLE)
        .filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')))
        .map((s) => [actionsOf(s), json(s.Resource), s.Condition]);
      const roles = Object.values(resources()).filter((r) => r.Type === 'AWS::IAM::Role');

      // Assess
      expect(handler?.Metadata?.['aws:cdk:path']).toMatch(/Custom::CDKBucketDeployment/);
      expect(s3Statements).toEqual([
        [['s3:GetObject'], expect.stringContaining(`/${asset.assetHash}.zip`), undefined],
        [['s3:ListBucket'], json({ 'Fn::GetAtt': [bucket, 'Arn'] }), { StringLike: { 's3:prefix': ['exposure-configuration/*'] } }],
        [['s3:PutObject'], json({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, '/exposure-configuration/*']] }), undefined],
      ]);
      // No role of the stack carries the deployment's default grants or a managed policy.
      for (const role of roles) expect(json(role.Properties.ManagedPolicyArns ?? [])).not.toContain('AWSLambdaBasicExecutionRole');
    });
  });

  describe('stage config', () => {
    it('rejects a schedule, signing key version or price class the stack cannot use', () => {
      // Prepare
      const raw = aRawStage({ exportScheduleMinutes: 2, signingKeyVersion: 'v 1', cdnPriceClass: 'PriceClass_7', cdnDistributionId: 'd123' });

      // Act
      const act = () => parseStageConfig('dev', raw);

      // Assess
      expect(act).toThrow(/exportScheduleMinutes: must be an integer 5–60/);
      expect(act).toThrow(/signingKeyVersion/);
      expect(act).toThrow(/cdnPriceClass/);
      expect(act).toThrow(/cdnDistributionId/);
    });

    it('defaults to a 10-minute schedule, key version v1 and PriceClass_100 when the stage omits them', () => {
      // Prepare
      const raw = aRawStage();
      for (const field of ['exportScheduleMinutes', 'signingKeyVersion', 'cdnPriceClass']) delete raw[field];

      // Act
      const config = parseStageConfig('dev', raw);

      // Assess
      expect(config).toMatchObject({ exportScheduleMinutes: 10, signingKeyVersion: 'v1', cdnPriceClass: 'PriceClass_100' });
      expect(config.cdnDistributionId).toBeUndefined();
    });
  });

  it('passes cdk-nag with only the reviewed acknowledgements, each on its own resource', () => {
    // Act
    const acknowledged = synth.stack.node.findAll().flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) =>
          Object.keys(entry.data as Record<string, string>).map(
            (rule) => `${construct.node.path.replace(/^[^/]+\//, '')} ${rule.replace(/^annotation::/i, '')}`,
          ),
        ),
    );

    // Assess (synthesis in beforeAll already ran the AwsSolutions checks without a finding)
    const bucket = id('Storage/ExportsBucket/Resource');
    const ours = acknowledged
      .filter((a) => /^(Exports\/|Custom::CDKBucketDeployment)/.test(a))
      .map((a) => a.replace(/^Custom::CDKBucketDeployment\w+/, 'Custom::CDKBucketDeployment<handler>'));
    expect(sorted(ours)).toEqual([
      'Custom::CDKBucketDeployment<handler> AwsSolutions-L1',
      `Exports/BuildExportsFunction AwsSolutions-IAM5[Resource::<${bucket}.Arn>/exports/*]`,
      'Exports/BuildExportsFunction/Function AwsSolutions-L1',
      `Exports/ExposureConfigurationDeploymentRole AwsSolutions-IAM5[Resource::<${bucket}.Arn>/exposure-configuration/*]`,
    ]);
  });
});
