/**
 * The local stand-in for API Gateway (REST, Lambda proxy integration) and CloudFront: one HTTP
 * server that turns each request into an API Gateway proxy event, calls the real handler, and
 * writes its result back faithfully (status, headers, base64 bodies decoded).
 *
 * As with `binaryMediaTypes: ['*\/*']`, every non-empty body reaches the handler base64-encoded.
 * `requestContext.identity.sourceIp` is the socket's address; X-Forwarded-For is passed through
 * as a header only, exactly as API Gateway does.
 *
 * Routes join with one line: `routes.lambda('POST', '/claim-key', handler)`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';

export type LambdaHttpHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** A non-Lambda route (local controls, edge-served paths): gets the raw request and its body. */
export type RawHandler = (request: LocalRequest) => Promise<LocalResponse>;

export interface LocalRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
  readonly params: Readonly<Record<string, string>>;
  readonly sourceIp: string;
}

export interface LocalResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer | string;
}

interface Route {
  readonly methods: readonly string[] | 'ANY';
  readonly template: string;
  readonly pattern: RegExp;
  readonly paramNames: readonly string[];
  readonly target: { kind: 'lambda'; name: string; handler: LambdaHttpHandler } | { kind: 'raw'; handler: RawHandler };
}

/** API Gateway's payload limit. */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

/**
 * Path templates in API Gateway syntax: `{name}` matches one segment, `{name+}` the rest.
 * An optional `pattern` per parameter narrows a segment (e.g. 128 hex characters).
 */
function compile(template: string, patterns: Record<string, string> = {}): { pattern: RegExp; paramNames: string[] } {
  const paramNames: string[] = [];
  const source = template
    .split('/')
    .map((segment) => {
      const m = /^\{([A-Za-z0-9_]+)(\+)?\}$/.exec(segment);
      if (!m) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      paramNames.push(m[1]);
      return m[2] ? '(.+)' : `(${patterns[m[1]] ?? '[^/]+'})`;
    })
    .join('/');
  return { pattern: new RegExp(`^${source}$`), paramNames };
}

export class RouteTable {
  private readonly routes: Route[] = [];

  lambda(methods: readonly string[] | 'ANY', template: string, name: string, handler: LambdaHttpHandler, patterns?: Record<string, string>): this {
    this.routes.push({ methods, template, ...compile(template, patterns), target: { kind: 'lambda', name, handler } });
    return this;
  }

  raw(methods: readonly string[] | 'ANY', template: string, handler: RawHandler, patterns?: Record<string, string>): this {
    this.routes.push({ methods, template, ...compile(template, patterns), target: { kind: 'raw', handler } });
    return this;
  }

  /** The route for a path, ignoring the method: a path that exists answers for every method. */
  match(path: string): { route: Route; params: Record<string, string> } | undefined {
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (m) {
        const params: Record<string, string> = {};
        route.paramNames.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1])));
        return { route, params };
      }
    }
    return undefined;
  }

  describe(): { methods: readonly string[] | 'ANY'; path: string; target: string }[] {
    return this.routes.map((r) => ({
      methods: r.methods,
      path: r.template,
      target: r.target.kind === 'lambda' ? r.target.name : 'local',
    }));
  }
}

export function sourceIpOf(request: IncomingMessage): string {
  const address = request.socket.remoteAddress ?? '0.0.0.0';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

export function toProxyEvent(
  request: { method: string; path: string; query: URLSearchParams; headers: IncomingMessage['headers']; body: Buffer; sourceIp: string },
  resource: string,
  params: Record<string, string>,
): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    headers[name] = values[values.length - 1];
    multiValueHeaders[name] = values;
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of request.query) {
    query[name] = value;
    (multiQuery[name] ??= []).push(value);
  }
  const now = Date.now();
  const hasBody = request.body.length > 0;
  return {
    resource,
    path: request.path,
    httpMethod: request.method,
    headers,
    multiValueHeaders,
    queryStringParameters: Object.keys(query).length ? query : null,
    multiValueQueryStringParameters: Object.keys(multiQuery).length ? multiQuery : null,
    pathParameters: Object.keys(params).length ? params : null,
    stageVariables: null,
    body: hasBody ? request.body.toString('base64') : null,
    isBase64Encoded: hasBody,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: request.method,
      path: `/local${request.path}`,
      stage: 'local',
      requestId: randomUUID(),
      requestTimeEpoch: now,
      resourceId: 'local',
      resourcePath: resource,
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
        sourceIp: request.sourceIp,
        user: null,
        userAgent: headers['user-agent'] ?? null,
        userArn: null,
      },
    },
  };
}

export function lambdaContext(functionName: string): Context {
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Writes a Lambda proxy result as API Gateway would. */
function writeProxyResult(res: ServerResponse, result: APIGatewayProxyResult): void {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) headers[name] = values.map(String);
  const body = result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : Buffer.from(result.body ?? '', 'utf8');
  headers['Content-Length'] = String(body.length);
  res.writeHead(result.statusCode, headers);
  res.end(body);
}

function writeLocal(res: ServerResponse, response: LocalResponse, method: string): void {
  const body = typeof response.body === 'string' ? Buffer.from(response.body) : (response.body ?? Buffer.alloc(0));
  res.writeHead(response.status, { ...response.headers, 'Content-Length': String(body.length) });
  res.end(method === 'HEAD' ? undefined : body);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolveBody(tooLarge ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const plain = (status: number, message: string): LocalResponse => ({
  status,
  headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' },
  body: `${message}\n`,
});

export interface GatewayLog {
  error(message: string, detail?: Record<string, unknown>): void;
}

export function createGateway(routes: RouteTable, log: GatewayLog): Server {
  const server = createServer(async (req, res) => {
    const method = (req.method ?? 'GET').toUpperCase();
    let routeName = 'unrouted';
    try {
      const url = new URL(req.url ?? '/', 'http://local');
      const body = await readBody(req, MAX_REQUEST_BYTES);
      if (body === 'too-large') {
        writeLocal(res, { status: 413, headers: { 'Content-Type': 'application/json' }, body: '{"message":"Request Too Long"}' }, method);
        return;
      }
      const found = routes.match(url.pathname);
      if (!found) {
        writeLocal(res, plain(404, '404 page not found'), method);
        return;
      }
      const { route, params } = found;
      routeName = route.template;
      const request: LocalRequest = {
        method,
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
        params,
        sourceIp: sourceIpOf(req),
      };
      if (route.methods !== 'ANY' && !route.methods.includes(method)) {
        // API Gateway answers an undefined method on a defined resource with 403; handlers that
        // own their method rules register 'ANY'.
        writeLocal(res, { status: 403, headers: { 'Content-Type': 'application/json' }, body: '{"message":"Missing Authentication Token"}' }, method);
        return;
      }
      if (route.target.kind === 'raw') {
        writeLocal(res, await route.target.handler(request), method);
        return;
      }
      const event = toProxyEvent(request, route.template, params);
      writeProxyResult(res, await route.target.handler(event, lambdaContext(route.target.name)));
    } catch (error) {
      // API Gateway's answer when the integration fails.
      // The route template, never the path: paths carry hashIds and HMACs.
      log.error('gateway: handler failed', { route: routeName, errorName: (error as Error)?.name });
      if (!res.headersSent) writeLocal(res, { status: 502, headers: { 'Content-Type': 'application/json' }, body: '{"message": "Internal server error"}' }, method);
      else res.destroy();
    }
  });
  // Upstream had no HTTP timeouts (weakness 16); the local gateway does.
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  server.keepAliveTimeout = 5_000;
  return server;
}
