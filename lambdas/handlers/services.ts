/**
 * /services/ping and /services/present: liveness probes, any method (as upstream §7.2).
 * ping → 200 `OK\n`; present → 204; both `Cache-Control: no-store`.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { empty, notFound, text } from '../shared/http';
import { httpHandler } from '../shared/middleware';

const NO_STORE = { 'Cache-Control': 'no-store' };

export async function services(event: Pick<APIGatewayProxyEvent, 'path'>) {
  if (event.path.endsWith('/services/ping')) return text(200, 'OK', NO_STORE);
  if (event.path.endsWith('/services/present')) return empty(204, NO_STORE);
  return notFound();
}

export const handler = httpHandler('services', services);
