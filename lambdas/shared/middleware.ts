/**
 * The house middy stack for HTTP handlers: Powertools Logger context, EMF metrics flushing, and
 * one summary log line per request (route, method, status, duration – never bodies, headers or
 * IPs). An exception that escapes a handler becomes 500 `server error\n`; its text never leaves
 * the function.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
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

/** What a scheduled job reports about one run: EMF metrics and a log summary (counts only). */
export interface JobReport {
  readonly metrics: Readonly<Record<string, { readonly unit: (typeof MetricUnit)[keyof typeof MetricUnit]; readonly value: number }>>;
  readonly log: Readonly<Record<string, unknown>>;
}

/**
 * The house wrapper of a scheduled job (EventBridge): one summary log line and EMF metrics per
 * run; a failure is counted as `failureMetric`, logged by error name only, and rethrown so that
 * the invocation fails and alarms fire.
 */
export function scheduledJobHandler<T>(
  name: string,
  failureMetric: string,
  run: () => Promise<T>,
  report: (summary: T) => JobReport,
): (event: unknown, context: Context) => Promise<T> {
  const core = async (): Promise<T> => {
    const started = process.hrtime.bigint();
    const durationMs = () => Number(process.hrtime.bigint() - started) / 1e6;
    try {
      const summary = await run();
      const { metrics: figures, log } = report(summary);
      for (const [metric, { unit, value }] of Object.entries(figures)) metrics.addMetric(metric, unit, value);
      logger.info(name, { outcome: 'ok', ...log, durationMs: durationMs() });
      return summary;
    } catch (error) {
      metrics.addMetric(failureMetric, MetricUnit.Count, 1);
      logger.error(name, { outcome: 'failed', errorName: error instanceof Error ? error.name : typeof error, durationMs: durationMs() });
      throw error;
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
  return middy(core).use(injectLambdaContext(logger)) as unknown as (event: unknown, context: Context) => Promise<T>;
}
