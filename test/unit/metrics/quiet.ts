/**
 * Import first in metrics handler tests: silences Powertools logs and EMF output before
 * lambdas/shared/observability builds its Logger and Metrics (each test file has its own env).
 */
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
