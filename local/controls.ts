/**
 * Local-only controls (never part of the CDK app): /_local/clock, /_local/run/{job}, /_local/info.
 */
import type { OffsetClock } from './clock';
import type { LocalRequest, LocalResponse, RouteTable } from './gateway';
import { UnknownJobError, type JobRegistry } from './jobs';

const jsonResponse = (status: number, value: unknown): LocalResponse => ({
  status,
  headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
  body: `${JSON.stringify(value, null, 2)}\n`,
});

const error = (status: number, message: string): LocalResponse => jsonResponse(status, { error: message });

export function clockState(clock: OffsetClock) {
  return { offsetSeconds: clock.offsetSeconds, now: new Date(clock.nowMs()).toISOString() };
}

export function registerControls(routes: RouteTable, deps: { clock: OffsetClock; jobs: JobRegistry; info: () => unknown }): void {
  const { clock, jobs, info } = deps;

  routes.raw('ANY', '/_local/clock', async (req: LocalRequest) => {
    if (req.method === 'GET') return jsonResponse(200, clockState(clock));
    if (req.method !== 'POST') return error(405, 'use GET or POST');
    let parsed: unknown;
    try {
      parsed = JSON.parse(req.body.toString('utf8'));
    } catch {
      return error(400, 'body must be JSON: {"offsetSeconds": N}');
    }
    const offset = (parsed as { offsetSeconds?: unknown } | null)?.offsetSeconds;
    if (typeof offset !== 'number' || !Number.isFinite(offset) || Math.abs(offset) > 10 * 365 * 86400) {
      return error(400, 'offsetSeconds must be a finite number of seconds (at most ten years either way)');
    }
    clock.setOffsetSeconds(offset);
    return jsonResponse(200, clockState(clock));
  });

  routes.raw('ANY', '/_local/run/{job}', async (req: LocalRequest) => {
    if (req.method !== 'POST') return error(405, 'use POST');
    const started = Date.now();
    try {
      const result = await jobs.run(req.params.job);
      return jsonResponse(200, { job: req.params.job, durationMs: Date.now() - started, result: result ?? null });
    } catch (e) {
      if (e instanceof UnknownJobError) return jsonResponse(404, { error: e.message, jobs: e.known });
      // Job failures are the operator's business locally: name the error, not its data.
      return jsonResponse(500, { job: req.params.job, error: (e as Error)?.name ?? 'Error', message: (e as Error)?.message });
    }
  });

  routes.raw('ANY', '/_local/info', async (req: LocalRequest) =>
    req.method === 'GET' || req.method === 'HEAD' ? jsonResponse(200, info()) : error(405, 'use GET'),
  );
}
