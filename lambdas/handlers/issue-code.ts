/**
 * POST /new-key-claim[/{hashId}] — health-authority staff get a one-time code (reference §3).
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { issueCode, type IssueCodeDeps } from '../domain/issue-code';
import { lazy } from '../shared/env';
import { empty, header, notFound, text, TEXT_PLAIN } from '../shared/http';
import { httpHandler } from '../shared/middleware';
import { submissionContextFromEnv } from '../shared/submission-context';

/** The hashId route pattern of upstream (128 characters of digits, lower-case letters, commas). */
export const HASH_ID_PATTERN = '[0-9,a-z]{128}';
const HASH_ID = new RegExp(`^${HASH_ID_PATTERN}$`);

const CORS_PREFLIGHT = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'POST',
  'Access-Control-Allow-Headers':
    'Accept, Content-Type, Content-Length, Accept-Encoding, X-CSRF-Token, Authorization, Referer, User-Agent',
};

export function makeIssueCodeHandler(context: () => Promise<IssueCodeDeps>) {
  return httpHandler('issue-code', async (event: APIGatewayProxyEvent) => {
    const hashId = event.pathParameters?.hashId;
    if (hashId !== undefined && !HASH_ID.test(hashId)) return notFound();
    if (event.httpMethod === 'OPTIONS') return empty(200, CORS_PREFLIGHT);
    if (event.httpMethod !== 'POST') return text(401, 'unauthorized');

    const result = await issueCode(await context(), { authorization: header(event, 'authorization'), hashId });
    switch (result.kind) {
      case 'issued':
        return { statusCode: 200, headers: { 'Content-Type': TEXT_PLAIN, 'Access-Control-Allow-Origin': '*' }, body: `${result.code}\n` };
      case 'unauthorized':
        return text(401, 'unauthorized');
      case 'forbidden':
        return text(403, 'forbidden');
      case 'exhausted':
        return text(500, 'server error');
    }
  });
}

export const handler = makeIssueCodeHandler(lazy(() => submissionContextFromEnv('issue-code')));
