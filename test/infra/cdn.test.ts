/**
 * Key retrieval at the edge as `cdk synth` builds it: the retrieve-auth CloudFront Function with
 * its KeyValueStore, the distribution's behaviours and cache keys, and the OAC access to the
 * exports bucket and its KMS key. The function code in the template is run through the local
 * edge runner, so routing claims are checked against the code CloudFront would execute.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import {
  Cdn,
  EXPOSURE_CONFIGURATION_PATH_PATTERN,
  KVS_REGIONS_KEY,
  REMOVED_ORIGIN_HEADERS,
  RETRIEVE_AUTH_SOURCE,
  RETRIEVE_PATH_PATTERN,
} from '../../lib/constructs/cdn';
import { Storage } from '../../lib/constructs/storage';
import { CACHE_CONTROL_CLOSED, CACHE_CONTROL_OPEN, exportObjectKey } from '../../lambdas/domain/bundles';
import { createEdgeFunction } from '../../local/edge-runner';
import { logicalIdAt, newInfraApp, PROJECT_ROOT, resourceAt, synthKeyServer, type SynthesizedKeyServer } from './support/infra-app';

type Json = Record<string, unknown>;
interface Behavior {
  readonly PathPattern?: string;
  readonly AllowedMethods: string[];
  readonly CachedMethods: string[];
  readonly CachePolicyId: unknown;
  readonly Compress: boolean;
  readonly FunctionAssociations?: { EventType: string; FunctionARN: unknown }[];
  readonly ResponseHeadersPolicyId: unknown;
  readonly TargetOriginId: string;
  readonly ViewerProtocolPolicy: string;
}
interface Statement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Principal?: unknown;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

const DISTRIBUTION = 'Cdn/Distribution/Resource';
const FUNCTION = 'Cdn/RetrieveAuthFunction/Resource';
const STORE = 'Cdn/RetrieveAuthStore/Resource';
/** Looks like a real HMAC key, and is one nobody uses: it must never reach the cloud assembly. */
const SENTINEL_HMAC_KEY = 'c0ffee'.repeat(16);
const HMAC_ENV_NAMES = ['RETRIEVE_HMAC_KEY', 'HMAC_KEY'] as const;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const json = (value: unknown) => JSON.stringify(value);
const maxAge = (cacheControl: string) => Number(/max-age=(\d+)/.exec(cacheControl)?.[1]);

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? filesUnder(file) : [file];
  });
}

