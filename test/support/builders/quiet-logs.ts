/**
 * Import first in handler tests: Powertools reads POWERTOOLS_LOG_LEVEL when the logger is built
 * (and the middleware resets the level on every warm invocation), so set it before any import
 * of lambdas/shared/observability. Jest gives each test file its own copy of process.env.
 */
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
