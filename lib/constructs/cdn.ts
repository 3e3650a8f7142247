/**
 * Key retrieval at the edge: one CloudFront distribution in front of the exports bucket, the
 * retrieve-auth CloudFront Function (lambdas/edge/retrieve-auth.js, runtime cloudfront-js-2.0)
 * and its KeyValueStore. No Lambda runs per download.
 *
 * Behaviours (all GET/HEAD only, HTTPS only, the same S3 origin through an Origin Access Control):
 *   /retrieve/*                 retrieve-auth at viewer request: answers 401/404/410 itself and
 *                               rewrites a valid request to /exports/{region}/{period}.zip. The
 *                               cache key is that rewritten path only (no query string, header or
 *                               cookie), so the hourly HMAC never fragments the cache; TTL follows
 *                               the object's Cache-Control (min 0, default 600, max 3600 s).
 *                               Other methods get CloudFront's 403, as upstream's CloudFront did
 *                               (GET/HEAD only there too).
 *   /exposure-configuration/*   CA.json and region.json straight from S3, public, compressed,
 *                               Cache-Control from the object (1 h), default 1 h, max 1 day.
 *   default (anything else)     retrieve-auth too: it answers `404 page not found` to every path
 *                               that is not /retrieve/{region}/{period}/{hmac}, and no such path
 *                               reaches this behaviour, so nothing else of the bucket (e.g.
 *                               /exports/… directly, bypassing the HMAC) is ever fetched.
 * Every response: HSTS, nosniff, no referrer, DENY framing; the S3 headers naming the KMS key,
 * the bucket-key setting and the lifecycle rule are removed.
 *
 * Access to the bucket (this construct writes both statements itself, scoped):
 *   - bucket policy: s3:GetObject on exports/* and exposure-configuration/* for the CloudFront
 *     service principal with AWS:SourceArn = this distribution;
 *   - data key policy: kms:Decrypt for the CloudFront service principal with AWS:SourceArn =
 *     this distribution when `distributionId` is configured, else any distribution of this account
 *     (ArnLike distribution/*). The key policy cannot name the distribution on the first deploy:
 *     key → distribution → bucket (origin domain) → key is a dependency cycle. Other
 *     distributions still need a bucket policy naming them to read anything.
 *
 * The KeyValueStore holds `regions` (imported at creation from the stage's regionCode) and
 * `hmacKey`, which operators put after the first deploy — it is a secret and is never in the
 * template or an asset:
 *
 *   KVS=$(aws cloudformation describe-stacks --stack-name KeyServer-<stage> \
 *     --query "Stacks[0].Outputs[?OutputKey=='RetrieveAuthStoreArn'].OutputValue" --output text)
 *   ETAG=$(aws cloudfront-keyvaluestore describe-key-value-store --kvs-arn "$KVS" --query ETag --output text)
 *   aws cloudfront-keyvaluestore put-key --kvs-arn "$KVS" --if-match "$ETAG" \
 *     --key hmacKey --value "<the app's HMAC_KEY, hex>"
 *
 * Until then every /retrieve request is 401 (fail closed). The function reads the store
 * associated with it (`cf.kvs()` without an id), so the store id is not injected into the code.
 * The import source is used once, at creation (CloudFormation cannot update it): change the
 * served regions with `put-key --key regions`, not by editing the stage's regionCode.
 */
