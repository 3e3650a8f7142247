/**
 * The house middy stack for HTTP handlers: Powertools Logger context, EMF metrics flushing, and
 * one summary log line per request (route, method, status, duration – never bodies, headers or
 * IPs). An exception that escapes a handler becomes 500 `server error\n`; its text never leaves
 * the function.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { logger, metrics } from './observability';
import { text, type HttpResult } from './http';

export type HttpHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<HttpResult>;

export function httpHandler(
  route: string,
  handle: (event: APIGatewayProxyEvent) => Promise<HttpResult>,
  /** The 500 response of this endpoint (protobuf endpoints answer SERVER_ERROR in protobuf). */
  onError: () => HttpResult = () => text(500, 'server error'),
): HttpHandler {
  const core = async (event: APIGatewayProxyEvent): Promise<HttpResult> => {
    const started = process.hrtime.bigint();
    let result: HttpResult;
    try {
      result = await handle(event);
    } catch (error) {
      logger.error('unhandled error', { route, errorName: error instanceof Error ? error.name : typeof error });
      result = onError();
    }
    const summary = {
      route,
      method: event.httpMethod,
      status: result.statusCode,
      durationMs: Number(process.hrtime.bigint() - started) / 1e6,
    };
    // Flush EMF metrics only when the request recorded some (Powertools warns on empty flushes).
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    if (result.statusCode >= 500) logger.error('request', summary);
    else if (result.statusCode >= 400) logger.warn('request', summary);
    else logger.info('request', summary);
    return result;
  };
  return middy(core).use(injectLambdaContext(logger)) as unknown as HttpHandler;
}
