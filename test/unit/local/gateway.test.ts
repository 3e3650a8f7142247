import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { createGateway, RouteTable, type LambdaHttpHandler } from '../../../local/gateway';

const silent = { error: jest.fn() };

async function listen(routes: RouteTable): Promise<{ server: Server; url: string }> {
  const server = createGateway(routes, silent);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('RouteTable', () => {
  test('matches templates with single-segment, greedy and patterned parameters', () => {
    // Prepare
    const noop: LambdaHttpHandler = async () => ({ statusCode: 200, body: '' });
    const routes = new RouteTable()
      .lambda('ANY', '/new-key-claim/{hashId}', 'issue-code', noop, { hashId: '[0-9,a-z]{128}' })
      .lambda('ANY', '/retrieve/{proxy+}', 'edge', noop);

    // Act + Assess
    expect(routes.match(`/new-key-claim/${'a'.repeat(128)}`)?.params).toEqual({ hashId: 'a'.repeat(128) });
    expect(routes.match('/new-key-claim/abcd')).toBeUndefined();
    expect(routes.match('/retrieve/302/20000/abc')?.params).toEqual({ proxy: '302/20000/abc' });
    expect(routes.match('/nope')).toBeUndefined();
  });
});

describe('gateway', () => {
  let server: Server;
  let url: string;
  let seen: APIGatewayProxyEvent[];

  beforeAll(async () => {
    seen = [];
    const echo: LambdaHttpHandler = async (event) => {
      seen.push(event);
      const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
      return {
        statusCode: 201,
        headers: { 'Content-Type': 'application/x-protobuf', 'X-One': '1' },
        multiValueHeaders: { 'Set-Cookie': ['a=1', 'b=2'] },
        body: Buffer.concat([Buffer.from([0xff, 0x00]), body]).toString('base64'),
        isBase64Encoded: true,
      };
    };
    const routes = new RouteTable()
      .lambda('ANY', '/echo', 'echo', echo)
      .lambda(['POST'], '/post-only', 'echo', echo)
      .lambda('ANY', '/boom', 'boom', async () => {
        throw new Error('secret detail');
      });
    ({ server, url } = await listen(routes));
  });

  afterAll(() => new Promise((r) => server.close(r)));

  test('binary request bodies reach the handler base64-encoded with the socket address as sourceIp', async () => {
    // Prepare
    const body = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80]);

    // Act
    const response = await fetch(`${url}/echo?x=1&x=2`, {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Forwarded-For': '6.6.6.6' },
    });

    // Assess
    const event = seen[seen.length - 1];
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body!, 'base64').equals(body)).toBe(true);
    expect(event.httpMethod).toBe('POST');
    expect(event.resource).toBe('/echo');
    expect(event.requestContext.identity.sourceIp).toBe('127.0.0.1');
    expect(event.headers['x-forwarded-for']).toBe('6.6.6.6');
    expect(event.multiValueQueryStringParameters).toEqual({ x: ['1', '2'] });
    expect(response.status).toBe(201);
  });

  test('base64 results are decoded; single and multi-value headers are written', async () => {
    // Act
    const response = await fetch(`${url}/echo`, { method: 'POST', body: Buffer.from('hi') });

    // Assess
    expect(Buffer.from(await response.arrayBuffer())).toEqual(Buffer.from([0xff, 0x00, 0x68, 0x69]));
    expect(response.headers.get('content-type')).toBe('application/x-protobuf');
    expect(response.headers.get('x-one')).toBe('1');
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
  });

  test('an empty body is null and not base64-encoded, as API Gateway sends it', async () => {
    // Act
    await fetch(`${url}/echo`);

    // Assess
    const event = seen[seen.length - 1];
    expect(event.body).toBeNull();
    expect(event.isBase64Encoded).toBe(false);
  });

  test('unknown paths get the upstream 404 body', async () => {
    // Act
    const response = await fetch(`${url}/nowhere`);

    // Assess
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await response.text()).toBe('404 page not found\n');
  });

  test('a method the route does not define gets API Gateway 403', async () => {
    const response = await fetch(`${url}/post-only`);
    expect(response.status).toBe(403);
  });

  test('a handler crash becomes 502 without the error text', async () => {
    // Act
    const response = await fetch(`${url}/boom`);

    // Assess
    expect(response.status).toBe(502);
    expect(await response.text()).not.toContain('secret');
  });

  test('a body over 10 MiB is refused with 413 before any handler runs', async () => {
    // Prepare
    const before = seen.length;

    // Act
    const response = await fetch(`${url}/echo`, { method: 'POST', body: Buffer.alloc(10 * 1024 * 1024 + 1) });

    // Assess
    expect(response.status).toBe(413);
    expect(seen.length).toBe(before);
  });
});
