/**
 * One Logger and one Metrics instance per Lambda (Powertools). Service name and namespace come
 * from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE, set by the CDK function construct.
 * Rule: never log codes, keys, nonces, IPs or bodies; log a summary of each request instead.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'en-key-server' });

export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'EnKeyServer',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'en-key-server',
});
