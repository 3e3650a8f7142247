/** Access to the shared local runtime from test files. */
import type { LocalInfo } from '../../local/runtime';

export function runtimeUrl(): string {
  const url = process.env.LOCAL_RUNTIME_URL;
  if (!url) throw new Error('LOCAL_RUNTIME_URL is not set: run through jest (global setup starts the runtime)');
  return url;
}

let cached: Promise<LocalInfo> | undefined;

export function runtimeInfo(): Promise<LocalInfo> {
  cached ??= fetch(`${runtimeUrl()}/_local/info`).then((r) => r.json() as Promise<LocalInfo>);
  return cached;
}

/** GET a JSON document from a runtime (any test may start its own). */
export async function getJson<T = Record<string, any>>(url: string, init?: RequestInit): Promise<T> {
  return (await (await fetch(url, init)).json()) as T;
}

export const fetchInfo = (baseUrl: string): Promise<LocalInfo> => getJson<LocalInfo>(`${baseUrl}/_local/info`);
