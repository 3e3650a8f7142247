/**
 * The REGIONAL WAF web ACL of the REST API stage (ARCHITECTURE §1 "API Gateway and WAF").
 * Default action ALLOW: API Gateway itself answers every path no route serves with 404
 * (lib/constructs/api.ts), so the ACL only has to stop what the routes must not see.
 *
 * Rules, in evaluation order (lowest priority first; the first terminating match wins):
 *   0  NewKeyClaimAllowList   BLOCK /new-key-claim[/…] unless the client address is in the stage's
 *                             newKeyClaimAllowList (IPv4 and IPv6 IP sets, one per family present).
 *                             An EMPTY allow-list blocks /new-key-claim for everyone: no portal
 *                             can issue codes until operators list its addresses.
 *   1  SubmissionBodySize     BLOCK bodies over 8 KiB on /claim-key and /upload (their handlers
 *                             accept 256 and 2048 bytes). WAF sees only the first 16 KiB of an API
 *                             Gateway body; `oversizeHandling: MATCH` makes a body beyond that
 *                             count as matching, so larger bodies are blocked too.
 *   2  MetricsContentLength   BLOCK /save-metrics requests whose Content-Length header declares more
 *                             than 120 000 bytes. A body-size rule cannot do this: WAF inspects at
 *                             most 16 KiB (64 KiB for a fee) of an API Gateway body, and with
 *                             oversize MATCH it would block every legitimate 16–120 KB batch.
 *                             (Upstream's "body > 120000" rule could never match for the same
 *                             reason.) A request without Content-Length is left to save-metrics,
 *                             whose own 120 000-byte cap is the authority either way.
 *   3  ClaimKeyRateLimit      BLOCK an IP above wafRateLimits.claimKeyPer5Minutes requests to
 *                             /claim-key per 5 minutes (upstream: 100).
 *   4  UploadRateLimit        the same for /upload (wafRateLimits.uploadPer5Minutes).
 *  10  AWSManagedRulesCommonRuleSet      with SizeRestrictions_BODY set to COUNT: it blocks
 *                             bodies over 8 KiB on every route, and /save-metrics legitimately
 *                             carries up to 120 000 bytes; rules 1 and 2 do that job per route.
 *  11  AWSManagedRulesKnownBadInputsRuleSet
 * Blocked requests get API Gateway's WAF_FILTERED answer, 403 `{"message":"Forbidden"}`.
 *
 * Paths: WAF sees the path the client sent. On the execute-api endpoint that includes the stage
 * (`/v1/claim-key`), behind a custom domain with a base-path mapping it would not, so every path
 * match is CONTAINS on the URL-decoded, lower-cased path. That over-matches only paths no route
 * serves (e.g. `/x/claim-key`, answered 404 anyway); it never lets a variant such as
 * `/v1//New-Key-Claim` or `/v1/new%2Dkey-claim` slip past the allow-list.
 *
 * The managed rule sets' BODY rules also run over the binary protobuf / NaCl bodies of /claim-key
 * and /upload; a false positive there is unlikely but possible. Each rule's blocks are counted in
 * CloudWatch (AWS/WAFV2, BlockedRequests per Rule): override a rule that ever fires on those
 * routes to COUNT.
 *
 * Privacy: no WAF logging and no sampled requests. Both record full client addresses and
 * headers (sampled requests for 3 hours, logs for as long as their destination keeps them);
 * upstream redacted only the authorization header. CloudWatch metrics per rule (counts only)
 * are enough to see what the ACL does. Not built: upstream's check that /new-key-claim carries an
 * `Authorization: Bearer` header (issue-code checks the token itself, and answers CORS preflights
 * that carry none), and the IP reputation, Linux and SQL-injection rule groups upstream also had.
 */
import { isIPv4 } from 'node:net';
import { Stack } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import type { WafRateLimitsConfig } from '../config';

/** The routes the rules concern, as path fragments (see "Paths" in the header). */
export const WAF_PATHS = {
  newKeyClaim: '/new-key-claim',
  claimKey: '/claim-key',
  upload: '/upload',
  saveMetrics: '/save-metrics',
} as const;

