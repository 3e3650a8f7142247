/**
 * The whole system on one machine: DynamoDB Local + s3rver, tables and buckets from the shared
 * definitions, the real handlers behind a local API Gateway, the job scheduler and the local
 * controls. `startRuntime` returns once every part answers; `stop()` stops everything it started.
 */
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { BUCKET_LIST, TABLE_LIST, type BucketRole, type TableRole } from '../lib/definitions';
import { dynamoDbClient, documentClient, s3Client, type EndpointOptions } from '../lambdas/adapters/aws-clients';
import { handler as servicesHandler } from '../lambdas/handlers/services';
import { makeIssueCodeHandler } from '../lambdas/handlers/issue-code';
import { makeClaimKeyHandler } from '../lambdas/handlers/claim-key';
import { makeUploadKeysHandler } from '../lambdas/handlers/upload-keys';
import { buildSubmissionContext } from '../lambdas/shared/submission-context';
import { buildMetricsReportContext } from '../lambdas/shared/report-context';
import { runMetricsReport } from '../lambdas/domain/metrics/report';
import { buildExportsContext } from '../lambdas/shared/exports-context';
import { buildExports } from '../lambdas/domain/build-exports';
import { LocalSigner } from '../lambdas/adapters/local-signer';
import { dynamoDbStreamsClient } from '../lambdas/adapters/aws-clients';
import { buildAggregateContext, buildSaveMetricsContext } from '../lambdas/shared/metrics-context';
import { makeSaveMetricsHandler } from '../lambdas/handlers/save-metrics';
import { makeAggregateMetricsHandler } from '../lambdas/handlers/aggregate-metrics';
import { createStreamPoller } from './stream-poller';
import { lambdaContext } from './gateway';
import { ensureBucket, ensureTable } from './bootstrap';
import { OffsetClock } from './clock';
import { registerControls, clockState } from './controls';
import { deployExposureConfiguration, registerCdnRoutes } from './cdn';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDb, type EmbeddedDynamoDb } from './embedded-dynamodb';
import { S3_CREDENTIALS, startS3, type EmbeddedS3 } from './embedded-s3';
import { createGateway, RouteTable } from './gateway';
import { JobRegistry } from './jobs';
import type { LocalConfig } from './config';

export interface RuntimeLog {
  info(message: string, detail?: Record<string, unknown>): void;
  error(message: string, detail?: Record<string, unknown>): void;
}

export interface Runtime {
  readonly url: string;
  readonly clock: OffsetClock;
  readonly jobs: JobRegistry;
  info(): LocalInfo;
  stop(): Promise<void>;
}

export interface LocalInfo {
  url: string;
  region: string;
  exportRegion: string;
  keyClaimTokens: string[];
  retrieveHmacKey: string;
  metricsApiKey: string;
  exportSigningPublicKeyPem: string;
  clock: { offsetSeconds: number; now: string };
  dynamodb: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; tables: Record<TableRole, string> };
  s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; buckets: Record<BucketRole, string> };
  jobs: { name: string; description: string; intervalSeconds: number | null }[];
  routes: { methods: readonly string[] | 'ANY'; path: string; target: string }[];
  storage: { inMemory: boolean; dataDir: string | null };
  processes: { runtimePid: number; dynamodbPid: number | null };
  startedAt: string;
}

/** Local resource names: the role names themselves (stable, readable in tools). */
export const tableNames = Object.fromEntries(TABLE_LIST.map((t) => [t.role, t.role])) as Record<TableRole, string>;
export const bucketNames = Object.fromEntries(BUCKET_LIST.map((b) => [b.role, b.role])) as Record<BucketRole, string>;

