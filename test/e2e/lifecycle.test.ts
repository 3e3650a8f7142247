/**
 * `npm start` as a process: SIGTERM stops everything it started; persisted mode keeps data and
 * secrets across restarts. Each test starts its own runtime (its own Java).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../../lambdas/adapters/aws-clients';
import { freePort } from '../../local/ports';
import { spawn, spawnSync } from 'node:child_process';
import { ROOT, startLocalProcess, TEST_ENV } from '../support/local-process';
import { fetchInfo } from '../support/runtime';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

test('SIGTERM stops the gateway, DynamoDB Local and the S3 server, and exits 0', async () => {
  // Prepare
  const port = await freePort();
  const runtime = await startLocalProcess({ name: 'lifecycle-sigterm', port });
  const info = await fetchInfo(runtime.url);
  const ports = [port, Number(new URL(info.dynamodb.endpoint).port), Number(new URL(info.s3.endpoint).port)];
  expect(alive(info.processes.dynamodbPid!)).toBe(true);

  // Act
  const code = await runtime.stop('SIGTERM');

  // Assess
  expect(code).toBe(0);
  expect(alive(info.processes.runtimePid)).toBe(false);
  expect(alive(info.processes.dynamodbPid!)).toBe(false);
  expect(await Promise.all(ports.map(portOpen))).toEqual([false, false, false]);
});

test('`npm start` answers ping, and SIGTERM to npm leaves no process behind', async () => {
  // Prepare
  const runtime = await startLocalProcess({ name: 'lifecycle-npm-start', port: await freePort(), via: 'npm' });
  const info = await fetchInfo(runtime.url);
  expect(info.processes.runtimePid).not.toBe(runtime.child.pid);

  // Act
  await runtime.stop('SIGTERM');
  const deadline = Date.now() + 15_000;
  while ((alive(info.processes.runtimePid) || alive(info.processes.dynamodbPid!)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100)); // polling for process exit, not synchronisation of the system under test
  }

  // Assess
  expect(alive(info.processes.runtimePid)).toBe(false);
  expect(alive(info.processes.dynamodbPid!)).toBe(false);
  expect(await portOpen(Number(new URL(runtime.url).port))).toBe(false);
});

test('SIGTERM during start-up stops the Java already started, then exits', async () => {
  // Prepare: start the runtime and wait only until its DynamoDB Local child exists.
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'local', 'main.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...TEST_ENV, LOCAL_IN_MEMORY: '1', PORT: String(await freePort()), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let javaPid: number | undefined;
  const deadline = Date.now() + 30_000;
  while (javaPid === undefined && Date.now() < deadline) {
    const children = spawnSync('pgrep', ['-P', String(child.pid), 'java'], { encoding: 'utf8' }).stdout.trim();
    javaPid = children ? Number(children.split('\n')[0]) : undefined;
    if (javaPid === undefined) await new Promise((r) => setTimeout(r, 50)); // polling the process table
  }
  expect(javaPid).toBeDefined();

  // Act
  child.kill('SIGTERM');
  const code = await exited;

  // Assess
  expect(code).toBe(0);
  expect(alive(javaPid!)).toBe(false);
});

test('persisted mode keeps items and generated secrets across a restart', async () => {
  // Prepare
  const dataDir = mkdtempSync(join(tmpdir(), 'local-data-'));
  const env = { LOCAL_IN_MEMORY: '0', LOCAL_DATA_DIR: dataDir, KEY_CLAIM_TOKEN: '', RETRIEVE_HMAC_KEY: '', METRICS_API_KEY: '' };
  const first = await startLocalProcess({ name: 'lifecycle-persist-1', port: await freePort(), env });
  const firstInfo = await fetchInfo(first.url);
  const pk = `test#${randomUUID()}`;
  const client = (endpoint: string) =>
    documentClient({ endpoint, region: firstInfo.dynamodb.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const writer = client(firstInfo.dynamodb.endpoint);
  await writer.send(new PutCommand({ TableName: firstInfo.dynamodb.tables.submission, Item: { pk, kept: true } }));
  writer.destroy();
  expect(await first.stop()).toBe(0);

  // Act
  const second = await startLocalProcess({ name: 'lifecycle-persist-2', port: await freePort(), env });
  const secondInfo = await fetchInfo(second.url);
  const reader = client(secondInfo.dynamodb.endpoint);
  const item = await reader.send(new GetCommand({ TableName: secondInfo.dynamodb.tables.submission, Key: { pk } }));
  reader.destroy();
  await second.stop();

  // Assess
  expect(item.Item).toEqual({ pk, kept: true });
  expect(secondInfo.storage).toEqual({ inMemory: false, dataDir });
  expect(secondInfo.keyClaimTokens).toEqual(firstInfo.keyClaimTokens);
  expect(secondInfo.retrieveHmacKey).toBe(firstInfo.retrieveHmacKey);
  expect(secondInfo.exportSigningPublicKeyPem).toBe(firstInfo.exportSigningPublicKeyPem);
});