/** Bodies of /claim-key and /upload above this many bytes are blocked (handlers cap 256 / 2048). */
export const SUBMISSION_MAX_BODY_BYTES = 8192;
/** /save-metrics requests declaring a Content-Length above this are blocked (save-metrics' cap). */
export const METRICS_MAX_BODY_BYTES = 120_000;
/**
 * A Content-Length (decimal, optional leading zeros and spaces) greater than 120 000. WAF regex
 * has no numeric comparison, so the alternatives spell out every larger number by digits:
 * 7+ digits; 200000–999999; 130000–199999; 121000–129999; 120100–120999; 120010–120099;
 * 120001–120009.
 */
export const CONTENT_LENGTH_OVER_METRICS_LIMIT =
  '^ *0*([1-9][0-9]{6,}|[2-9][0-9]{5}|1[3-9][0-9]{4}|12[1-9][0-9]{3}|120[1-9][0-9]{2}|1200[1-9][0-9]|12000[1-9]) *$';

/** WAF's rate-based window: the config's limits are "per 5 minutes". */
export const RATE_LIMIT_WINDOW_SECONDS = 300;

/** Rule names and priorities (also their CloudWatch metric names). */
export const WAF_RULES = {
  newKeyClaimAllowList: { name: 'NewKeyClaimAllowList', priority: 0 },
  submissionBodySize: { name: 'SubmissionBodySize', priority: 1 },
  metricsContentLength: { name: 'MetricsContentLength', priority: 2 },
  claimKeyRateLimit: { name: 'ClaimKeyRateLimit', priority: 3 },
  uploadRateLimit: { name: 'UploadRateLimit', priority: 4 },
  commonRuleSet: { name: 'AWSManagedRulesCommonRuleSet', priority: 10 },
  knownBadInputs: { name: 'AWSManagedRulesKnownBadInputsRuleSet', priority: 11 },
} as const;

type Statement = wafv2.CfnWebACL.StatementProperty;

/** Counts per rule in CloudWatch; never sampled requests (they hold client addresses). */
const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
  cloudWatchMetricsEnabled: true,
  sampledRequestsEnabled: false,
  metricName,
});

/** The URL-decoded, lower-cased request path contains `fragment`. */
export function pathContains(fragment: string): Statement {
  return {
    byteMatchStatement: {
      fieldToMatch: { uriPath: {} },
      positionalConstraint: 'CONTAINS',
      searchString: fragment.toLowerCase(),
      textTransformations: [
        { priority: 0, type: 'URL_DECODE' },
        { priority: 1, type: 'LOWERCASE' },
      ],
    },
  };
}

/**
 * Block /new-key-claim unless the source address is in one of the allow-list IP sets. With no
 * IP set (empty allow-list) the statement is the path match alone: /new-key-claim is blocked
 * for everyone.
 */
export function newKeyClaimBlockStatement(ipSetArns: readonly string[]): Statement {
  const path = pathContains(WAF_PATHS.newKeyClaim);
  if (ipSetArns.length === 0) return path;
  const references: Statement[] = ipSetArns.map((arn) => ({ ipSetReferenceStatement: { arn } }));
  const allowed: Statement = references.length === 1 ? references[0] : { orStatement: { statements: references } };
  return { andStatement: { statements: [path, { notStatement: { statement: allowed } }] } };
}

export interface WafProps {
  /** The stage the web ACL is associated with. */
  readonly stage: apigw.Stage;
  /** CIDRs allowed to call /new-key-claim (validated by the stage config); empty blocks it. */
  readonly newKeyClaimAllowList: readonly string[];
  readonly rateLimits: WafRateLimitsConfig;
}

export class Waf extends Construct {
  readonly webAcl: wafv2.CfnWebACL;
  readonly association: wafv2.CfnWebACLAssociation;
  /** The allow-list IP sets, one per address family present in the config. */
  readonly ipSets: readonly wafv2.CfnIPSet[];
  /** `WebACL` dimension of the AWS/WAFV2 metrics. */
  readonly webAclName: string;

