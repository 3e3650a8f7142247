/**
 * POST /save-metrics — the apps' in-app metrics (reference/metrics-upstream.md §1–§2,
 * spec/METRICS.md). Validates the envelope, stores it (split above 100 KiB, all chunks in one
 * transaction) in raw_metrics; aggregate-metrics counts it from the stream.
 *
 * | outcome                         | status | body                                             |
 * |---------------------------------|--------|--------------------------------------------------|
 * | missing/wrong x-api-key (local) | 403    | {"message":"Forbidden"} (as API Gateway)          |
 * | method other than POST          | 405    | {"message":"Method Not Allowed"}                  |
 * | body over 120 000 bytes         | 413    | {"status":"INVALID PAYLOAD","reason":…}           |
 * | unsplittable body               | 413    | {"status":"INVALID PAYLOAD","reason":…}           |
 * | not JSON / schema failure       | 400    | {"status":"INVALID PAYLOAD","reason":…}           |
 * | stored                          | 200    | {"status":"RECORD CREATED"}                       |
 * | storage failed (nothing stored) | 500    | {"status":"UPLOAD FAILED"}                        |
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { saveMetrics, type SaveMetricsResult } from '../domain/metrics/envelope';
import { lazy } from '../shared/env';
import { header, json, requestBody, type HttpResult } from '../shared/http';
import { saveMetricsContextFromEnv, type SaveMetricsContext } from '../shared/metrics-context';
import { httpHandler } from '../shared/middleware';

export const SAVE_METRICS_BODY_LIMIT = 120_000;

/** Constant-time comparison (of SHA-256 digests, so lengths never leak either). */
export function apiKeyMatches(given: string | undefined, expected: string | undefined): boolean {
  if (given === undefined || !expected) return false;
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

const invalid = (status: number, reason: string) => json(status, { status: 'INVALID PAYLOAD', reason });

/** The one table from outcome to HTTP. */
export function encodeSaveResult(result: SaveMetricsResult): HttpResult {
  switch (result.kind) {
    case 'RECORD CREATED':
      return json(200, { status: 'RECORD CREATED' });
    case 'INVALID PAYLOAD':
      return invalid(400, result.reason);
    case 'UNSPLITTABLE':
      return invalid(413, result.reason);
    case 'UPLOAD FAILED':
      return json(500, { status: 'UPLOAD FAILED' });
  }
}

export function makeSaveMetricsHandler(context: () => Promise<SaveMetricsContext>) {
  return httpHandler(
    'save-metrics',
    async (event: APIGatewayProxyEvent) => {
      const deps = await context();
      if (deps.requireApiKey && !apiKeyMatches(header(event, 'x-api-key'), deps.apiKey)) return json(403, { message: 'Forbidden' });
      if (event.httpMethod !== 'POST') return json(405, { message: 'Method Not Allowed' }, { Allow: 'POST' });
      const read = requestBody(event, SAVE_METRICS_BODY_LIMIT);
      if (!read.ok) {
        return read.reason === 'too-large'
          ? invalid(413, `body larger than ${SAVE_METRICS_BODY_LIMIT} bytes`)
          : invalid(400, 'body is not valid base64');
      }
      return encodeSaveResult(await saveMetrics(deps, read.body.toString('utf8')));
    },
    () => encodeSaveResult({ kind: 'UPLOAD FAILED' }),
  );
}

export const handler = makeSaveMetricsHandler(lazy(saveMetricsContextFromEnv));
