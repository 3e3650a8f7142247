import type { LocalProcess } from './local-process';

const KEY = '__EN_KEY_SERVER_RUNTIME__';

export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as unknown as Record<string, Promise<LocalProcess> | undefined>;
  const pending = holder[KEY];
  holder[KEY] = undefined;
  if (pending) await (await pending).stop();
}