describe('cdn', () => {
  let outdir: string;
  let synth: SynthesizedKeyServer;
  let template: Template;
  const saved: Partial<Record<(typeof HMAC_ENV_NAMES)[number], string>> = {};
  const id = (p: string) => logicalIdAt(template, p);
  const config = () => resourceAt(template, DISTRIBUTION).Properties.DistributionConfig as Json;
  const behavior = (pattern: string) => (config().CacheBehaviors as Behavior[]).find((b) => b.PathPattern === pattern)!;
  const defaultBehavior = () => config().DefaultCacheBehavior as Behavior;
  const cachePolicy = (b: Behavior) => {
    const found = Object.entries(template.findResources('AWS::CloudFront::CachePolicy')).find(([logicalId]) => json({ Ref: logicalId }) === json(b.CachePolicyId));
    return (found?.[1].Properties as { CachePolicyConfig: Json }).CachePolicyConfig;
  };
  const functionAssociation = () => [{ EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [id(FUNCTION), 'FunctionARN'] } }];
  const deployedFunction = (now: number) =>
    createEdgeFunction({
      source: resourceAt(template, FUNCTION).Properties.FunctionCode as string,
      kvs: { regions: '302', hmacKey: SENTINEL_HMAC_KEY },
      now: () => now,
    });

  beforeAll(() => {
    // Prepare: an engineer's shell may hold the retrieval HMAC key; synth must not pick it up.
    for (const name of HMAC_ENV_NAMES) {
      saved[name] = process.env[name];
      process.env[name] = SENTINEL_HMAC_KEY;
    }
    outdir = mkdtempSync(path.join(tmpdir(), 'infra-cdn-'));
    // Act: the real app (cdk-nag included), synthesized once, assets staged in outdir.
    synth = synthKeyServer({ outdir });
    template = synth.template;
  });

  afterAll(() => {
    for (const name of HMAC_ENV_NAMES) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    rmSync(outdir, { recursive: true, force: true });
  });

  describe('retrieve-auth', () => {
    it('deploys lambdas/edge/retrieve-auth.js unchanged on cloudfront-js-2.0, published, with the KeyValueStore associated', () => {
      // Prepare
      const source = readFileSync(path.join(PROJECT_ROOT, RETRIEVE_AUTH_SOURCE), 'utf8');

      // Act
      const fn = resourceAt(template, FUNCTION).Properties;

      // Assess
      expect(fn.FunctionCode).toBe(source);
      expect(fn.AutoPublish).toBe(true);
      expect(fn.FunctionConfig).toMatchObject({
        Runtime: 'cloudfront-js-2.0',
        KeyValueStoreAssociations: [{ KeyValueStoreARN: { 'Fn::GetAtt': [id(STORE), 'Arn'] } }],
      });
      // The store reaches the code by association (cf.kvs() without an id): nothing to inject.
      expect(source).toMatch(/cf\.kvs\(\)/);
      expect(Buffer.byteLength(source)).toBeLessThan(10 * 1024);
    });

    it('seeds the KeyValueStore with the configured regions only: the HMAC key is never in the template or an asset', () => {
      // Prepare
      const asset = synth.stack.cdn.keyValueStore.node.findChild('ImportSource') as s3assets.Asset;

      // Act
      const imported = JSON.parse(readFileSync(path.join(outdir, asset.assetPath), 'utf8')) as { data: { key: string; value: string }[] };
      const leaks = filesUnder(outdir).filter((file) => readFileSync(file, 'utf8').includes(SENTINEL_HMAC_KEY));

      // Assess
      expect(imported).toEqual({ data: [{ key: KVS_REGIONS_KEY, value: synth.stack.config.regionCode }] });
      expect(resourceAt(template, STORE).Properties.ImportSource).toMatchObject({ SourceType: 'S3' });
      expect(json(template.toJSON())).not.toContain(SENTINEL_HMAC_KEY);
      expect(leaks).toEqual([]);
      expect(template.toJSON().Outputs.RetrieveAuthStoreArn.Value).toEqual({ 'Fn::GetAtt': [id(STORE), 'Arn'] });
    });
  });

  describe('behaviours', () => {
    it('runs retrieve-auth at viewer request on /retrieve/*, GET and HEAD only, HTTPS only', () => {
      // Act
      const retrieve = behavior(RETRIEVE_PATH_PATTERN);

      // Assess
      expect(retrieve.FunctionAssociations).toEqual(functionAssociation());
      expect(retrieve.AllowedMethods).toEqual(['GET', 'HEAD']);
      expect(retrieve.CachedMethods).toEqual(['GET', 'HEAD']);
      expect(retrieve.ViewerProtocolPolicy).toBe('https-only');
    });

    it('keys the /retrieve/* cache on the rewritten path only and honours the bundles\' Cache-Control', () => {
      // Act
      const policy = cachePolicy(behavior(RETRIEVE_PATH_PATTERN));
      const parameters = policy.ParametersInCacheKeyAndForwardedToOrigin as Json;

      // Assess
      expect(parameters).toEqual({
        QueryStringsConfig: { QueryStringBehavior: 'none' },
        HeadersConfig: { HeaderBehavior: 'none' },
        CookiesConfig: { CookieBehavior: 'none' },
        EnableAcceptEncodingGzip: false,
        EnableAcceptEncodingBrotli: false,
      });
      expect(policy).toMatchObject({ MinTTL: 0, DefaultTTL: 600, MaxTTL: 3600 });
      // Both max-ages build-exports writes fall inside [MinTTL, MaxTTL], so CloudFront keeps them as set.
      for (const cacheControl of [CACHE_CONTROL_OPEN, CACHE_CONTROL_CLOSED]) {
        expect(maxAge(cacheControl)).toBeGreaterThanOrEqual(policy.MinTTL as number);
        expect(maxAge(cacheControl)).toBeLessThanOrEqual(policy.MaxTTL as number);
      }
    });

    it('rewrites a valid request to the very object build-exports writes, under the prefix CloudFront may read', async () => {
      // Prepare
      const now = Date.UTC(2024, 4, 15, 12, 30);
      const period = String(Math.floor(now / DAY_MS) - 1);
      const hour = Math.floor(now / HOUR_MS);
      const hmac = createHmac('sha256', Buffer.from(SENTINEL_HMAC_KEY, 'hex')).update(`302:${period}:${hour}`).digest('hex');

      // Act
      const result = await deployedFunction(now).handle({ method: 'GET', uri: `/retrieve/302/${period}/${hmac}?x=1` });

      // Assess
      expect(result).toEqual({ kind: 'rewrite', uri: `/${exportObjectKey('302', period)}`, querystring: '' });
      expect(`/${exportObjectKey('302', period)}`).toMatch(/^\/exports\//);
    });

    it('serves /exposure-configuration/* from the same origin without a function, GET/HEAD, compressed, 1 h by default', () => {
      // Act
      const configuration = behavior(EXPOSURE_CONFIGURATION_PATH_PATTERN);
      const policy = cachePolicy(configuration);

      // Assess
      expect(configuration.FunctionAssociations).toBeUndefined();
      expect(configuration).toMatchObject({
        AllowedMethods: ['GET', 'HEAD'],
        ViewerProtocolPolicy: 'https-only',
        Compress: true,
        TargetOriginId: behavior(RETRIEVE_PATH_PATTERN).TargetOriginId,
      });
      expect(policy).toMatchObject({ MinTTL: 0, DefaultTTL: 3600 });
      expect(policy.ParametersInCacheKeyAndForwardedToOrigin).toMatchObject({
        QueryStringsConfig: { QueryStringBehavior: 'none' },
        HeadersConfig: { HeaderBehavior: 'none' },
        CookiesConfig: { CookieBehavior: 'none' },
      });
    });

    it('answers 404 to every other path: the default behaviour runs retrieve-auth, which forwards nothing there', async () => {
      // Prepare
      const fn = deployedFunction(Date.UTC(2024, 4, 15, 12, 30));
      const paths = ['/', '/exports/302/00000.zip', '/retrieve', '/Retrieve/302/00000/abc', '/reports/x.csv', '/exposure-configuration'];

      // Act
      const results = await Promise.all(paths.map((uri) => fn.handle({ method: 'GET', uri })));

      // Assess
      expect(defaultBehavior()).toMatchObject({
        FunctionAssociations: functionAssociation(),
        AllowedMethods: ['GET', 'HEAD'],
        ViewerProtocolPolicy: 'https-only',
        CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad', // Managed-CachingDisabled
      });
      expect(results.map((r) => (r.kind === 'response' ? [r.status, r.body] : r))).toEqual(paths.map(() => [404, '404 page not found\n']));
    });

    it('sends security headers and hides the S3 encryption and lifecycle headers on every behaviour', () => {
      // Prepare
      const behaviors = [defaultBehavior(), ...(config().CacheBehaviors as Behavior[])];

      // Act
      const policies = Object.entries(template.findResources('AWS::CloudFront::ResponseHeadersPolicy'));

      // Assess
      expect(policies).toHaveLength(1);
      const [policyId, policy] = policies[0];
      for (const b of behaviors) expect(b.ResponseHeadersPolicyId).toEqual({ Ref: policyId });
      const headers = (policy.Properties as { ResponseHeadersPolicyConfig: Json }).ResponseHeadersPolicyConfig;
      expect(headers.SecurityHeadersConfig).toMatchObject({
        StrictTransportSecurity: { AccessControlMaxAgeSec: 31_536_000, IncludeSubdomains: true, Override: true },
        ContentTypeOptions: { Override: true },
      });
      expect((headers.RemoveHeadersConfig as { Items: { Header: string }[] }).Items.map((i) => i.Header).sort()).toEqual(
        [...REMOVED_ORIGIN_HEADERS].sort(),
      );
    });

    it('uses the configured price class, HTTPS only everywhere, no custom certificate, logging or WAF yet (acknowledged)', () => {
      // Act
      const distribution = config();

      // Assess
      expect(distribution.PriceClass).toBe(synth.stack.config.cdnPriceClass);
      expect(distribution.PriceClass).toBe('PriceClass_100');
      expect([defaultBehavior(), ...(distribution.CacheBehaviors as Behavior[])].map((b) => b.ViewerProtocolPolicy)).toEqual([
        'https-only',
        'https-only',
        'https-only',
      ]);
      expect(distribution.ViewerCertificate).toBeUndefined();
      expect(distribution.Logging).toBeUndefined();
      expect(distribution.WebACLId).toBeUndefined();
    });
  });

  describe('origin access', () => {
    it('reaches only the exports bucket, through an S3 Origin Access Control that signs every request', () => {
      // Act
      const origins = config().Origins as Json[];
      const oac = resourceAt(template, 'Cdn/OriginAccessControl/Resource').Properties.OriginAccessControlConfig;

      // Assess
      expect(origins).toEqual([
        expect.objectContaining({
          DomainName: { 'Fn::GetAtt': [id('Storage/ExportsBucket/Resource'), 'RegionalDomainName'] },
          OriginAccessControlId: { 'Fn::GetAtt': [id('Cdn/OriginAccessControl/Resource'), 'Id'] },
          S3OriginConfig: { OriginAccessIdentity: '' },
        }),
      ]);
      expect(oac).toMatchObject({ OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' });
    });

    it('lets CloudFront read exports/* and exposure-configuration/* for this distribution only, and nobody else anything', () => {
      // Prepare
      const bucket = id('Storage/ExportsBucket/Resource');
      const policy = Object.values(template.findResources('AWS::S3::BucketPolicy')).find((p) => json(p.Properties.Bucket) === json({ Ref: bucket }));

      // Act
      const allows = (policy?.Properties.PolicyDocument as { Statement: Statement[] }).Statement.filter((s) => s.Effect === 'Allow');

      // Assess
      expect(allows).toEqual([
        {
          Sid: 'CloudFrontReadsExports',
          Effect: 'Allow',
          Principal: { Service: 'cloudfront.amazonaws.com' },
          Action: 's3:GetObject',
          Resource: ['/exports/*', '/exposure-configuration/*'].map((suffix) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, suffix]] })),
          Condition: {
            StringEquals: {
              'AWS:SourceArn': {
                'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::', { Ref: 'AWS::AccountId' }, ':distribution/', { Ref: id(DISTRIBUTION) }]],
              },
            },
          },
        },
      ]);
    });

    it('lets CloudFront only decrypt with the data key, for this account\'s distributions until cdnDistributionId names this one', () => {
      // Prepare: the same construct with the distribution id of a deployed stage.
      const app = newInfraApp();
      const stack = new Stack(app, 'CdnScoped');
      const storage = new Storage(stack, 'Storage', { pointInTimeRecoveryDays: 3, logRetentionDays: 7 });
      new Cdn(stack, 'Cdn', { storage, regionCode: '302', priceClass: 'PriceClass_100', distributionId: 'E2QWRUHAPOMQZL' });
      const keyPolicy = (t: Template, keyPath: string) =>
        (resourceAt(t, keyPath).Properties.KeyPolicy as { Statement: Statement[] }).Statement.filter((s) => json(s.Principal).includes('cloudfront'));
      const distributions = ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::', { Ref: 'AWS::AccountId' }];

      // Act
      const firstDeploy = keyPolicy(template, 'Storage/DataKey/Resource');
      const scoped = keyPolicy(Template.fromStack(stack), 'Storage/DataKey/Resource');

      // Assess
      expect(firstDeploy).toEqual([
        expect.objectContaining({
          Principal: { Service: 'cloudfront.amazonaws.com' },
          Action: 'kms:Decrypt',
          Condition: { ArnLike: { 'AWS:SourceArn': { 'Fn::Join': ['', [...distributions, ':distribution/*']] } } },
        }),
      ]);
      expect(scoped).toEqual([
        expect.objectContaining({
          Principal: { Service: 'cloudfront.amazonaws.com' },
          Action: 'kms:Decrypt',
          Condition: { StringEquals: { 'AWS:SourceArn': { 'Fn::Join': ['', [...distributions, ':distribution/E2QWRUHAPOMQZL']] } } },
        }),
      ]);
      expect(synth.stack.config.cdnDistributionId).toBeUndefined();
    });
  });

  it('passes cdk-nag with only the reviewed acknowledgements on the distribution', () => {
    // Act
    const acknowledged = synth.stack.cdn.node.findAll().flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) =>
          Object.keys(entry.data as Record<string, string>).map(
            (rule) => `${construct.node.path.replace(/^[^/]+\//, '')} ${rule.replace(/^annotation::/i, '')}`,
          ),
        ),
    );

    // Assess (synthesis in beforeAll already ran the AwsSolutions checks without a finding)
    expect(acknowledged.sort()).toEqual([
      'Cdn/Distribution AwsSolutions-CFR1',
      'Cdn/Distribution AwsSolutions-CFR2',
      'Cdn/Distribution AwsSolutions-CFR3',
      'Cdn/Distribution AwsSolutions-CFR4',
    ]);
  });
});
