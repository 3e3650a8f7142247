/**
 * Names of the environment variables that bind a Lambda to its resources. The CDK binds them
 * (grant + env in one call) and the handlers read them through `lambdas/shared/env.ts`.
 * Kept free of aws-cdk-lib imports so that Lambda bundles can import it.
 */
export const ENV = {
  submissionTable: 'SUBMISSION_TABLE_NAME',
  diagnosisKeysTable: 'DIAGNOSIS_KEYS_TABLE_NAME',
  rawMetricsTable: 'RAW_METRICS_TABLE_NAME',
  aggregateMetricsTable: 'AGGREGATE_METRICS_TABLE_NAME',
  metricsLedgerTable: 'METRICS_LEDGER_TABLE_NAME',
  exportsBucket: 'EXPORTS_BUCKET_NAME',
  reportsBucket: 'REPORTS_BUCKET_NAME',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];