  constructor(scope: Construct, id: string, props: WafProps) {
    super(scope, id);
    this.webAclName = `${Stack.of(this).stackName}-api`;

    this.ipSets = this.allowListIpSets(props.newKeyClaimAllowList);

    const rules: wafv2.CfnWebACL.RuleProperty[] = [
      {
        ...WAF_RULES.newKeyClaimAllowList,
        action: { block: {} },
        statement: newKeyClaimBlockStatement(this.ipSets.map((set) => set.attrArn)),
        visibilityConfig: visibility(WAF_RULES.newKeyClaimAllowList.name),
      },
      {
        ...WAF_RULES.submissionBodySize,
        action: { block: {} },
        statement: {
          andStatement: {
            statements: [
              { orStatement: { statements: [pathContains(WAF_PATHS.claimKey), pathContains(WAF_PATHS.upload)] } },
              {
                sizeConstraintStatement: {
                  fieldToMatch: { body: { oversizeHandling: 'MATCH' } },
                  comparisonOperator: 'GT',
                  size: SUBMISSION_MAX_BODY_BYTES,
                  textTransformations: [{ priority: 0, type: 'NONE' }],
                },
              },
            ],
          },
        },
        visibilityConfig: visibility(WAF_RULES.submissionBodySize.name),
      },
      {
        ...WAF_RULES.metricsContentLength,
        action: { block: {} },
        statement: {
          andStatement: {
            statements: [
              pathContains(WAF_PATHS.saveMetrics),
              {
                regexMatchStatement: {
                  fieldToMatch: { singleHeader: { Name: 'content-length' } },
                  regexString: CONTENT_LENGTH_OVER_METRICS_LIMIT,
                  textTransformations: [{ priority: 0, type: 'NONE' }],
                },
              },
            ],
          },
        },
        visibilityConfig: visibility(WAF_RULES.metricsContentLength.name),
      },
      this.rateRule(WAF_RULES.claimKeyRateLimit, WAF_PATHS.claimKey, props.rateLimits.claimKeyPer5Minutes),
      this.rateRule(WAF_RULES.uploadRateLimit, WAF_PATHS.upload, props.rateLimits.uploadPer5Minutes),
      {
        ...WAF_RULES.commonRuleSet,
        overrideAction: { none: {} },
        statement: {
          managedRuleGroupStatement: {
            vendorName: 'AWS',
            name: WAF_RULES.commonRuleSet.name,
            ruleActionOverrides: [{ name: 'SizeRestrictions_BODY', actionToUse: { count: {} } }],
          },
        },
        visibilityConfig: visibility(WAF_RULES.commonRuleSet.name),
      },
      {
        ...WAF_RULES.knownBadInputs,
        overrideAction: { none: {} },
        statement: { managedRuleGroupStatement: { vendorName: 'AWS', name: WAF_RULES.knownBadInputs.name } },
        visibilityConfig: visibility(WAF_RULES.knownBadInputs.name),
      },
    ];

    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      name: this.webAclName,
      description: 'REST API of the key server: allow-list, body sizes, per-IP rates, AWS managed rules',
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      rules,
      visibilityConfig: visibility('KeyServerApi'),
    });

    this.association = new wafv2.CfnWebACLAssociation(this, 'Association', {
      resourceArn: props.stage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });
    // The stage must exist before WAF can attach to it (its ARN is built from the name).
    this.association.node.addDependency(props.stage);
  }

  private rateRule(rule: { name: string; priority: number }, path: string, limit: number): wafv2.CfnWebACL.RuleProperty {
    return {
      ...rule,
      action: { block: {} },
      statement: {
        rateBasedStatement: {
          aggregateKeyType: 'IP',
          limit,
          evaluationWindowSec: RATE_LIMIT_WINDOW_SECONDS,
          scopeDownStatement: pathContains(path),
        },
      },
      visibilityConfig: visibility(rule.name),
    };
  }

  private allowListIpSets(cidrs: readonly string[]): wafv2.CfnIPSet[] {
    const families = [
      { id: 'NewKeyClaimAllowListV4', version: 'IPV4', addresses: cidrs.filter((c) => isIPv4(c.split('/')[0])) },
      { id: 'NewKeyClaimAllowListV6', version: 'IPV6', addresses: cidrs.filter((c) => !isIPv4(c.split('/')[0])) },
    ];
    return families
      .filter((family) => family.addresses.length > 0)
      .map(
        (family) =>
          new wafv2.CfnIPSet(this, family.id, {
            scope: 'REGIONAL',
            ipAddressVersion: family.version,
            addresses: family.addresses,
            // No parentheses: WAF descriptions allow letters, digits, spaces and =:#@/-,. only.
            description: `${family.version} addresses allowed to call /new-key-claim, from stage config newKeyClaimAllowList`,
          }),
      );
  }
}