export async function startRuntime(config: LocalConfig, log: RuntimeLog): Promise<Runtime> {
  const started: { stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    for (const part of started.reverse()) {
      await part.stop().catch((error: unknown) => log.error('stop failed', { message: (error as Error)?.message }));
    }
    started.length = 0;
  };

  try {
    const [dynamodb, s3] = await Promise.all([
      startDynamoDb({ port: config.dynamodbPort, dataDir: config.dataDir && join(config.dataDir, 'dynamodb') }).then((d) => {
        started.push(d);
        return d;
      }),
      startS3({ port: config.s3Port, dataDir: config.dataDir && join(config.dataDir, 's3') }).then((s) => {
        started.push(s);
        return s;
      }),
    ]);
    const dynamoOptions: EndpointOptions = { endpoint: dynamodb.endpoint, credentials: LOCAL_CREDENTIALS, region: LOCAL_REGION };
    const s3Options: EndpointOptions = { endpoint: s3.endpoint, credentials: S3_CREDENTIALS, region: LOCAL_REGION };
    await bootstrap(dynamoOptions, s3Options);
    const clients = { dynamo: documentClient(dynamoOptions), s3: s3Client(s3Options) };
    started.push({ stop: async () => (clients.dynamo.destroy(), clients.s3.destroy()) });

    const clock = new OffsetClock();
    const jobs = new JobRegistry(log);
    started.push(jobs);
    const routes = new RouteTable();
    routes.lambda('ANY', '/services/ping', 'services', servicesHandler);
    routes.lambda('ANY', '/services/present', 'services', servicesHandler);

    const submission = buildSubmissionContext({
      db: clients.dynamo,
      tables: { submission: tableNames.submission, diagnosisKeys: tableNames.diagnosisKeys },
      hmacKey: config.submissionHmacKey,
      keyClaimTokens: config.keyClaimTokens,
      clock,
      settings: { regionCode: config.regionCode, initialRemainingKeys: config.initialRemainingKeys },
    });
    const submissionContext = async () => submission;
    const issueCode = makeIssueCodeHandler(submissionContext);
    routes.lambda('ANY', '/new-key-claim', 'issue-code', issueCode);
    routes.lambda('ANY', '/new-key-claim/{hashId}', 'issue-code', issueCode);
    routes.lambda('ANY', '/claim-key', 'claim-key', makeClaimKeyHandler(submissionContext));
    routes.lambda('ANY', '/upload', 'upload-keys', makeUploadKeysHandler(submissionContext));

    const saveMetrics = buildSaveMetricsContext({
      db: clients.dynamo,
      rawMetricsTable: tableNames.rawMetrics,
      clock,
      // API Gateway checks the key in AWS; locally the handler does.
      requireApiKey: true,
      apiKey: config.metricsApiKey,
    });
    routes.lambda('ANY', '/save-metrics', 'save-metrics', makeSaveMetricsHandler(async () => saveMetrics));

    const aggregate = makeAggregateMetricsHandler(async () =>
      buildAggregateContext({ db: clients.dynamo, tables: { aggregateMetrics: tableNames.aggregateMetrics, metricsLedger: tableNames.metricsLedger }, clock }),
    );
    const streams = dynamoDbStreamsClient(dynamoOptions);
    const poller = createStreamPoller({
      streamsClient: streams,
      tableName: tableNames.rawMetrics,
      handler: (event) => aggregate(event, lambdaContext('aggregate-metrics')),
      log,
    });
    jobs.register({
      name: 'aggregate-metrics',
      description: 'drain the raw_metrics stream through aggregate-metrics (the event source mapping in AWS)',
      run: () => poller.drain(),
    });
    jobs.register({
      name: 'redeliver-aggregate-metrics',
      description: 'deliver every record still in the raw_metrics stream again, as a Lambda retry would (proves exactly-once)',
      run: async () => {
        const replay = createStreamPoller({
          streamsClient: streams,
          tableName: tableNames.rawMetrics,
          handler: (event) => aggregate(event, lambdaContext('aggregate-metrics')),
          log,
          startingPosition: 'TRIM_HORIZON',
        });
        try {
          return await replay.drain();
        } finally {
          await replay.stop();
        }
      },
    });
    poller.start(2000);
    started.push({ stop: async () => { await poller.stop(); streams.destroy(); } });

    const reportContext = buildMetricsReportContext({
      db: clients.dynamo,
      aggregateMetricsTable: tableNames.aggregateMetrics,
      s3: clients.s3,
      reportsBucket: bucketNames.reports,
      clock,
    });
    jobs.register({
      name: 'metrics-report',
      description: 'nightly CSV reports of aggregate_metrics into the reports bucket (daily here; POST to run now)',
      intervalSeconds: 86_400,
      run: () => runMetricsReport(reportContext, clock.nowMs()),
    });

    const exportsContext = buildExportsContext({
      db: clients.dynamo,
      diagnosisKeysTable: tableNames.diagnosisKeys,
      s3: clients.s3,
      exportsBucket: bucketNames.exports,
      signers: [new LocalSigner(config.signingKey.privateKey, config.regionCode, 'v1')],
      clock,
      settings: { regionCode: config.regionCode, exportRegion: config.exportRegion },
    });
    jobs.register({
      name: 'build-exports',
      description: 'build and sign every served export bundle into the exports bucket (EventBridge every 10 min in AWS)',
      intervalSeconds: config.exportIntervalSeconds,
      run: () => buildExports(exportsContext, clock.nowMs()),
    });

    await deployExposureConfiguration(clients.s3, bucketNames.exports);
    // Bundles exist from the first request on, as they would in AWS after the first scheduled run.
    await jobs.run('build-exports');
    registerCdnRoutes(routes, {
      s3: clients.s3,
      bucket: bucketNames.exports,
      clock,
      kvs: { hmacKey: config.retrieveHmacKeyHex, regions: config.regionCode },
    });

    const startedAt = new Date().toISOString();
    let url = '';
    const info = (): LocalInfo =>
      describe({ config, url, dynamodb, s3, clock, jobs, routes, startedAt });
    registerControls(routes, { clock, jobs, info });

    const server = createGateway(routes, log);
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(config.port, '127.0.0.1', () => resolveListen());
    });
    started.push({
      stop: () =>
        new Promise<void>((resolveClose) => {
          server.close(() => resolveClose());
          server.closeAllConnections();
        }),
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    jobs.startSchedule();
    return { url, clock, jobs, info, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function bootstrap(dynamoOptions: EndpointOptions, s3Options: EndpointOptions): Promise<void> {
  const dynamo = dynamoDbClient(dynamoOptions);
  const s3 = s3Client(s3Options);
  try {
    await Promise.all([
      ...TABLE_LIST.map((def) => ensureTable(dynamo, def, tableNames[def.role])),
      ...BUCKET_LIST.map((def) => ensureBucket(s3, def, bucketNames[def.role])),
    ]);
  } finally {
    dynamo.destroy();
    s3.destroy();
  }
}

function describe(parts: {
  config: LocalConfig;
  url: string;
  dynamodb: EmbeddedDynamoDb;
  s3: EmbeddedS3;
  clock: OffsetClock;
  jobs: JobRegistry;
  routes: RouteTable;
  startedAt: string;
}): LocalInfo {
  const { config, url, dynamodb, s3, clock, jobs, routes, startedAt } = parts;
  return {
    url,
    region: config.regionCode,
    exportRegion: config.exportRegion,
    keyClaimTokens: config.keyClaimTokens.map((t) => t.token),
    retrieveHmacKey: config.retrieveHmacKeyHex,
    metricsApiKey: config.metricsApiKey,
    exportSigningPublicKeyPem: config.signingKey.publicKeyPem,
    clock: clockState(clock),
    dynamodb: { endpoint: dynamodb.endpoint, region: LOCAL_REGION, ...LOCAL_CREDENTIALS, tables: tableNames },
    s3: { endpoint: s3.endpoint, region: LOCAL_REGION, ...S3_CREDENTIALS, buckets: bucketNames },
    jobs: jobs.list(),
    routes: routes.describe(),
    storage: { inMemory: config.inMemory, dataDir: config.dataDir ?? null },
    processes: { runtimePid: process.pid, dynamodbPid: dynamodb.pid ?? null },
    startedAt,
  };
}
