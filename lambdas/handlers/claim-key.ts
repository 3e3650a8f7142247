/**
 * POST /claim-key — the app exchanges a one-time code for the server public key (reference §4).
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { covidshield } from '../../proto';
import { claimKey, type ClaimKeyDeps, type ClaimRequest, type ClaimResult } from '../domain/claim-key';
import { lazy } from '../shared/env';
import { methodNotAllowed, protobuf, requestBody, type HttpResult } from '../shared/http';
import { httpHandler } from '../shared/middleware';
import { submissionContextFromEnv } from '../shared/submission-context';

export const CLAIM_BODY_LIMIT = 256;
const ErrorCode = covidshield.KeyClaimResponse.ErrorCode;

export function decodeClaimRequest(event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>): ClaimRequest {
  const read = requestBody(event, CLAIM_BODY_LIMIT);
  if (!read.ok) return { kind: 'malformed' };
  try {
    const message = covidshield.KeyClaimRequest.decode(read.body);
    return { kind: 'claim', oneTimeCode: message.oneTimeCode ?? '', appPublicKey: message.appPublicKey ?? new Uint8Array(0) };
  } catch {
    return { kind: 'malformed' };
  }
}

const duration = (ms: number) => (ms > 0 ? { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 } : {});

/** The one table from outcome to HTTP status and KeyClaimResponse. */
export function encodeClaimResult(result: ClaimResult): HttpResult {
  const encode = (status: number, message: covidshield.KeyClaimResponse.$Properties) =>
    protobuf(status, covidshield.KeyClaimResponse.encode(message).finish());
  switch (result.kind) {
    case 'claimed':
      return encode(200, { serverPublicKey: result.serverPublicKey, triesRemaining: result.triesRemaining });
    case 'TEMPORARY_BAN':
      return encode(429, { error: ErrorCode.TEMPORARY_BAN, triesRemaining: 0, remainingBanDuration: duration(result.banRemainingMs) });
    case 'INVALID_ONE_TIME_CODE':
      return encode(401, { error: ErrorCode.INVALID_ONE_TIME_CODE, triesRemaining: result.triesRemaining, remainingBanDuration: duration(result.banRemainingMs) });
    case 'INVALID_KEY':
      return encode(result.alreadyUsed ? 401 : 400, { error: ErrorCode.INVALID_KEY, triesRemaining: result.triesRemaining });
    case 'UNKNOWN':
      return encode(400, { error: ErrorCode.UNKNOWN, triesRemaining: result.triesRemaining });
    case 'SERVER_ERROR':
      // tries_remaining only when known: an unexpected failure must not read as "no tries left".
      return encode(500, { error: ErrorCode.SERVER_ERROR, ...(result.triesRemaining !== undefined ? { triesRemaining: result.triesRemaining } : {}) });
  }
}

export function makeClaimKeyHandler(context: () => Promise<ClaimKeyDeps>) {
  return httpHandler('claim-key', async (event: APIGatewayProxyEvent) => {
    if (event.httpMethod !== 'POST') return methodNotAllowed();
    return encodeClaimResult(await claimKey(await context(), event.requestContext.identity.sourceIp, decodeClaimRequest(event)));
  }, () => encodeClaimResult({ kind: 'SERVER_ERROR' }));
}

export const handler = makeClaimKeyHandler(lazy(() => submissionContextFromEnv('claim-key')));
