/** API Gateway REST proxy events and Lambda contexts, built by hand for handler tests. */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';

export interface ApiEventOptions {
  readonly method?: string;
  readonly path?: string;
  /** Raw request bytes; sent base64-encoded as API Gateway does with binaryMediaTypes '*\/*'. */
  readonly body?: Uint8Array | null;
  readonly headers?: Record<string, string>;
  readonly pathParameters?: Record<string, string> | null;
  readonly sourceIp?: string;
}

export function apiEvent(options: ApiEventOptions = {}): APIGatewayProxyEvent {
  const method = options.method ?? 'POST';
  const path = options.path ?? '/';
  const headers = options.headers ?? {};
  return {
    httpMethod: method,
    path,
    resource: path,
    body: options.body ? Buffer.from(options.body).toString('base64') : null,
    isBase64Encoded: Boolean(options.body),
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    pathParameters: options.pathParameters ?? null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {
      accountId: '000000000000',
      apiId: 'testapi',
      authorizer: undefined,
      protocol: 'HTTP/1.1',
      httpMethod: method,
      path,
      stage: 'test',
      requestId: 'request-1',
      requestTimeEpoch: 0,
      resourceId: 'resource-1',
      resourcePath: path,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: options.sourceIp ?? '198.51.100.7',
        user: null,
        userAgent: 'test',
        userArn: null,
      },
    },
  };
}

/** A minimal Lambda context, as local/gateway.ts hands to handlers. */
export function lambdaContext(functionName = 'test-function'): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: 'aws-request-1',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'test',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The response body as bytes, whether API Gateway would base64-decode it or not. */
export const bodyBytes = (result: APIGatewayProxyResult): Buffer =>
  result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body, 'utf8');

/** Hex of the body bytes separated by spaces, e.g. `08 00`, for readable exact-byte assertions. */
export const bodyHex = (result: APIGatewayProxyResult): string =>
  [...bodyBytes(result)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
