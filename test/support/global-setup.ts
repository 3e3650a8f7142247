/**
 * One local runtime (DynamoDB Local + S3 server + gateway) for the integration and e2e projects
 * of a test run. Its URL is handed to the test workers through LOCAL_RUNTIME_URL.
 */
import { freePort } from '../../local/ports';
import { startLocalProcess, type LocalProcess } from './local-process';

const KEY = '__EN_KEY_SERVER_RUNTIME__';

export default async function globalSetup(): Promise<void> {
  const holder = globalThis as unknown as Record<string, Promise<LocalProcess> | undefined>;
  holder[KEY] ??= freePort().then((port) => startLocalProcess({ name: 'test-runtime', port }));
  const runtime = await holder[KEY];
  process.env.LOCAL_RUNTIME_URL = runtime.url;
}
