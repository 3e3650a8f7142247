/**
 * The REST API every client-facing Lambda joins with one line:
 *   api.addRoute('/claim-key', ['POST'], claimKeyFunction);
 *
 * - `binaryMediaTypes: ['*\/*']`: request bytes reach the handler unchanged (base64) whatever
 *   Content-Type a client sends; handlers decode every body, JSON included.
 * - Access logs in JSON WITHOUT client addresses or user agents (no `$context.identity.*`), and
 *   the resource template rather than the concrete path (`/new-key-claim/{hashId}`), so no
 *   identifier ends up in a log line.
 * - Execution logs at ERROR without data tracing (never bodies), in a log group we create, so it
 *   gets the stage retention instead of API Gateway's never-expiring default.
 * - Stage-wide throttling from the stage config; per-route rate rules belong to the WAF
 *   (lib/constructs/waf.ts, associated with this stage).
 * - Regional endpoint: the WAF attaches to the stage; no hidden edge distribution.
 * - Detailed CloudWatch metrics (Count, 4XXError, 5XXError, Latency per resource and method) for
 *   the per-route graphs of the dashboard; they cost the CloudWatch price of ~7 metrics per
 *   method (about 50 metrics for this API), and carry no request data.
 * - Gateway responses as upstream (Go's ServeMux): a path or method no route serves answers
 *   `404 page not found\n` (text/plain), not API Gateway's 403 "Missing Authentication Token";
 *   a missing or unknown /save-metrics API key stays 403 `{"message":"Forbidden"}`
 *   (INVALID_API_KEY, the response type API Gateway uses for both).
 *
 * It also owns the health endpoints `/services/ping` and `/services/present` (ANY, as upstream).
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { ApiThrottleConfig, LogRetentionDays } from '../config';
import { KeyServerFunction, type FunctionDefaults } from './key-server-function';

/** Deployment stage of the REST API (the URL path prefix of the execute-api endpoint). */
export const API_STAGE_NAME = 'v1';

/** Upstream's answer to a path or method no route serves (Go net/http `NotFound`). */
export const NOT_FOUND_BODY = '404 page not found\n';
export const NOT_FOUND_CONTENT_TYPE = 'text/plain; charset=utf-8';
/** API Gateway's own body of a refused API key, kept as is. */
export const FORBIDDEN_BODY = '{"message":"Forbidden"}';

/**
 * Gateway responses this API customises, by type. API Gateway answers an unknown path AND a
 * known path with a method it has no route for with MISSING_AUTHENTICATION_TOKEN (403 by
 * default); RESOURCE_NOT_FOUND is its 404 for other lookups that fail after authorisation. Both
 * become upstream's 404. INVALID_API_KEY (missing or unknown x-api-key on /save-metrics) is
 * pinned to its default so that no DEFAULT_4XX change could ever turn it into something else.
 * Response templates of gateway responses are static (no VTL); API Gateway picks one by content
 * type and falls back to application/json, so that key carries the body for every request, and
 * the Content-Type header says what it really is.
 */
export const GATEWAY_RESPONSES: readonly {
  readonly type: apigw.ResponseType;
  readonly statusCode: string;
  readonly contentType: string;
  readonly body: string;
}[] = [
  { type: apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, statusCode: '404', contentType: NOT_FOUND_CONTENT_TYPE, body: NOT_FOUND_BODY },
  { type: apigw.ResponseType.RESOURCE_NOT_FOUND, statusCode: '404', contentType: NOT_FOUND_CONTENT_TYPE, body: NOT_FOUND_BODY },
  { type: apigw.ResponseType.INVALID_API_KEY, statusCode: '403', contentType: 'application/json', body: FORBIDDEN_BODY },
];

export type RouteMethod = 'ANY' | 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD' | 'OPTIONS';

export interface ApiProps {
  readonly throttle: ApiThrottleConfig;
  readonly logRetentionDays: LogRetentionDays;
  readonly functionDefaults: FunctionDefaults;
}

/**
 * Access log line: request id, time, method, route template, status, sizes and latencies, WAF
 * verdict and error type. Deliberately absent: `$context.identity.sourceIp`, `userAgent`,
 * `caller`, `user`, `path`, API key ids.
 */
export const ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: apigw.AccessLogField.contextRequestId(),
  requestTimeEpoch: apigw.AccessLogField.contextRequestTimeEpoch(),
  httpMethod: apigw.AccessLogField.contextHttpMethod(),
  resourcePath: apigw.AccessLogField.contextResourcePath(),
  protocol: apigw.AccessLogField.contextProtocol(),
  status: apigw.AccessLogField.contextStatus(),
  responseLength: apigw.AccessLogField.contextResponseLength(),
  responseLatency: apigw.AccessLogField.contextResponseLatency(),
  integrationLatency: apigw.AccessLogField.contextIntegrationLatency(),
  integrationStatus: apigw.AccessLogField.contextIntegrationStatus(),
  wafResponseCode: apigw.AccessLogField.contextWafResponseCode(),
  errorType: apigw.AccessLogField.contextErrorResponseType(),
};