import * as path from 'node:path';
import { Aws, CfnOutput, Duration, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { CdnPriceClass } from '../config';
import { EXPORTS_PREFIX, EXPOSURE_CONFIGURATION_PREFIX } from './exports';
import { PROJECT_ROOT } from './key-server-function';
import type { Storage } from './storage';

/** The CloudFront Function source, deployed as is (relative to the repository root). */
export const RETRIEVE_AUTH_SOURCE = 'lambdas/edge/retrieve-auth.js';
/** KeyValueStore keys read by retrieve-auth. */
export const KVS_REGIONS_KEY = 'regions';
export const KVS_HMAC_KEY = 'hmacKey';

export const RETRIEVE_PATH_PATTERN = '/retrieve/*';
export const EXPOSURE_CONFIGURATION_PATH_PATTERN = '/exposure-configuration/*';

/** Bundle TTLs: build-exports sets `max-age=600` (today, 00000) or `max-age=3600` (closed days). */
export const RETRIEVE_TTL = { min: Duration.seconds(0), default: Duration.seconds(600), max: Duration.seconds(3600) } as const;
export const EXPOSURE_CONFIGURATION_TTL = { min: Duration.seconds(0), default: Duration.hours(1), max: Duration.days(1) } as const;

/** Origin response headers that only describe our storage (KMS key ARN, lifecycle rule id). */
export const REMOVED_ORIGIN_HEADERS = [
  'x-amz-server-side-encryption',
  'x-amz-server-side-encryption-aws-kms-key-id',
  'x-amz-server-side-encryption-bucket-key-enabled',
  'x-amz-expiration',
] as const;

export interface CdnProps {
  readonly storage: Storage;
  /** Imported into the KeyValueStore as `regions` when the store is created. */
  readonly regionCode: string;
  readonly priceClass: CdnPriceClass;
  /** This distribution's id once known (stage config `cdnDistributionId`): scopes the data key grant. */
  readonly distributionId?: string;
}

export class Cdn extends Construct {
  readonly keyValueStore: cloudfront.KeyValueStore;
  readonly retrieveAuth: cloudfront.Function;
  readonly originAccessControl: cloudfront.S3OriginAccessControl;
  readonly distribution: cloudfront.Distribution;

  constructor(scope: Construct, id: string, props: CdnProps) {
    super(scope, id);
    const bucket = props.storage.buckets.exports;

    this.keyValueStore = new cloudfront.KeyValueStore(this, 'RetrieveAuthStore', {
      comment: `retrieve-auth settings: ${KVS_REGIONS_KEY} (from the stage config) and ${KVS_HMAC_KEY} (put by operators)`,
      source: cloudfront.ImportSource.fromInline(
        JSON.stringify({ data: [{ key: KVS_REGIONS_KEY, value: props.regionCode }] }),
      ),
    });

    this.retrieveAuth = new cloudfront.Function(this, 'RetrieveAuthFunction', {
      comment: 'retrieve-auth: HMAC + period check of /retrieve, rewrite to the bundle object; 404 elsewhere',
      code: cloudfront.FunctionCode.fromFile({ filePath: path.join(PROJECT_ROOT, RETRIEVE_AUTH_SOURCE) }),
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      keyValueStore: this.keyValueStore,
      autoPublish: true,
    });

    this.originAccessControl = new cloudfront.S3OriginAccessControl(this, 'OriginAccessControl', {
      description: 'CloudFront reads the exports bucket, signing every request',
      signing: cloudfront.Signing.SIGV4_ALWAYS,
    });
    // Not withOriginAccessControl(): it would add a key policy statement for every distribution
    // of the account by itself. The grants are written below, scoped.
    const origin = origins.S3BucketOrigin.withBucketDefaults(bucket, {
      originAccessControlId: this.originAccessControl.originAccessControlId,
    });

    const responseHeaders = new cloudfront.ResponseHeadersPolicy(this, 'ResponseHeaders', {
      comment: 'Security headers; hides S3 encryption and lifecycle headers',
      securityHeadersBehavior: {
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
      removeHeaders: [...REMOVED_ORIGIN_HEADERS],
    });
    const viewerRequest = [{ function: this.retrieveAuth, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }];
    const common = {
      origin,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
      cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      responseHeadersPolicy: responseHeaders,
    };

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'COVID Alert key retrieval: /retrieve/{region}/{period}/{hmac} and /exposure-configuration/*',
      priceClass: props.priceClass as cloudfront.PriceClass,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableIpv6: true,
      defaultBehavior: {
        ...common,
        // retrieve-auth answers every request here itself (404): nothing to cache.
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        functionAssociations: viewerRequest,
        compress: false,
      },
      additionalBehaviors: {
        [RETRIEVE_PATH_PATTERN]: {
          ...common,
          cachePolicy: new cloudfront.CachePolicy(this, 'RetrieveCachePolicy', {
            comment: 'Export bundles: the rewritten object path is the whole cache key; TTL from Cache-Control',
            queryStringBehavior: cloudfront.CacheQueryStringBehavior.none(),
            headerBehavior: cloudfront.CacheHeaderBehavior.none(),
            cookieBehavior: cloudfront.CacheCookieBehavior.none(),
            minTtl: RETRIEVE_TTL.min,
            defaultTtl: RETRIEVE_TTL.default,
            maxTtl: RETRIEVE_TTL.max,
            // Zips are deflated already and application/zip is not a type CloudFront compresses:
            // an Accept-Encoding in the cache key would only split the cache.
            enableAcceptEncodingGzip: false,
            enableAcceptEncodingBrotli: false,
          }),
          functionAssociations: viewerRequest,
          compress: false,
        },
        [EXPOSURE_CONFIGURATION_PATH_PATTERN]: {
          ...common,
          cachePolicy: new cloudfront.CachePolicy(this, 'ExposureConfigurationCachePolicy', {
            comment: 'Exposure configuration JSON: path only, compressed variants, TTL from Cache-Control',
            queryStringBehavior: cloudfront.CacheQueryStringBehavior.none(),
            headerBehavior: cloudfront.CacheHeaderBehavior.none(),
            cookieBehavior: cloudfront.CacheCookieBehavior.none(),
            minTtl: EXPOSURE_CONFIGURATION_TTL.min,
            defaultTtl: EXPOSURE_CONFIGURATION_TTL.default,
            maxTtl: EXPOSURE_CONFIGURATION_TTL.max,
            enableAcceptEncodingGzip: true,
            enableAcceptEncodingBrotli: true,
          }),
          compress: true,
        },
      },
    });

    this.grantDistributionRead(props);
    this.acknowledgeFindings();

    new CfnOutput(this, 'DomainName', {
      key: 'RetrievalDomainName',
      value: this.distribution.distributionDomainName,
      description: 'Host of /retrieve and /exposure-configuration (the app\'s RETRIEVE_URL)',
    });
    new CfnOutput(this, 'DistributionId', {
      key: 'RetrievalDistributionId',
      value: this.distribution.distributionId,
      description: 'Set it as the stage\'s cdnDistributionId to scope the data key to this distribution',
    });
    new CfnOutput(this, 'StoreArn', {
      key: 'RetrieveAuthStoreArn',
      value: this.keyValueStore.keyValueStoreArn,
      description: 'KeyValueStore of retrieve-auth: put hmacKey here (aws cloudfront-keyvaluestore put-key)',
    });
  }

  private grantDistributionRead(props: CdnProps): void {
    const bucket = props.storage.buckets.exports;
    const cloudFront = new iam.ServicePrincipal('cloudfront.amazonaws.com');
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudFrontReadsExports',
        principals: [cloudFront],
        actions: ['s3:GetObject'],
        resources: [bucket.arnForObjects(`${EXPORTS_PREFIX}*`), bucket.arnForObjects(`${EXPOSURE_CONFIGURATION_PREFIX}*`)],
        conditions: { StringEquals: { 'AWS:SourceArn': this.distribution.distributionArn } },
      }),
    );
    const distributions = `arn:${Aws.PARTITION}:cloudfront::${Aws.ACCOUNT_ID}:distribution/`;
    props.storage.dataKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudFrontDecryptsExports',
        principals: [cloudFront],
        actions: ['kms:Decrypt'],
        resources: ['*'],
        conditions: props.distributionId
          ? { StringEquals: { 'AWS:SourceArn': `${distributions}${props.distributionId}` } }
          : { ArnLike: { 'AWS:SourceArn': `${distributions}*` } },
      }),
    );
  }

  private acknowledgeFindings(): void {
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR1',
      reason:
        'No geo restriction, as upstream: the bundles are public diagnosis keys meant for every installed app, ' +
        'including Canadians abroad, and are HMAC-gated per hour by retrieve-auth.',
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR2',
      reason:
        'TEMPORARY: a CLOUDFRONT-scope web ACL (upstream: 10 000 requests per 5 minutes per IP) must live in ' +
        'us-east-1, outside this regional stack; the api+WAF feature issue adds it (webAclId) and must delete ' +
        'this acknowledgement. Until then retrieve-auth rejects unauthenticated requests at the edge.',
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR3',
      reason:
        'No access logs: standard logs carry the viewer IP (c-ip) in every line and cannot drop it, and the ' +
        'field-selecting v2 delivery must be configured in us-east-1. Nothing personal may be kept beyond ' +
        'the privacy window; CloudFront metrics and the function metrics cover operations.',
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR4',
      reason:
        'The default *.cloudfront.net certificate is used (no custom domain yet), for which CloudFront fixes the ' +
        'security policy at TLSv1; a custom domain with an ACM certificate and TLSv1.2_2021 is a config change ' +
        'for later. The app connects with TLS 1.2+ itself.',
    });
  }
}
