/**
 * The REGIONAL web ACL of the API stage as `cdk synth` builds it: associated with the stage, its
 * rules in order (allow-list, body sizes, per-IP rates, AWS managed rules) and the config fields
 * that feed them.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { DEFAULT_WAF_RATE_LIMITS, parseStageConfig } from '../../lib/config';
import { API_STAGE_NAME } from '../../lib/constructs/api';
import {
  CONTENT_LENGTH_OVER_METRICS_LIMIT,
  METRICS_MAX_BODY_BYTES,
  newKeyClaimBlockStatement,
  pathContains,
  SUBMISSION_MAX_BODY_BYTES,
  WAF_RULES,
} from '../../lib/constructs/waf';
import { CLAIM_BODY_LIMIT } from '../../lambdas/handlers/claim-key';
import { SAVE_METRICS_BODY_LIMIT } from '../../lambdas/handlers/save-metrics';
import { UPLOAD_BODY_LIMIT } from '../../lambdas/handlers/upload-keys';
import { aRawStage, cdkJsonContext, logicalIdAt, resourceAt, synthKeyServer, type SynthesizedKeyServer } from './support/infra-app';

type Json = Record<string, unknown>;
interface Rule {
  readonly Name: string;
  readonly Priority: number;
  readonly Action?: Json;
  readonly OverrideAction?: Json;
  readonly Statement: Json;
  readonly VisibilityConfig: { CloudWatchMetricsEnabled: boolean; SampledRequestsEnabled: boolean; MetricName: string };
}

const WEB_ACL = 'Waf/WebAcl';
const ALLOW_LIST = ['198.51.100.0/24', '203.0.113.7/32', '2001:db8:1234::/48'];

/** The CloudFormation form of `pathContains(fragment)`: decoded, lower-cased URI path CONTAINS. */
const pathMatch = (fragment: string) => ({
  ByteMatchStatement: {
    FieldToMatch: { UriPath: {} },
    PositionalConstraint: 'CONTAINS',
    SearchString: fragment,
    TextTransformations: [
      { Priority: 0, Type: 'URL_DECODE' },
      { Priority: 1, Type: 'LOWERCASE' },
    ],
  },
});

const rulesOf = (template: Template): Rule[] => resourceAt(template, WEB_ACL).Properties.Rules as Rule[];
const ruleNamed = (template: Template, name: string): Rule => {
  const rule = rulesOf(template).find((r) => r.Name === name);
  if (!rule) throw new Error(`no rule ${name}`);
  return rule;
};