export class Api extends Construct {
  readonly restApi: apigw.RestApi;
  readonly accessLogGroup: logs.LogGroup;
  readonly executionLogGroup: logs.LogGroup;
  /** Serves `/services/ping` and `/services/present`. */
  readonly servicesFunction: KeyServerFunction;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const retention = props.logRetentionDays as number as logs.RetentionDays;

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention, removalPolicy: RemovalPolicy.RETAIN });

    this.restApi = new apigw.RestApi(this, 'RestApi', {
      restApiName: `${Stack.of(this).stackName}-api`,
      description: 'COVID Alert compatible diagnosis key server',
      binaryMediaTypes: ['*/*'],
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      // Access and execution logging need the account-level API Gateway CloudWatch role.
      cloudWatchRole: true,
      deployOptions: {
        stageName: API_STAGE_NAME,
        throttlingRateLimit: props.throttle.rateLimit,
        throttlingBurstLimit: props.throttle.burstLimit,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: apigw.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        tracingEnabled: false,
        metricsEnabled: true,
      },
    });
    this.addGatewayResponses();

    // API Gateway writes execution logs to this fixed name and would create it without expiry.
    this.executionLogGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${this.restApi.restApiId}/${API_STAGE_NAME}`,
      retention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.restApi.deploymentStage.node.addDependency(this.executionLogGroup);

    this.acknowledgeFindings();

    this.servicesFunction = new KeyServerFunction(this, 'ServicesFunction', {
      entry: 'lambdas/handlers/services.ts',
      serviceName: 'services',
      description: 'ANY /services/ping and /services/present: health answers, no data access',
      defaults: props.functionDefaults,
      memorySize: 128,
      timeout: Duration.seconds(3),
    });
    this.addRoute('/services/ping', ['ANY'], this.servicesFunction);
    this.addRoute('/services/present', ['ANY'], this.servicesFunction);

    new CfnOutput(this, 'Url', { value: this.restApi.url, description: 'Base URL of the API stage' });
  }

  /**
   * Routes `methods` on `path` (created as needed, `{param}` segments allowed) to `fn` through a
   * Lambda proxy integration. `options` passes method settings such as `apiKeyRequired` or a
   * request validator (save-metrics).
   */
  addRoute(path: string, methods: readonly RouteMethod[], fn: KeyServerFunction, options?: apigw.MethodOptions): apigw.Resource {
    const resource = this.restApi.root.resourceForPath(path);
    // allowTestInvoke: false — no extra invoke permission for the console's test-invoke stage.
    const integration = new apigw.LambdaIntegration(fn.lambda, { proxy: true, allowTestInvoke: false });
    for (const method of methods) resource.addMethod(method, integration, options);
    return resource;
  }

  private addGatewayResponses(): void {
    for (const response of GATEWAY_RESPONSES) {
      // Construct ids from the type (e.g. MissingAuthenticationToken): stable across reorderings.
      const id = response.type.responseType
        .toLowerCase()
        .replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
      this.restApi.addGatewayResponse(id, {
        type: response.type,
        statusCode: response.statusCode,
        // Static header values are single-quoted in API Gateway's mapping syntax. nosniff as on
        // every handler answer (lambdas/shared/http.ts).
        responseHeaders: { 'Content-Type': `'${response.contentType}'`, 'X-Content-Type-Options': "'nosniff'" },
        templates: { 'application/json': response.body },
      });
    }
  }

  private acknowledgeFindings(): void {
    const cloudWatchRole = this.restApi.node.findChild('CloudWatchRole');
    Validations.of(cloudWatchRole).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        'The account-level role API Gateway uses to deliver access and execution logs of every API in ' +
        'the region; AWS maintains its action list, and its log-group scope cannot be narrowed per API.',
    });
    Validations.of(this.restApi).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'The COVID Alert protocol authenticates in the handlers, not with IAM/Cognito identities: phones ' +
        'are anonymous by design. /new-key-claim checks a portal bearer token (plus a WAF IP allow-list), ' +
        '/claim-key a one-time code, /upload a NaCl box sealed with the claimed server key, /save-metrics ' +
        'an API key; /services/ping and /services/present are public health checks with no data.',
    });
    Validations.of(this.restApi).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'No Cognito user pool exists or can exist: clients are anonymous phones and health-authority ' +
        'portals with bearer tokens; see the AwsSolutions-APIG4 acknowledgement for the per-route scheme.',
    });
    Validations.of(this.restApi).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'Bodies are binary protobuf / NaCl boxes (binaryMediaTypes */*) that API Gateway models cannot ' +
        'describe; every handler decodes, size-caps and validates its input. The JSON /save-metrics route ' +
        'adds its own request validator with a schema when it joins the API.',
    });
  }
}
