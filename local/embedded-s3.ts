/**
 * The S3-compatible server: s3rver, in process, storing objects on disk (under LOCAL_DATA_DIR,
 * or a temporary folder removed on stop when in memory). Clients must use the shared factory
 * (forcePathStyle, checksums only when required), see lambdas/adapters/aws-clients.ts.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// s3rver ships no types; its constructor/run/close surface is small and typed here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
};
import { freePort } from './ports';

/** s3rver's fixed credentials (it does not check signatures: never rely on it for permissions). */
export const S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface EmbeddedS3 {
  readonly endpoint: string;
  readonly directory: string;
  stop(): Promise<void>;
}

export async function startS3(options: { port: number; dataDir?: string }): Promise<EmbeddedS3> {
  const port = options.port || (await freePort());
  const directory = options.dataDir ?? mkdtempSync(join(tmpdir(), 'en-key-server-s3-'));
  mkdirSync(directory, { recursive: true });
  const server = new S3rver({ port, address: '127.0.0.1', directory, silent: true });
  await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    directory,
    async stop() {
      await server.close();
      if (!options.dataDir) rmSync(directory, { recursive: true, force: true });
    },
  };
}
