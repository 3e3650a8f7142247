/**
 * Starts `local/main.ts` as a child process, exactly as `npm start` does, and waits for
 * /services/ping. Used by the global setup (one runtime per test run) and by tests that need a
 * runtime of their own (e.g. to prove that SIGTERM leaves no process behind).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

/** Fixed test secrets in the upstream formats (the upstream Ruby harness used these tokens). */
export const TEST_ENV = {
  KEY_CLAIM_TOKEN: 'first-very-long-token=302:second-very-long-token=302',
  RETRIEVE_HMAC_KEY: 'a'.repeat(80),
  METRICS_API_KEY: 'test-metrics-api-key-0123456789',
} as const;

export interface LocalProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly logFile: string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startLocalProcess(options: {
  name: string;
  port: number;
  env?: Record<string, string>;
  /** 'npm' runs `npm start` exactly as a newcomer would; default runs the runtime directly. */
  via?: 'node' | 'npm';
}): Promise<LocalProcess> {
  const logDir = join(ROOT, '.test-tmp');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${options.name}-${process.pid}.log`);
  const log = createWriteStream(logFile);
  const [command, args] =
    options.via === 'npm' ? ['npm', ['start', '--silent']] : [process.execPath, ['--import', 'tsx', join(ROOT, 'local', 'main.ts')]];
  const child = spawn(command, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      LOCAL_IN_MEMORY: '1',
      PORT: String(options.port),
      POWERTOOLS_LOG_LEVEL: 'WARN',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...TEST_ENV,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const url = `http://127.0.0.1:${options.port}`;
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));

  const deadline = Date.now() + 90_000;
  for (;;) {
    const early = await Promise.race([exited, new Promise((r) => setTimeout(() => r('running'), 200))]);
    if (early !== 'running') throw new Error(`local runtime exited with ${String(early)} during start-up; see ${logFile}`);
    try {
      const response = await fetch(`${url}/services/ping`);
      if (response.status === 200 && (await response.text()) === 'OK\n') break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`local runtime did not answer /services/ping within 90 s; see ${logFile}`);
    }
  }

  return {
    child,
    url,
    logFile,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
