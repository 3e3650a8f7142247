/**
 * HTTP helpers for API Gateway proxy integrations. The REST API is configured with
 * `binaryMediaTypes: ['*\/*']`, so every request body arrives base64-encoded whatever its
 * Content-Type; `requestBody` undoes that. Responses with binary bodies are base64-encoded too.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';

export type HttpResult = APIGatewayProxyResult;

export const TEXT_PLAIN = 'text/plain; charset=utf-8';
export const PROTOBUF = 'application/x-protobuf';
export const JSON_TYPE = 'application/json';

/** Result of reading a body under a size cap. */
export type BodyRead = { ok: true; body: Buffer } | { ok: false; reason: 'too-large' | 'unreadable' };

/** Decodes the request body, refusing (without decoding more than needed) anything over maxBytes. */
export function requestBody(event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>, maxBytes: number): BodyRead {
  const raw = event.body ?? '';
  if (!event.isBase64Encoded) {
    const body = Buffer.from(raw, 'utf8');
    return body.length > maxBytes ? { ok: false, reason: 'too-large' } : { ok: true, body };
  }
  // base64 is 4 characters per 3 bytes: reject early when even the shortest decoding is too big.
  if (Math.floor((raw.length * 3) / 4) - 2 > maxBytes) return { ok: false, reason: 'too-large' };
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw) || raw.length % 4 === 1) return { ok: false, reason: 'unreadable' };
  const body = Buffer.from(raw, 'base64');
  return body.length > maxBytes ? { ok: false, reason: 'too-large' } : { ok: true, body };
}

/** Case-insensitive header lookup (API Gateway keeps the client's casing). */
export function header(event: Pick<APIGatewayProxyEvent, 'headers'>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
}

/** Plain-text response in the style of Go's http.Error: body + "\n", nosniff. */
export function text(statusCode: number, message: string, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { 'Content-Type': TEXT_PLAIN, 'X-Content-Type-Options': 'nosniff', ...headers },
    body: message.endsWith('\n') ? message : `${message}\n`,
  };
}

/** Binary protobuf response (base64 for API Gateway). */
export function protobuf(statusCode: number, bytes: Uint8Array, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { 'Content-Type': PROTOBUF, 'X-Content-Type-Options': 'nosniff', ...headers },
    body: Buffer.from(bytes).toString('base64'),
    isBase64Encoded: true,
  };
}

export function json(statusCode: number, value: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { 'Content-Type': JSON_TYPE, ...headers },
    body: JSON.stringify(value),
  };
}

export function empty(statusCode: number, headers: Record<string, string> = {}): HttpResult {
  return { statusCode, headers, body: '' };
}

export const notFound = (): HttpResult => text(404, '404 page not found');
export const methodNotAllowed = (): HttpResult => text(405, 'method not allowed');
