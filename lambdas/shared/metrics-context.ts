/**
 * What save-metrics and aggregate-metrics need, built once per cold start. AWS builds it from the
 * environment; the local runtime and the tests call the `build…` functions with their own
 * clients, clock and API key.
 *
 * API key: in AWS, API Gateway checks `x-api-key` (usage plan) before the function runs, so the
 * function is built with `requireApiKey: false`. The local runtime has no gateway in front: it
 * passes the configured METRICS_API_KEY with `requireApiKey: true` and the handler checks it.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ENV } from '../../lib/env-names';
import { documentClient } from '../adapters/aws-clients';
import { DynamoAggregateStore, type AggregateStoreOptions, type AggregateTables } from '../adapters/dynamo-aggregates';
import { DynamoRawMetricsStore } from '../adapters/dynamo-raw-metrics';
import { systemClock, systemRandom } from '../adapters/system';
import type { AggregateDeps } from '../domain/metrics/aggregate';
import type { SaveMetricsDeps } from '../domain/metrics/envelope';
import type { AggregateStore, ClientErrorEvents, Clock, Random } from '../ports';
import { ConfigurationError, requireEnv } from './env';
import { metrics } from './observability';

export interface SaveMetricsContext extends SaveMetricsDeps {
  /** Check `x-api-key` in the function (local runtime); false behind API Gateway. */
  readonly requireApiKey: boolean;
  readonly apiKey?: string;
}

export function buildSaveMetricsContext(parts: {
  db: DynamoDBDocumentClient;
  rawMetricsTable: string;
  clock?: Clock;
  random?: Random;
  requireApiKey?: boolean;
  apiKey?: string;
}): SaveMetricsContext {
  const requireApiKey = parts.requireApiKey ?? false;
  if (requireApiKey && !parts.apiKey) throw new ConfigurationError(['save-metrics: requireApiKey needs an apiKey']);
  return {
    raw: new DynamoRawMetricsStore(parts.db, parts.rawMetricsTable),
    clock: parts.clock ?? systemClock,
    random: parts.random ?? systemRandom,
    requireApiKey,
    ...(parts.apiKey ? { apiKey: parts.apiKey } : {}),
  };
}

/** Cold-start construction in AWS (the gateway checks the API key). */
export async function saveMetricsContextFromEnv(env = process.env): Promise<SaveMetricsContext> {
  const names = requireEnv([ENV.rawMetricsTable], env);
  return buildSaveMetricsContext({ db: documentClient(), rawMetricsTable: names[ENV.rawMetricsTable], requireApiKey: false });
}

/** App error events (identifiers starting with `error`) as EMF: metric ClientErrors, dimension Identifier. */
export const emfClientErrors: ClientErrorEvents = {
  record(identifier: string, count: number): void {
    const single = metrics.singleMetric();
    single.addDimension('Identifier', identifier);
    single.addMetric('ClientErrors', MetricUnit.Count, count);
  },
};

export type AggregateContext = AggregateDeps;

export function buildAggregateContext(parts: {
  db: DynamoDBDocumentClient;
  tables: AggregateTables;
  clock?: Clock;
  errors?: ClientErrorEvents;
  /** Tests: wrap the store (e.g. inject failures). */
  wrapStore?: (store: AggregateStore) => AggregateStore;
  storeOptions?: AggregateStoreOptions;
}): AggregateContext {
  const store = new DynamoAggregateStore(parts.db, parts.tables, parts.storeOptions);
  return {
    aggregates: parts.wrapStore ? parts.wrapStore(store) : store,
    clock: parts.clock ?? systemClock,
    errors: parts.errors ?? emfClientErrors,
  };
}

export async function aggregateContextFromEnv(env = process.env): Promise<AggregateContext> {
  const names = requireEnv([ENV.aggregateMetricsTable, ENV.metricsLedgerTable], env);
  return buildAggregateContext({
    db: documentClient(),
    tables: { aggregateMetrics: names[ENV.aggregateMetricsTable], metricsLedger: names[ENV.metricsLedgerTable] },
  });
}
