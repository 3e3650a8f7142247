/**
 * POST /upload — the app uploads its diagnosis keys in a NaCl box (reference §5).
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { covidshield } from '../../proto';
import { uploadKeys, type UploadKeysDeps, type UploadRequest, type UploadResult } from '../domain/upload-keys';
import { lazy } from '../shared/env';
import { methodNotAllowed, protobuf, requestBody, type HttpResult } from '../shared/http';
import { httpHandler } from '../shared/middleware';
import { submissionContextFromEnv } from '../shared/submission-context';

/** Deviation 2: 2048 bytes (upstream 1024 cannot hold 28 keys with all six fields). */
export const UPLOAD_BODY_LIMIT = 2048;
const ErrorCode = covidshield.EncryptedUploadResponse.ErrorCode;
const empty = new Uint8Array(0);

export function decodeUploadRequest(event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>): UploadRequest {
  const read = requestBody(event, UPLOAD_BODY_LIMIT);
  if (!read.ok) return { kind: read.reason === 'too-large' ? 'too-large' : 'malformed' };
  try {
    const m = covidshield.EncryptedUploadRequest.decode(read.body);
    return {
      kind: 'upload',
      serverPublicKey: m.serverPublicKey ?? empty,
      appPublicKey: m.appPublicKey ?? empty,
      nonce: m.nonce ?? empty,
      payload: m.payload ?? empty,
    };
  } catch {
    return { kind: 'malformed' };
  }
}

/** Every response carries the error explicitly, so success is the two bytes `08 00`. */
export function encodeUploadResult(result: UploadResult): HttpResult {
  const status = result.kind === 'NONE' ? 200 : result.status;
  return protobuf(status, covidshield.EncryptedUploadResponse.encode({ error: ErrorCode[result.kind] }).finish());
}

export function makeUploadKeysHandler(context: () => Promise<UploadKeysDeps>) {
  return httpHandler('upload-keys', async (event: APIGatewayProxyEvent) => {
    if (event.httpMethod !== 'POST') return methodNotAllowed();
    return encodeUploadResult(await uploadKeys(await context(), decodeUploadRequest(event)));
  }, () => encodeUploadResult({ kind: 'SERVER_ERROR', status: 500 }));
}

export const handler = makeUploadKeysHandler(lazy(() => submissionContextFromEnv('upload-keys')));