describe('waf', () => {
  let synth: SynthesizedKeyServer;
  let template: Template;
  let withAllowList: Template;

  beforeAll(() => {
    synth = synthKeyServer();
    template = synth.template;
    withAllowList = synthKeyServer({ context: { stages: { dev: aRawStage({ newKeyClaimAllowList: ALLOW_LIST }) } } }).template;
  });

  it('is a REGIONAL web ACL that allows by default and is associated with the API stage', () => {
    // Prepare
    const restApiId = logicalIdAt(template, 'Api/RestApi/Resource');
    const stageId = logicalIdAt(template, `Api/RestApi/DeploymentStage.${API_STAGE_NAME}/Resource`);

    // Act
    const webAcl = resourceAt(template, WEB_ACL);
    const association = resourceAt(template, 'Waf/Association');

    // Assess
    expect(webAcl.Properties).toMatchObject({ Scope: 'REGIONAL', DefaultAction: { Allow: {} } });
    expect(association.Properties.WebACLArn).toEqual({ 'Fn::GetAtt': [logicalIdAt(template, WEB_ACL), 'Arn'] });
    expect(association.Properties.ResourceArn).toEqual({
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':apigateway:', { Ref: 'AWS::Region' }, '::/restapis/', { Ref: restApiId }, '/stages/', { Ref: stageId }],
      ],
    });
    expect(association.DependsOn).toContain(stageId);
  });

  it('evaluates allow-list, body sizes and rate limits before the managed rule groups, blocking on each', () => {
    // Act
    const rules = rulesOf(template);

    // Assess
    expect(rules.map((r) => [r.Priority, r.Name])).toEqual([
      [0, 'NewKeyClaimAllowList'],
      [1, 'SubmissionBodySize'],
      [2, 'MetricsContentLength'],
      [3, 'ClaimKeyRateLimit'],
      [4, 'UploadRateLimit'],
      [10, 'AWSManagedRulesCommonRuleSet'],
      [11, 'AWSManagedRulesKnownBadInputsRuleSet'],
    ]);
    for (const rule of rules.filter((r) => r.Priority < 10)) expect(rule.Action).toEqual({ Block: {} });
  });

  it('records counts per rule in CloudWatch but never samples requests (they carry client addresses)', () => {
    // Act
    const webAcl = resourceAt(template, WEB_ACL);
    const configs = [webAcl.Properties.VisibilityConfig, ...rulesOf(template).map((r) => r.VisibilityConfig)];

    // Assess
    for (const config of configs) expect(config).toMatchObject({ CloudWatchMetricsEnabled: true, SampledRequestsEnabled: false });
    expect(Object.keys(template.findResources('AWS::WAFv2::LoggingConfiguration'))).toEqual([]);
  });

  describe('/new-key-claim allow-list', () => {
    it('blocks /new-key-claim for everyone when the allow-list is empty (no IP set at all)', () => {
      // Prepare
      expect(synth.stack.config.newKeyClaimAllowList).toEqual([]);

      // Act
      const rule = ruleNamed(template, WAF_RULES.newKeyClaimAllowList.name);

      // Assess
      expect(rule.Statement).toEqual(pathMatch('/new-key-claim'));
      expect(Object.keys(template.findResources('AWS::WAFv2::IPSet'))).toEqual([]);
    });

    it('blocks /new-key-claim unless the source address is in the IPv4 or IPv6 set of the config', () => {
      // Prepare
      const v4 = logicalIdAt(withAllowList, 'Waf/NewKeyClaimAllowListV4');
      const v6 = logicalIdAt(withAllowList, 'Waf/NewKeyClaimAllowListV6');

      // Act
      const rule = ruleNamed(withAllowList, WAF_RULES.newKeyClaimAllowList.name);
      const sets = [resourceAt(withAllowList, 'Waf/NewKeyClaimAllowListV4'), resourceAt(withAllowList, 'Waf/NewKeyClaimAllowListV6')];

      // Assess
      expect(rule.Action).toEqual({ Block: {} });
      expect(rule.Statement).toEqual({
        AndStatement: {
          Statements: [
            pathMatch('/new-key-claim'),
            {
              NotStatement: {
                Statement: {
                  OrStatement: {
                    Statements: [
                      { IPSetReferenceStatement: { Arn: { 'Fn::GetAtt': [v4, 'Arn'] } } },
                      { IPSetReferenceStatement: { Arn: { 'Fn::GetAtt': [v6, 'Arn'] } } },
                    ],
                  },
                },
              },
            },
          ],
        },
      });
      expect(sets.map((s) => s.Properties)).toEqual([
        expect.objectContaining({ Scope: 'REGIONAL', IPAddressVersion: 'IPV4', Addresses: ['198.51.100.0/24', '203.0.113.7/32'] }),
        expect.objectContaining({ Scope: 'REGIONAL', IPAddressVersion: 'IPV6', Addresses: ['2001:db8:1234::/48'] }),
      ]);
    });

    it('references a single IP set directly when the allow-list has one address family', () => {
      // Act
      const statement = newKeyClaimBlockStatement(['arn:aws:wafv2:ca-central-1:111111111111:regional/ipset/v4/abc']);

      // Assess
      expect(statement).toEqual({
        andStatement: {
          statements: [
            pathContains('/new-key-claim'),
            { notStatement: { statement: { ipSetReferenceStatement: { arn: 'arn:aws:wafv2:ca-central-1:111111111111:regional/ipset/v4/abc' } } } },
          ],
        },
      });
    });
  });

  describe('body sizes', () => {
    it('blocks /claim-key and /upload bodies over 8 KiB, and bodies too large for WAF to inspect', () => {
      // Act
      const rule = ruleNamed(template, WAF_RULES.submissionBodySize.name);

      // Assess
      expect(rule.Statement).toEqual({
        AndStatement: {
          Statements: [
            { OrStatement: { Statements: [pathMatch('/claim-key'), pathMatch('/upload')] } },
            {
              SizeConstraintStatement: {
                FieldToMatch: { Body: { OversizeHandling: 'MATCH' } },
                ComparisonOperator: 'GT',
                Size: 8192,
                TextTransformations: [{ Priority: 0, Type: 'NONE' }],
              },
            },
          ],
        },
      });
      // Far above what the handlers accept, so no valid request is ever blocked by it.
      expect(SUBMISSION_MAX_BODY_BYTES).toBeGreaterThanOrEqual(4 * Math.max(CLAIM_BODY_LIMIT, UPLOAD_BODY_LIMIT));
    });

    it('blocks /save-metrics requests whose Content-Length declares more than save-metrics accepts', () => {
      // Act
      const rule = ruleNamed(template, WAF_RULES.metricsContentLength.name);

      // Assess
      expect(METRICS_MAX_BODY_BYTES).toBe(SAVE_METRICS_BODY_LIMIT);
      expect(rule.Statement).toEqual({
        AndStatement: {
          Statements: [
            pathMatch('/save-metrics'),
            {
              RegexMatchStatement: {
                FieldToMatch: { SingleHeader: { Name: 'content-length' } },
                RegexString: CONTENT_LENGTH_OVER_METRICS_LIMIT,
                TextTransformations: [{ Priority: 0, Type: 'NONE' }],
              },
            },
          ],
        },
      });
    });

    it('matches exactly the Content-Length values above 120 000', () => {
      // Prepare
      const regex = new RegExp(CONTENT_LENGTH_OVER_METRICS_LIMIT);
      const samples = [
        0, 1, 9_999, 99_999, 100_000, 119_999, 120_000, 120_001, 120_009, 120_010, 120_099, 120_100, 120_999, 121_000, 129_999,
        130_000, 199_999, 200_000, 999_999, 1_000_000, 10_485_760,
      ];
      for (let n = 119_900; n <= 121_100; n++) samples.push(n);

      // Act
      const wrong = samples.filter((n) => regex.test(String(n)) !== n > METRICS_MAX_BODY_BYTES);

      // Assess
      expect(wrong).toEqual([]);
      expect(regex.test('0120001')).toBe(true);
      expect(regex.test(' 120001 ')).toBe(true);
      expect(regex.test('0120000')).toBe(false);
      expect(regex.test('12e5')).toBe(false);
      expect(regex.test('')).toBe(false);
    });
  });

  describe('rate limits', () => {
    it.each([
      ['ClaimKeyRateLimit', '/claim-key', 'claimKeyPer5Minutes'],
      ['UploadRateLimit', '/upload', 'uploadPer5Minutes'],
    ] as const)('%s counts requests per client IP on %s over 5 minutes, with the stage limit', (name, path, field) => {
      // Prepare
      const limit = synth.stack.config.wafRateLimits[field];

      // Act
      const rule = ruleNamed(template, name);

      // Assess
      expect(rule.Action).toEqual({ Block: {} });
      expect(rule.Statement).toEqual({
        RateBasedStatement: { AggregateKeyType: 'IP', Limit: limit, EvaluationWindowSec: 300, ScopeDownStatement: pathMatch(path) },
      });
    });

    it('keeps the upstream /claim-key limit of 100 per 5 minutes per IP in both stages', () => {
      // Act
      const stages = cdkJsonContext().stages as Record<string, unknown>;
      const limits = ['dev', 'prod'].map((stage) => parseStageConfig(stage, stages[stage]).wafRateLimits);

      // Assess
      expect(DEFAULT_WAF_RATE_LIMITS.claimKeyPer5Minutes).toBe(100);
      for (const l of limits) expect(l.claimKeyPer5Minutes).toBe(100);
    });
  });

  it('runs the AWS common and known-bad-inputs rule sets, with the common body-size rule only counting', () => {
    // Act
    const common = ruleNamed(template, 'AWSManagedRulesCommonRuleSet');
    const badInputs = ruleNamed(template, 'AWSManagedRulesKnownBadInputsRuleSet');

    // Assess
    expect(common.OverrideAction).toEqual({ None: {} });
    expect(common.Statement).toEqual({
      ManagedRuleGroupStatement: {
        VendorName: 'AWS',
        Name: 'AWSManagedRulesCommonRuleSet',
        // /save-metrics bodies reach 120 000 bytes; SizeRestrictions_BODY would block them above 8 KiB.
        RuleActionOverrides: [{ Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } }],
      },
    });
    expect(badInputs.OverrideAction).toEqual({ None: {} });
    expect(badInputs.Statement).toEqual({ ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesKnownBadInputsRuleSet' } });
  });

  describe('stage config', () => {
    it('defaults the rate limits when the stage omits them, and rejects limits WAF cannot take', () => {
      // Prepare
      const raw = aRawStage();
      delete raw.wafRateLimits;
      const bad = aRawStage({ wafRateLimits: { claimKeyPer5Minutes: 5, uploadPer5Minutes: 1.5, perHour: 3 } });

      // Act
      const config = parseStageConfig('dev', raw);
      const act = () => parseStageConfig('dev', bad);

      // Assess
      expect(config.wafRateLimits).toEqual(DEFAULT_WAF_RATE_LIMITS);
      expect(act).toThrow(/wafRateLimits\.claimKeyPer5Minutes: must be an integer 10–2000000000/);
      expect(act).toThrow(/wafRateLimits\.uploadPer5Minutes/);
      expect(act).toThrow(/wafRateLimits\.perHour: unknown field/);
    });

    it('rejects a /0 allow-list entry: WAF IP sets cannot hold it and it would allow everyone', () => {
      // Prepare
      const raw = aRawStage({ newKeyClaimAllowList: ['198.51.100.0/24', '0.0.0.0/0', '::/0'] });

      // Act
      const act = () => parseStageConfig('dev', raw);

      // Assess
      expect(act).toThrow(/newKeyClaimAllowList\[1\]: a \/0 prefix/);
      expect(act).toThrow(/newKeyClaimAllowList\[2\]: a \/0 prefix/);
      expect(act).not.toThrow(/newKeyClaimAllowList\[0\]/);
    });
  });
});
