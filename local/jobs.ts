/**
 * Registry of the jobs that run on a schedule in AWS (EventBridge, stream mappings). Locally the
 * scheduler runs them at intervals and `POST /_local/run/{job}` runs one now. Later features
 * join with one call: `jobs.register({ name: 'build-exports', intervalSeconds, run })`.
 * Runs of one job never overlap: a request during a run waits for it and then runs again, so a
 * caller always sees a run that started after its request.
 */
export interface Job {
  readonly name: string;
  readonly description: string;
  /** Run every N seconds by the local scheduler; undefined = on demand only. */
  readonly intervalSeconds?: number;
  run(): Promise<unknown>;
}

export interface JobLog {
  error(message: string, detail?: Record<string, unknown>): void;
}

export class UnknownJobError extends Error {
  constructor(readonly jobName: string, readonly known: readonly string[]) {
    super(`unknown job "${jobName}"; known jobs: ${known.join(', ') || '(none)'}`);
    this.name = 'UnknownJobError';
  }
}

export class JobRegistry {
  private readonly jobs = new Map<string, Job>();
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(private readonly log: JobLog) {}

  register(job: Job): void {
    if (this.jobs.has(job.name)) throw new Error(`job "${job.name}" registered twice`);
    this.jobs.set(job.name, job);
  }

  names(): string[] {
    return [...this.jobs.keys()];
  }

  list(): { name: string; description: string; intervalSeconds: number | null }[] {
    return [...this.jobs.values()].map((j) => ({ name: j.name, description: j.description, intervalSeconds: j.intervalSeconds ?? null }));
  }

  /** Runs a job now (after any run in progress) and resolves with its result. */
  run(name: string): Promise<unknown> {
    const job = this.jobs.get(name);
    if (!job) return Promise.reject(new UnknownJobError(name, this.names()));
    const previous = this.tails.get(name) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => job.run());
    this.tails.set(name, next.catch(() => undefined));
    return next;
  }

  /** Starts the interval timers of every scheduled job. */
  startSchedule(): void {
    for (const job of this.jobs.values()) {
      if (!job.intervalSeconds) continue;
      const timer = setInterval(() => {
        if (this.stopped) return;
        this.run(job.name).catch((error: unknown) =>
          this.log.error(`job ${job.name} failed`, { errorName: (error as Error)?.name, message: (error as Error)?.message }),
        );
      }, job.intervalSeconds * 1000);
      this.timers.push(timer);
    }
  }

  /** Stops the timers and waits for running jobs to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timers.forEach(clearInterval);
    await Promise.all([...this.tails.values()]);
  }
}
