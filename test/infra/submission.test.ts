/**
 * The submission feature as `cdk synth` builds it: three functions with exactly the DynamoDB
 * actions their stores call, the generated JSON secret, and the four routes.
 */
import { Validations } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { FUNCTION_RUNTIME } from '../../lib/constructs/key-server-function';
import {
  HMAC_KEY_FIELD,
  KEY_CLAIM_TOKEN_FIELD,
  SUBMISSION_TABLE_ACTIONS,
} from '../../lib/constructs/submission';
import { BUCKET_LIST, TABLE_LIST, TABLES } from '../../lib/definitions';
import { parseHmacKey, parseKeyClaimTokens } from '../../lambdas/shared/config';
import {
  actionsOf,
  logicalIdAt,
  resourceAt,
  statementsOfRole,
  synthKeyServer,
  type PolicyStatementJson,
  type SynthesizedKeyServer,
} from './support/infra-app';

type FunctionName = 'IssueCode' | 'ClaimKey' | 'UploadKeys';
const FUNCTIONS: readonly FunctionName[] = ['IssueCode', 'ClaimKey', 'UploadKeys'];
const functionPath = (name: FunctionName) => `Submission/${name}Function/Function/Resource`;
const rolePath = (name: FunctionName) => `Submission/${name}Function/Role/Resource`;
const SECRET = 'Submission/Secrets/Resource';
const pascal = (role: string) => role.charAt(0).toUpperCase() + role.slice(1);
const sorted = (values: readonly string[]) => [...values].sort();
const PRINTABLE_ASCII = Array.from({ length: 0x7e - 0x20 + 1 }, (_, i) => String.fromCharCode(0x20 + i));
const PUNCTUATION = /[!-/:-@[-`{-~]/;

type KeyPolicyStatement = PolicyStatementJson & { readonly Principal?: { readonly AWS?: unknown } };

describe('submission', () => {
  let synth: SynthesizedKeyServer;
  let template: Template;
  const id = (path: string) => logicalIdAt(template, path);
  const statementsOf = (name: FunctionName) => statementsOfRole(template, id(rolePath(name)));
  const variablesOf = (name: FunctionName) =>
    (resourceAt(template, functionPath(name)).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  /** DynamoDB actions of a role, by the logical id of the resource they are granted on. */
  const dynamoGrants = (statements: readonly PolicyStatementJson[]) => {
    const grants: Record<string, string[]> = {};
    for (const s of statements) {
      const actions = actionsOf(s).filter((a) => a.startsWith('dynamodb:'));
      if (actions.length === 0) continue;
      const resources = Array.isArray(s.Resource) ? s.Resource : [s.Resource];
      for (const r of resources) {
        const target = (r as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt']?.[0] ?? JSON.stringify(r);
        grants[target] = sorted([...(grants[target] ?? []), ...actions]);
      }
    }
    return grants;
  };

  beforeAll(() => {
    // Prepare / Act: the real app, cdk-nag included (Template.fromStack synthesizes with validation,
    // so any unacknowledged finding fails here).
    synth = synthKeyServer();
    template = synth.template;
  });

  it.each(FUNCTIONS)('runs %s on the house runtime, arm64, without tracing, handler `handler`', (name) => {
    // Act
    const fn = resourceAt(template, functionPath(name));

    // Assess
    expect(fn.Properties).toMatchObject({ Runtime: FUNCTION_RUNTIME.name, Architectures: ['arm64'], Handler: 'index.handler' });
    expect(fn.Properties.TracingConfig).toBeUndefined();
    expect(fn.Properties.LoggingConfig).toEqual({ LogGroup: { Ref: id(`Submission/${name}Function/LogGroup/Resource`) } });
  });

  it('grants each function exactly the DynamoDB actions its stores call, on exactly its tables', () => {
    // Prepare
    const submission = id('Storage/SubmissionTable/Resource');
    const diagnosisKeys = id('Storage/DiagnosisKeysTable/Resource');

    // Act
    const grants = Object.fromEntries(FUNCTIONS.map((name) => [name, dynamoGrants(statementsOf(name))]));

    // Assess
    expect(grants).toEqual({
      IssueCode: { [submission]: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem'] },
      ClaimKey: { [submission]: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'] },
      UploadKeys: {
        [submission]: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        [diagnosisKeys]: ['dynamodb:BatchGetItem', 'dynamodb:PutItem'],
      },
    });
    // The construct's documented table is the policy (one source for the header comment and CDK).
    expect(grants.IssueCode[submission]).toEqual(sorted(SUBMISSION_TABLE_ACTIONS.issueCode.submission));
    expect(grants.ClaimKey[submission]).toEqual(sorted(SUBMISSION_TABLE_ACTIONS.claimKey.submission));
    expect(grants.UploadKeys[diagnosisKeys]).toEqual(sorted(SUBMISSION_TABLE_ACTIONS.uploadKeys.diagnosisKeys));
  });

  it.each(FUNCTIONS)('gives %s no Scan, Query, batch write, condition check or wildcard, and nothing on other tables or buckets', (name) => {
    // Prepare
    const untouchable = [
      ...TABLE_LIST.filter((def) => def.role !== 'submission' && def.role !== 'diagnosisKeys').map((def) => `Storage/${pascal(def.role)}Table/Resource`),
      ...BUCKET_LIST.map((def) => `Storage/${pascal(def.role)}Bucket/Resource`),
      'Storage/AccessLogsBucket/Resource',
    ].map(id);

    // Act
    const statements = statementsOf(name);
    const actions = statements.flatMap(actionsOf);

    // Assess
    expect(actions.filter((a) => /^dynamodb:(Scan|Query|BatchWriteItem|ConditionCheckItem)$/.test(a) || a.includes('*'))).toEqual([]);
    expect(actions.filter((a) => a.startsWith('s3:'))).toEqual([]);
    for (const s of statements) {
      expect(s.Effect).toBe('Allow');
      expect(s.Resource).not.toBe('*');
      expect(JSON.stringify(s.Resource)).not.toContain('/index/');
      for (const other of untouchable) expect(JSON.stringify(s.Resource)).not.toContain(other);
    }
  });

  it('lets only upload-keys reach (or even name) the diagnosis keys table', () => {
    // Prepare
    const diagnosisKeys = id('Storage/DiagnosisKeysTable/Resource');
    const mentions = (name: FunctionName) => statementsOf(name).filter((s) => JSON.stringify(s.Resource).includes(diagnosisKeys));

    // Act
    const byFunction = Object.fromEntries(FUNCTIONS.map((name) => [name, mentions(name).flatMap(actionsOf)]));

    // Assess
    expect(byFunction).toEqual({ IssueCode: [], ClaimKey: [], UploadKeys: sorted(['dynamodb:BatchGetItem', 'dynamodb:PutItem']) });
    // Each handler's cold-start context reads only what it uses (submissionContextFromEnv(role)).
    expect(variablesOf('UploadKeys')[TABLES.diagnosisKeys.envName]).toEqual({ Ref: diagnosisKeys });
    expect(variablesOf('IssueCode')).not.toHaveProperty(TABLES.diagnosisKeys.envName);
    expect(variablesOf('ClaimKey')).not.toHaveProperty(TABLES.diagnosisKeys.envName);
  });

  it.each(FUNCTIONS)('uses the data key for %s tables only through DynamoDB (kms:ViaService)', (name) => {
    // Act
    const keyStatements = statementsOf(name).filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));

    // Assess
    expect(keyStatements.length).toBeGreaterThan(0);
    for (const s of keyStatements) {
      expect(s.Resource).toEqual({ 'Fn::GetAtt': [id('Storage/DataKey/Resource'), 'Arn'] });
      expect(JSON.stringify(s.Condition)).toMatch(/kms:ViaService.*"dynamodb\."/);
    }
  });

  it.each(FUNCTIONS)('binds %s to its tables, stage settings and secret through the environment', (name) => {
    // Prepare
    const { regionCode, initialRemainingKeys } = synth.stack.config;

    // Act
    const variables = variablesOf(name);

    // Assess
    expect(variables).toMatchObject({
      [TABLES.submission.envName]: { Ref: id('Storage/SubmissionTable/Resource') },
      REGION_CODE: regionCode,
      INITIAL_REMAINING_KEYS: String(initialRemainingKeys),
      SECRETS_ARN: { Ref: id(SECRET) },
    });
    // Secrets never travel as plain environment values.
    expect(variables).not.toHaveProperty(KEY_CLAIM_TOKEN_FIELD);
    expect(variables).not.toHaveProperty(HMAC_KEY_FIELD);
  });

  it.each(FUNCTIONS)('lets %s read the submission secret and no other secret', (name) => {
    // Act
    const secretStatements = statementsOf(name).filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));

    // Assess
    expect(secretStatements).toHaveLength(1);
    expect(actionsOf(secretStatements[0])).toContain('secretsmanager:GetSecretValue');
    expect(actionsOf(secretStatements[0]).filter((a) => !/^secretsmanager:(GetSecretValue|DescribeSecret)$/.test(a))).toEqual([]);
    expect(secretStatements[0].Resource).toEqual({ Ref: id(SECRET) });
  });

  it('lets exactly the three submission roles decrypt the secret, and only through Secrets Manager', () => {
    // Prepare
    const roleArns = FUNCTIONS.map((name) => ({ 'Fn::GetAtt': [id(rolePath(name)), 'Arn'] }));
    const keyPolicy = resourceAt(template, 'Storage/DataKey/Resource').Properties.KeyPolicy as { Statement: KeyPolicyStatement[] };

    // Act
    const forRoles = keyPolicy.Statement.filter((s) => JSON.stringify(s.Principal).includes('Role'));

    // Assess
    expect(forRoles).toHaveLength(1);
    expect(actionsOf(forRoles[0])).toEqual(['kms:Decrypt']);
    expect(JSON.stringify(forRoles[0].Condition)).toMatch(/kms:ViaService.*"secretsmanager\."/);
    expect(sorted((forRoles[0].Principal?.AWS as unknown[]).map((p) => JSON.stringify(p)))).toEqual(
      sorted(roleArns.map((arn) => JSON.stringify(arn))),
    );
  });

  it('generates a 64-character lower-case hex HMAC key that the handlers accept', () => {
    // Act
    const generate = resourceAt(template, SECRET).Properties.GenerateSecretString as Record<string, unknown>;
    const allowed = PRINTABLE_ASCII.filter(
      (c) =>
        !(generate.ExcludeCharacters as string).includes(c) &&
        !(generate.ExcludeUppercase === true && /[A-Z]/.test(c)) &&
        !(generate.ExcludePunctuation === true && PUNCTUATION.test(c)) &&
        !(generate.IncludeSpace !== true && c === ' '),
    );

    // Assess
    expect(generate.GenerateStringKey).toBe(HMAC_KEY_FIELD);
    expect(generate.PasswordLength).toBe(64);
    expect(allowed.join('')).toBe('0123456789abcdef');
    expect(generate.ExcludeLowercase).not.toBe(true);
    expect(generate.ExcludeNumbers).not.toBe(true);
    const sample = allowed.join('').repeat((generate.PasswordLength as number) / allowed.length);
    expect(parseHmacKey(sample, HMAC_KEY_FIELD)).toMatchObject({ ok: true });
  });

  it('deploys KEY_CLAIM_TOKEN as a placeholder the handlers reject, so nothing works until operators set it', () => {
    // Act
    const generate = resourceAt(template, SECRET).Properties.GenerateSecretString as { SecretStringTemplate: string };
    const fields = JSON.parse(generate.SecretStringTemplate) as Record<string, unknown>;

    // Assess
    expect(Object.keys(fields)).toEqual([KEY_CLAIM_TOKEN_FIELD]);
    expect(parseKeyClaimTokens(fields[KEY_CLAIM_TOKEN_FIELD] as string)).toMatchObject({ ok: false });
  });

  it('encrypts the secret with the customer-managed data key and retains it', () => {
    // Act
    const secret = resourceAt(template, SECRET);

    // Assess
    expect(secret.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [id('Storage/DataKey/Resource'), 'Arn'] });
    expect(secret).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(secret.Properties.SecretString).toBeUndefined();
    expect(template.toJSON().Outputs.SubmissionSecretsArn.Value).toEqual({ Ref: id(SECRET) });
  });

  it.each([
    ['new-key-claim', 'IssueCode'],
    ['new-key-claim/{hashId}', 'IssueCode'],
    ['claim-key', 'ClaimKey'],
    ['upload', 'UploadKeys'],
  ] as const)('routes ANY /%s to %s through a Lambda proxy integration, and no other method', (route, name) => {
    // Prepare
    const target = id(functionPath(name));
    const others = FUNCTIONS.filter((n) => n !== name).map((n) => id(functionPath(n)));

    // Act
    const method = resourceAt(template, `Api/RestApi/Default/${route}/ANY/Resource`);
    const methodsOnRoute = Object.values(template.findResources('AWS::ApiGateway::Method')).filter((m) => {
      const path = (m.Metadata as Record<string, string>)['aws:cdk:path'];
      return path.match(/\/Api\/RestApi\/Default\/(.*)\/[A-Z]+\/Resource$/)?.[1] === route;
    });

    // Assess
    expect(method.Properties.HttpMethod).toBe('ANY');
    expect(method.Properties.AuthorizationType).toBe('NONE');
    expect(method.Properties.Integration).toMatchObject({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' });
    expect(JSON.stringify(method.Properties.Integration)).toContain(target);
    for (const other of others) expect(JSON.stringify(method.Properties.Integration)).not.toContain(other);
    expect(methodsOnRoute).toHaveLength(1);
  });

  it.each([
    ['IssueCode', ['/*/new-key-claim', '/*/new-key-claim/*']],
    ['ClaimKey', ['/*/claim-key']],
    ['UploadKeys', ['/*/upload']],
  ] as const)('lets only this API invoke %s, on its own routes', (name, routes) => {
    // Prepare
    const functionId = id(functionPath(name));
    const restApiId = id('Api/RestApi/Resource');

    // Act
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).filter((p) =>
      JSON.stringify(p.Properties.FunctionName).includes(functionId),
    );
    const sourceArns = permissions.map((p) => JSON.stringify(p.Properties.SourceArn));

    // Assess
    expect(permissions.map((p) => p.Properties.Principal)).toEqual(routes.map(() => 'apigateway.amazonaws.com'));
    for (const arn of sourceArns) {
      expect(arn).toContain(restApiId);
      expect(arn).not.toContain('test-invoke-stage');
    }
    expect(sorted(sourceArns.map((arn) => arn.match(/"(\/\*\/[^"]+)"/)?.[1] ?? arn))).toEqual(sorted(routes));
  });

  it('passes cdk-nag with only the reviewed acknowledgements, each on its own resource', () => {
    // Act
    const acknowledged = synth.stack.submission.node.findAll().flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) =>
          Object.keys(entry.data as Record<string, string>).map(
            (rule) => `${construct.node.path.replace(/^[^/]+\//, '')} ${rule.replace(/^annotation::/i, '')}`,
          ),
        ),
    );

    // Assess (synthesis in beforeAll already ran the AwsSolutions checks without a finding)
    expect(sorted(acknowledged)).toEqual([
      'Submission/ClaimKeyFunction/Function AwsSolutions-L1',
      'Submission/IssueCodeFunction/Function AwsSolutions-L1',
      'Submission/Secrets AwsSolutions-SMG4',
      'Submission/UploadKeysFunction/Function AwsSolutions-L1',
    ]);
  });
});
